"""What an LLM call returns, the same for every provider: text, tool calls, finish reason, usage.

    resp = llm.chat("What is 2+2?")
    str(resp)                 # "4": a response reads as its text
    resp.usage.input_tokens   # normalised token counts
    for call in resp.tool_calls:
        messages += [resp.to_message(), call.result_message(run_tool(call))]

Finish reasons are normalised to ``"stop"``, ``"tool_calls"``, ``"length"`` and
``"content_filter"``; anything else a provider sends is kept as it came.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChatResponse", "ToolCall", "Usage", "estimate_tokens"]


@dataclass(slots=True)
class ToolCall:
    """One tool call the model asked for; ``arguments`` is parsed JSON (``{}`` if it was not)."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{"id", "name", "arguments"}``: the form events carry."""
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI ``tool_calls`` item for this call."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments)},
        }

    def result_message(self, content: Any) -> dict[str, Any]:
        """The ``{"role": "tool", ...}`` message that answers this call (non-strings become JSON)."""
        text = content if isinstance(content, str) else json.dumps(content, default=str)
        return {"role": "tool", "tool_call_id": self.id, "name": self.name, "content": text}


@dataclass(slots=True)
class Usage:
    """Token counts of one call.

    ``input_tokens`` counts every prompt token, cached ones included (for Anthropic,
    ``input_tokens + cache_read_input_tokens + cache_creation_input_tokens``);
    ``cached_input_tokens`` is the part read from the provider's cache and
    ``cache_write_tokens`` the part written to it. ``reasoning_tokens`` are part of
    ``output_tokens``. ``estimated`` is True when the provider sent no counts and
    they were estimated from the text (about four characters a token).
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_write_tokens: int | None = None
    estimated: bool = False


@dataclass(slots=True)
class ChatResponse:
    """A normalised LLM answer. ``str(resp)`` is its text; ``raw`` is the provider's own object.

    ``model`` is the model the provider says answered, ``id`` the answer's own id, when known.
    """

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    provider: str | None = None
    raw: Any = field(default=None, repr=False)
    id: str | None = None

    @property
    def content(self) -> str:
        """The text (alias of ``text``, as on OpenAI messages)."""
        return self.text

    def __str__(self) -> str:
        return self.text

    def to_message(self) -> dict[str, Any]:
        """The OpenAI-style assistant message to append to the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        elif message["content"] is None:
            message["content"] = ""
        return message

    def end_fields(self) -> dict[str, Any]:
        """The ``LLMEndEvent`` fields for this answer (what ``run.finish`` takes)."""
        u = self.usage
        return {
            "response": self.text,
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "total_tokens": u.total_tokens,
            "cached_input_tokens": u.cached_input_tokens,
            "reasoning_tokens": u.reasoning_tokens,
            "usage_estimated": u.estimated,
            "finish_reason": self.finish_reason,
            "tool_calls": [c.to_dict() for c in self.tool_calls] or None,
            "response_id": self.id,
            "response_model": self.model,
        }


def estimate_tokens(text: str) -> int:
    """A rough token count for ``text`` (four characters a token, at least one if non-empty)."""
    return (len(text) + 3) // 4


def parse_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments as a dict: JSON text is parsed, anything unparsable gives ``{}``."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def normalise_finish(reason: str | None) -> str | None:
    """Map a provider's finish/stop reason onto the common names."""
    if reason is None:
        return None
    return _FINISH.get(reason, reason)


_FINISH = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "length": "length",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "content_filter": "content_filter",
    "refusal": "content_filter",
}
