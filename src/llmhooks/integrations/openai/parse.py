"""Read OpenAI SDK objects into ``ChatResponse``: Chat Completions and Responses, whole or streamed.

Shared by the ``openai`` provider and ``instrument_openai``. Reads attributes only
(no SDK import), so it works on any object shaped like the SDK's. Streams are read
by accumulators: ``add(item)`` returns the item's text delta (or None) and
``response()`` the answer so far; when the stream carried no usage, the counts are
estimated from the text and marked so.
"""

from __future__ import annotations

from typing import Any

from llmhooks.llm.messages import estimated_usage
from llmhooks.llm.response import ChatResponse, ToolCall, Usage, normalise_finish, parse_arguments

__all__ = [
    "ChatChunks",
    "ResponseEvents",
    "from_chat_completion",
    "from_response",
    "responses_messages",
]


def _detail(obj: Any, name: str, field: str) -> int | None:
    details = getattr(obj, name, None)
    value = getattr(details, field, None) if details is not None else None
    return value if isinstance(value, int) else None


def _usage(u: Any, inp: str, out: str, inp_details: str, out_details: str) -> Usage:
    """``Usage`` from a usage object whose counts are ``inp``/``out``, detailed under
    ``inp_details``/``out_details``: the two APIs name the same figures differently."""
    i, o = getattr(u, inp, None), getattr(u, out, None)
    total = getattr(u, "total_tokens", None)
    if total is None and i is not None and o is not None:
        total = i + o
    return Usage(
        input_tokens=i,
        output_tokens=o,
        total_tokens=total,
        cached_input_tokens=_detail(u, inp_details, "cached_tokens"),
        reasoning_tokens=_detail(u, out_details, "reasoning_tokens"),
        cache_write_tokens=_detail(u, inp_details, "cache_write_tokens"),
    )


def chat_usage(u: Any) -> Usage:
    """``Usage`` from a Chat Completions ``usage`` object."""
    return _usage(
        u, "prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"
    )


def responses_usage(u: Any) -> Usage:
    """``Usage`` from a Responses ``usage`` object."""
    return _usage(u, "input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")


def _chat_calls(raw_calls: Any) -> list[ToolCall]:
    calls = []
    for raw in raw_calls or ():
        fn = getattr(raw, "function", None)
        if fn is not None:
            calls.append(ToolCall(getattr(raw, "id", "") or "", fn.name, parse_arguments(fn.arguments)))
        else:  # custom tools carry free text input
            custom = getattr(raw, "custom", None)
            if custom is not None:
                calls.append(ToolCall(raw.id, custom.name, {"input": custom.input}))
    return calls


def from_chat_completion(c: Any, messages: Any = None) -> ChatResponse:
    """A ``ChatResponse`` from a ``ChatCompletion`` (its first choice)."""
    choices = getattr(c, "choices", None) or []
    text, calls, finish = "", [], None
    if choices:
        message = choices[0].message
        text = getattr(message, "content", None) or ""
        calls = _chat_calls(getattr(message, "tool_calls", None))
        finish = normalise_finish(choices[0].finish_reason)
    u = getattr(c, "usage", None)
    usage = chat_usage(u) if u is not None else estimated_usage(messages, text, calls)
    return ChatResponse(
        text=text,
        tool_calls=calls,
        finish_reason=finish,
        usage=usage,
        model=getattr(c, "model", None),
        provider="openai",
        raw=c,
        id=getattr(c, "id", None),
    )


class ChatChunks:
    """Accumulates a Chat Completions stream (the first choice's text, tool calls, finish, usage)."""

    __slots__ = ("_calls", "_parts", "finish", "id", "messages", "model", "usage")

    def __init__(self, messages: Any = None, model: str | None = None) -> None:
        self.messages = messages
        self.model = model
        self._parts: list[str] = []
        self._calls: dict[int, list[Any]] = {}
        self.finish: str | None = None
        self.usage: Any = None
        self.id: str | None = None

    def add(self, chunk: Any) -> str | None:
        """Take one ``ChatCompletionChunk``; return its text delta, if any."""
        if self.id is None:  # every chunk repeats the completion's id and model: read them once
            self.id = getattr(chunk, "id", None) or None
            self.model = getattr(chunk, "model", None) or self.model
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
        choices = chunk.choices
        if not choices:
            return None
        choice = choices[0]
        if choice.index:  # n > 1: only the first choice is reported
            return None
        if choice.finish_reason is not None:
            self.finish = choice.finish_reason
        delta = choice.delta
        if delta.tool_calls:
            self._add_calls(delta.tool_calls)
        text = delta.content
        if text:
            self._parts.append(text)
            return text  # type: ignore[no-any-return]
        return None

    def _add_calls(self, fragments: Any) -> None:
        for frag in fragments:
            slot = self._calls.get(frag.index)
            if slot is None:
                slot = self._calls[frag.index] = ["", "", []]
            if frag.id:
                slot[0] = frag.id
            fn = frag.function
            if fn is not None:
                if fn.name:
                    slot[1] = fn.name
                if fn.arguments:
                    slot[2].append(fn.arguments)

    def response(self) -> ChatResponse:
        """The answer as received so far."""
        text = "".join(self._parts)
        calls = [ToolCall(s[0], s[1], parse_arguments("".join(s[2]))) for _, s in sorted(self._calls.items())]
        u = self.usage
        usage = chat_usage(u) if u is not None else estimated_usage(self.messages, text, calls)
        return ChatResponse(
            text=text,
            tool_calls=calls,
            finish_reason=normalise_finish(self.finish),
            usage=usage,
            model=self.model,
            provider="openai",
            id=self.id,
        )


def _response_output(r: Any) -> tuple[str, list[ToolCall]]:
    parts: list[str] = []
    calls: list[ToolCall] = []
    for item in getattr(r, "output", None) or ():
        kind = getattr(item, "type", None)
        if kind == "message":
            for part in item.content or ():
                if getattr(part, "type", None) == "output_text":
                    parts.append(part.text)
        elif kind == "function_call":
            calls.append(ToolCall(item.call_id, item.name, parse_arguments(item.arguments)))
    return "".join(parts), calls


def _response_finish(r: Any, calls: list[ToolCall]) -> str | None:
    status = getattr(r, "status", None)
    if status == "incomplete":
        details = getattr(r, "incomplete_details", None)
        return normalise_finish(getattr(details, "reason", None)) or "length"
    if status in ("failed", "cancelled"):
        return status  # type: ignore[no-any-return]
    return "tool_calls" if calls else "stop"


def from_response(r: Any, messages: Any = None) -> ChatResponse:
    """A ``ChatResponse`` from a Responses API ``Response``."""
    text, calls = _response_output(r)
    u = getattr(r, "usage", None)
    usage = responses_usage(u) if u is not None else estimated_usage(messages, text, calls)
    return ChatResponse(
        text=text,
        tool_calls=calls,
        finish_reason=_response_finish(r, calls),
        usage=usage,
        model=getattr(r, "model", None),
        provider="openai",
        raw=r,
        id=getattr(r, "id", None),
    )


def responses_messages(input_: Any, instructions: Any = None) -> list[Any] | None:
    """The Responses ``input`` (and ``instructions``) as a message list, for events and estimates."""
    if isinstance(input_, str):
        messages: list[Any] = [{"role": "user", "content": input_}]
    elif isinstance(input_, list):
        messages = input_
    else:
        messages = []
    if isinstance(instructions, str) and instructions:
        messages = [{"role": "system", "content": instructions}, *messages]
    return messages or None


class ResponseEvents:
    """Accumulates a Responses stream: text deltas, the final response, or the error event."""

    __slots__ = ("_parts", "error", "final", "messages", "model", "where")

    def __init__(self, messages: Any = None, model: str | None = None) -> None:
        self.messages = messages
        self.model = model
        self._parts: list[str] = []
        self.final: Any = None
        self.error: tuple[str, str | None] | None = None
        self.where: dict[str, Any] = {}  # the last delta's position: token event fields (seed 004's)

    def add(self, event: Any) -> str | None:
        """Take one stream event; return its text delta, if any (its position goes to ``where``)."""
        kind = event.type
        if kind == "response.output_text.delta":
            delta = event.delta
            self._parts.append(delta)
            self.where = {
                "item_id": event.item_id,
                "output_index": event.output_index,
                "content_index": event.content_index,
                "sequence_number": event.sequence_number,
            }
            return delta  # type: ignore[no-any-return]
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = event.response
            err = getattr(event.response, "error", None)
            if kind == "response.failed" and err is not None:
                self.error = (str(getattr(err, "message", err)), getattr(err, "code", None))
        elif kind == "error":
            self.error = (str(getattr(event, "message", "") or "stream error"), getattr(event, "code", None))
        return None

    def response(self) -> ChatResponse:
        """The answer as received so far (the final response's, once it came)."""
        if self.final is not None:
            resp = from_response(self.final, self.messages)
            resp.raw = None
            return resp
        text = "".join(self._parts)
        return ChatResponse(
            text=text,
            usage=estimated_usage(self.messages, text, []),
            model=self.model,
            provider="openai",
        )
