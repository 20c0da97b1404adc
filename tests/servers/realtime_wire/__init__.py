"""A scripted local websocket server speaking the OpenAI Realtime protocol.

Example::

    with RealtimeWireServer() as srv:
        srv.reply("Hello there", input_tokens=20, output_audio_tokens=12)
        client = openai.AsyncOpenAI(api_key="test", websocket_base_url=srv.url)
        async with client.realtime.connect(model="gpt-realtime") as conn: ...
"""

from .script import ServerError, Turn
from .server import RealtimeWireServer

__all__ = ["RealtimeWireServer", "ServerError", "Turn"]
