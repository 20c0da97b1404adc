"""Scripted behaviours for the fake LLM wire server, and helpers shared by the API modules."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

FinishReason: TypeAlias = Literal["stop", "tool_calls", "length"]

CREATED = 1_700_000_000
"""Fixed creation timestamp used in every answer, so bodies are deterministic."""


@dataclass(frozen=True)
class ToolCall:
    """One function/tool call the fake model makes.

    ``arguments`` may be a mapping (sent as JSON) or a raw string (sent verbatim, e.g. broken JSON).
    ``call_id`` defaults to a generated id (``call_N`` for OpenAI, ``toolu_N`` for Anthropic).
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON text the API would send."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(",", ":"))

    @property
    def arguments_dict(self) -> dict[str, Any]:
        """The arguments as a dict (Anthropic's ``input``); a non-JSON string gives ``{}``."""
        if not isinstance(self.arguments, str):
            return dict(self.arguments)
        try:
            value = json.loads(self.arguments)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Reply:
    """A successful answer. ``text=None`` means: echo the last user message.

    Token numbers are copied verbatim into each API's usage fields (OpenAI ``prompt_tokens`` /
    ``input_tokens``, Anthropic ``input_tokens``; ``cached_tokens`` becomes ``cached_tokens`` or
    ``cache_read_input_tokens``); only ``total_tokens`` is computed (input + output).
    """

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason | None = None
    input_tokens: int = 10
    output_tokens: int = 5
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    model: str | None = None
    chunk_delay: float = 0.0

    def resolved_finish(self) -> FinishReason:
        """The finish reason, defaulting to ``tool_calls`` when tools are called, else ``stop``."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


@dataclass(frozen=True)
class Failure:
    """An HTTP error answer in the API's own JSON error shape (or a raw ``body`` override)."""

    status: int = 500
    message: str | None = None
    error_type: str | None = None
    code: str | None = None
    retry_after: float | None = None
    retry_after_ms: float | None = None
    body: bytes | str | Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Malformed:
    """A ``200 application/json`` answer whose body is not valid JSON."""

    body: bytes = b'{"id": "broken", "choices": [{'
    status: int = 200


@dataclass(frozen=True)
class CutStream:
    """Send ``after_chunks`` events (or, non-stream, part of the body), then drop the connection."""

    after_chunks: int = 2
    reply: Reply = Reply()


@dataclass(frozen=True)
class StreamError:
    """Send ``after_chunks`` events, then an in-stream error event in the API's shape, then end."""

    after_chunks: int = 2
    message: str = "Overloaded"
    error_type: str | None = None
    reply: Reply = Reply()


Behaviour: TypeAlias = Reply | Failure | Malformed | CutStream | StreamError


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event to emit: optional ``event:`` name and a JSON (or literal) payload."""

    data: Mapping[str, Any] | str
    event: str | None = None

    def encode(self) -> bytes:
        """The event's bytes on the wire, ending with the blank line."""
        data = self.data if isinstance(self.data, str) else json.dumps(self.data)
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {data}\n\n".encode()


@dataclass(frozen=True)
class Ids:
    """Deterministic ids for one answer, derived from the server's request counter."""

    n: int

    def tool_id(self, call: ToolCall, index: int, prefix: str) -> str:
        """The call's scripted id, or ``PREFIX_N_INDEX``."""
        return call.call_id or f"{prefix}_{self.n}_{index}"


_WORD = re.compile(r"\s*\S+|\s+")


def split_text(text: str) -> list[str]:
    """Split text into word-sized deltas (leading spaces kept) that join back to ``text``."""
    return _WORD.findall(text)


def split_json(text: str, size: int = 8) -> list[str]:
    """Split argument JSON into small fragments, like streamed tool-call arguments."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def content_text(content: Any) -> str:
    """Text of a message ``content`` that is a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "".join(parts)
    return ""


def last_user_text(messages: Any) -> str:
    """Text of the last ``role: user`` message in a list of chat-style messages."""
    if isinstance(messages, str):
        return messages
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""
