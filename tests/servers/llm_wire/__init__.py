"""A scripted local server speaking OpenAI Chat Completions, OpenAI Responses and Anthropic Messages.

Example::

    with LLMWireServer() as srv:
        srv.reply("Hello world", input_tokens=12, output_tokens=3)
        client = openai.OpenAI(base_url=srv.openai_base_url, api_key="test")
"""

from .script import Behaviour, CutStream, Failure, Malformed, Reply, SSEEvent, StreamError, ToolCall
from .server import LLMWireServer, RecordedRequest

__all__ = [
    "Behaviour",
    "CutStream",
    "Failure",
    "LLMWireServer",
    "Malformed",
    "RecordedRequest",
    "Reply",
    "SSEEvent",
    "StreamError",
    "ToolCall",
]
