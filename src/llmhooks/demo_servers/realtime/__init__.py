"""A small local server speaking the OpenAI Realtime protocol over websockets, for demos, docs and tests.

    from llmhooks.demo_servers.realtime import RealtimeDemoServer

    with RealtimeDemoServer(user_transcript="What is the weather?") as server:
        server.reply("It is sunny.")                      # the next response, scripted
        client = openai.AsyncOpenAI(websocket_base_url=server.url)
        async with client.realtime.connect(model="gpt-realtime") as conn: ...

Offline and deterministic: it never calls a model. Each ``response.create`` takes the
next scripted ``Turn`` (text, audio chunks, usage, a status, a dropped socket or a
clean close) or ``ServerError``; with nothing scripted a response echoes what the
server last heard. Needs ``websockets``: ``pip install 'llmhooks[realtime]'``.
"""

from __future__ import annotations

from llmhooks.demo_servers.realtime.script import ServerError, Turn
from llmhooks.demo_servers.realtime.server import RealtimeDemoServer

__all__ = ["RealtimeDemoServer", "ServerError", "Turn"]
