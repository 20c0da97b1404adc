"""Anthropic Messages wire shapes: ``POST /v1/messages``."""

from __future__ import annotations

from typing import Any

from .script import Ids, Reply, SSEEvent, last_user_text, split_json, split_text

PATH = "/v1/messages"

_STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


def user_text(body: dict[str, Any]) -> str:
    """The last user message of a Messages request."""
    return last_user_text(body.get("messages"))


def usage(reply: Reply, *, output_tokens: int | None = None) -> dict[str, Any]:
    """Messages ``usage``; ``input_tokens`` is sent as scripted (it excludes cache reads)."""
    data: dict[str, Any] = {
        "input_tokens": reply.input_tokens,
        "output_tokens": reply.output_tokens if output_tokens is None else output_tokens,
        "cache_read_input_tokens": reply.cached_tokens,
        "cache_creation_input_tokens": reply.cache_creation_tokens,
        "service_tier": "standard",
    }
    if reply.reasoning_tokens:
        data["output_tokens_details"] = {"thinking_tokens": reply.reasoning_tokens}
    return data


def _content(reply: Reply, text: str, ids: Ids) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text or not reply.tool_calls else []
    for i, call in enumerate(reply.tool_calls):
        tool_id = ids.tool_id(call, i, "toolu")
        blocks.append({"type": "tool_use", "id": tool_id, "name": call.name, "input": call.arguments_dict})
    return blocks


def _message(
    reply: Reply, model: str, ids: Ids, content: list[dict[str, Any]], stop: str | None
) -> dict[str, Any]:
    return {
        "id": f"msg_{ids.n:024d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage(reply) if stop else usage(reply, output_tokens=1),
    }


def complete(reply: Reply, text: str, model: str, ids: Ids, body: dict[str, Any]) -> dict[str, Any]:
    """A non-stream ``message`` body."""
    del body
    stop = _STOP_REASONS[reply.resolved_finish()]
    return _message(reply, model, ids, _content(reply, text, ids), stop)


def stream(reply: Reply, text: str, model: str, ids: Ids, body: dict[str, Any]) -> list[SSEEvent]:
    """The named events of a streamed message, ``message_start`` to ``message_stop`` (with a ``ping``)."""
    del body
    events = [
        SSEEvent({"type": "message_start", "message": _message(reply, model, ids, [], None)}, "message_start")
    ]
    index = 0

    def block(start: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        events.append(
            SSEEvent(
                {"type": "content_block_start", "index": index, "content_block": start}, "content_block_start"
            )
        )
        if index == 0:
            events.append(SSEEvent({"type": "ping"}, "ping"))
        for delta in deltas:
            events.append(
                SSEEvent(
                    {"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"
                )
            )
        events.append(SSEEvent({"type": "content_block_stop", "index": index}, "content_block_stop"))

    if text or not reply.tool_calls:
        block(
            {"type": "text", "text": ""},
            [{"type": "text_delta", "text": piece} for piece in split_text(text)],
        )
        index += 1
    for i, call in enumerate(reply.tool_calls):
        start = {"type": "tool_use", "id": ids.tool_id(call, i, "toolu"), "name": call.name, "input": {}}
        pieces = split_json(call.arguments_json)
        block(start, [{"type": "input_json_delta", "partial_json": piece} for piece in pieces])
        index += 1
    delta = {"stop_reason": _STOP_REASONS[reply.resolved_finish()], "stop_sequence": None}
    out_usage: dict[str, Any] = {"output_tokens": reply.output_tokens}
    if reply.reasoning_tokens:
        out_usage["output_tokens_details"] = {"thinking_tokens": reply.reasoning_tokens}
    events.append(SSEEvent({"type": "message_delta", "delta": delta, "usage": out_usage}, "message_delta"))
    events.append(SSEEvent({"type": "message_stop"}, "message_stop"))
    return events


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str | None, error_type: str | None, code: str | None) -> dict[str, Any]:
    """Anthropic's ``{"type": "error", "error": {...}}`` body for an HTTP error."""
    error: dict[str, Any] = {
        "type": error_type or _ERROR_TYPES.get(status, "api_error"),
        "message": message or f"Scripted error {status}",
    }
    if code is not None:
        error["details"] = {"error_code": code}
    return {"type": "error", "error": error, "request_id": None}


def stream_error(message: str, error_type: str | None, seq: int) -> SSEEvent:
    """An ``event: error`` (the SDK raises an ``APIStatusError`` built from it)."""
    del seq
    return SSEEvent(
        {"type": "error", "error": {"type": error_type or "overloaded_error", "message": message}}, "error"
    )
