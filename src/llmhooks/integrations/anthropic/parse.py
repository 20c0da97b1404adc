"""Anthropic Messages: OpenAI-style messages and tools in, ``ChatResponse`` out (whole or streamed).

Shared by the ``anthropic`` provider and ``instrument_anthropic``; reads SDK objects
by attribute only. Usage follows ``Usage``'s rule: ``input_tokens`` includes cache
reads and writes (Anthropic reports them apart); streamed counts are taken from
``message_start`` and then ``message_delta``, whose ``output_tokens`` is a running
total (replaced, never added).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmhooks.llm.messages import content_text, estimated_usage
from llmhooks.llm.response import ChatResponse, ToolCall, Usage, normalise_finish, parse_arguments

__all__ = [
    "MessageEvents",
    "anthropic_messages",
    "from_message",
    "to_anthropic",
    "to_anthropic_tool_choice",
    "to_anthropic_tools",
]


def _user_part(part: Any) -> Any:
    if not isinstance(part, Mapping):
        return {"type": "text", "text": str(part)}
    if part.get("type") == "image_url":
        url = (part.get("image_url") or {}).get("url", "")
        if url.startswith("data:") and ";base64," in url:
            media, data = url[5:].split(";base64,", 1)
            return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
        return {"type": "image", "source": {"type": "url", "url": url}}
    return dict(part)


def to_anthropic(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, messages)`` for the Messages API from OpenAI-style messages.

    System (and developer) messages become ``system``; assistant ``tool_calls``
    become ``tool_use`` blocks; consecutive ``tool`` messages become one user
    message of ``tool_result`` blocks.
    """
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for m in messages:
        role, content = m.get("role"), m.get("content")
        if role in ("system", "developer"):
            system.append(content_text(content))
        elif role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": m.get("tool_call_id"),
                "content": content_text(content),
            }
            last = out[-1] if out else None
            if last and last["role"] == "user" and isinstance(last["content"], list) and last.get("_results"):
                last["content"].append(block)
            else:
                out.append({"role": "user", "content": [block], "_results": True})
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            if not calls:
                out.append({"role": "assistant", "content": content if content is not None else ""})
                continue
            blocks: list[dict[str, Any]] = []
            text = content_text(content)
            if text:
                blocks.append({"type": "text", "text": text})
            for call in calls:
                fn = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id"),
                        "name": fn.get("name"),
                        "input": parse_arguments(fn.get("arguments")),
                    }
                )
            out.append({"role": "assistant", "content": blocks})
        else:
            parts = content if isinstance(content, str) else [_user_part(p) for p in content or ()]
            out.append({"role": "user", "content": parts})
    for message in out:
        message.pop("_results", None)
    return ("\n\n".join(s for s in system if s) or None), out


def to_anthropic_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Anthropic tool definitions from normalised OpenAI function tools."""
    if not tools:
        return None
    out = []
    for tool in tools:
        fn = tool["function"]
        spec: dict[str, Any] = {
            "name": fn["name"],
            "input_schema": fn.get("parameters") or {"type": "object"},
        }
        if fn.get("description"):
            spec["description"] = fn["description"]
        out.append(spec)
    return out


def to_anthropic_tool_choice(choice: Any) -> Any:
    """Anthropic ``tool_choice`` from an OpenAI one (dicts in Anthropic's own form pass through)."""
    if choice is None:
        return None
    if choice == "auto":
        return {"type": "auto"}
    if choice == "none":
        return {"type": "none"}
    if choice in ("required", "any"):
        return {"type": "any"}
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    return choice


def anthropic_messages(messages: Any, system: Any = None) -> list[Any] | None:
    """Messages plus ``system`` as one list (system first), for events and estimates."""
    out = list(messages) if isinstance(messages, (list, tuple)) else []
    if system:
        out.insert(
            0, {"role": "system", "content": system if isinstance(system, str) else content_text(system)}
        )
    return out or None


def usage_of(
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read: int | None,
    cache_write: int | None,
    thinking: int | None,
) -> Usage:
    """``Usage`` from Anthropic's separate counts."""
    i = None if input_tokens is None else input_tokens + (cache_read or 0) + (cache_write or 0)
    return Usage(
        input_tokens=i,
        output_tokens=output_tokens,
        total_tokens=i + output_tokens if i is not None and output_tokens is not None else None,
        cached_input_tokens=cache_read,
        reasoning_tokens=thinking,
        cache_write_tokens=cache_write,
    )


def _thinking(u: Any) -> int | None:
    details = getattr(u, "output_tokens_details", None)
    return getattr(details, "thinking_tokens", None) if details is not None else None


def from_message(m: Any, messages: Any = None) -> ChatResponse:
    """A ``ChatResponse`` from a ``Message``."""
    parts: list[str] = []
    calls: list[ToolCall] = []
    for block in getattr(m, "content", None) or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind == "tool_use":
            calls.append(ToolCall(block.id, block.name, dict(block.input or {})))
    text = "".join(parts)
    u = getattr(m, "usage", None)
    if u is None:
        usage = estimated_usage(messages, text, calls)
    else:
        usage = usage_of(
            u.input_tokens,
            u.output_tokens,
            getattr(u, "cache_read_input_tokens", None),
            getattr(u, "cache_creation_input_tokens", None),
            _thinking(u),
        )
    return ChatResponse(
        text=text,
        tool_calls=calls,
        finish_reason=normalise_finish(getattr(m, "stop_reason", None)),
        usage=usage,
        model=getattr(m, "model", None),
        provider="anthropic",
        raw=m,
        id=getattr(m, "id", None),
    )


class MessageEvents:
    """Accumulates a raw Messages stream: text deltas, ``tool_use`` blocks, stop reason, usage."""

    __slots__ = ("_calls", "_parts", "_usage", "id", "messages", "model", "stop")

    def __init__(self, messages: Any = None, model: str | None = None) -> None:
        self.messages = messages
        self.model = model
        self.id: str | None = None
        self._parts: list[str] = []
        self._calls: dict[int, list[Any]] = {}
        self.stop: str | None = None
        # input, output, cache read, cache write, thinking
        self._usage: list[int | None] = [None, None, None, None, None]

    def add(self, event: Any) -> str | None:
        """Take one raw stream event; return its text delta, if any."""
        kind = event.type
        if kind == "content_block_delta":
            delta = event.delta
            dtype = delta.type
            if dtype == "text_delta":
                text = delta.text
                self._parts.append(text)
                return text  # type: ignore[no-any-return]
            if dtype == "input_json_delta":
                slot = self._calls.get(event.index)
                if slot is not None:
                    slot[3].append(delta.partial_json)
            return None
        if kind == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                self._calls[event.index] = [block.id, block.name, block.input, []]
        elif kind == "message_start":
            message = event.message
            self.model = message.model
            self.id = getattr(message, "id", None)
            self._take(message.usage)
        elif kind == "message_delta":
            self.stop = event.delta.stop_reason
            self._take(event.usage)
        return None

    def _take(self, u: Any) -> None:
        if u is None:
            return
        values = (
            getattr(u, "input_tokens", None),
            getattr(u, "output_tokens", None),
            getattr(u, "cache_read_input_tokens", None),
            getattr(u, "cache_creation_input_tokens", None),
            _thinking(u),
        )
        for i, value in enumerate(values):
            if value is not None:  # running totals: the latest wins
                self._usage[i] = value

    def response(self) -> ChatResponse:
        """The answer as received so far."""
        text = "".join(self._parts)
        calls = []
        for _, (cid, name, given, parts) in sorted(self._calls.items()):
            args = parse_arguments("".join(parts)) if parts else dict(given or {})
            calls.append(ToolCall(cid, name, args))
        i, o, read, write, thinking = self._usage
        if i is not None and o is not None and self.stop is not None:
            usage = usage_of(i, o, read, write, thinking)
        else:  # cut short: the output count so far is not known, estimate it
            usage = estimated_usage(self.messages, text, calls)
            if i is not None:
                exact = usage_of(i, usage.output_tokens, read, write, None)
                usage = Usage(
                    input_tokens=exact.input_tokens,
                    output_tokens=exact.output_tokens,
                    total_tokens=exact.total_tokens,
                    cached_input_tokens=read,
                    cache_write_tokens=write,
                    estimated=True,
                )
        return ChatResponse(
            text=text,
            tool_calls=calls,
            finish_reason=normalise_finish(self.stop),
            usage=usage,
            model=self.model,
            provider="anthropic",
            id=self.id,
        )
