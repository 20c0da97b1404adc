"""OpenAI Responses API wire shapes: ``POST /v1/responses``."""

from __future__ import annotations

from typing import Any

from . import openai_chat
from .script import CREATED, Ids, Reply, SSEEvent, content_text, last_user_text, split_json, split_text

PATH = "/v1/responses"


def user_text(body: dict[str, Any]) -> str:
    """The last user input of a Responses request (``input`` string or item list)."""
    items = body.get("input")
    if isinstance(items, list):
        # Input items without a role (e.g. function_call_output) are skipped.
        for item in reversed(items):
            if isinstance(item, dict) and item.get("role") == "user":
                return content_text(item.get("content"))
        return ""
    return last_user_text(items)


def usage(reply: Reply) -> dict[str, Any]:
    """Responses ``usage`` object with the scripted numbers."""
    return {
        "input_tokens": reply.input_tokens,
        "input_tokens_details": {
            "cached_tokens": reply.cached_tokens,
            "cache_write_tokens": reply.cache_creation_tokens,
        },
        "output_tokens": reply.output_tokens,
        "output_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def _message_item(ids: Ids, text: str, status: str) -> dict[str, Any]:
    content = (
        [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        if status == "completed"
        else []
    )
    return {
        "type": "message",
        "id": f"msg_{ids.n}",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _function_item(reply: Reply, ids: Ids, index: int, status: str) -> dict[str, Any]:
    call = reply.tool_calls[index]
    return {
        "type": "function_call",
        "id": f"fc_{ids.n}_{index}",
        "call_id": ids.tool_id(call, index, "call"),
        "name": call.name,
        "arguments": call.arguments_json if status == "completed" else "",
        "status": status,
    }


def _output(reply: Reply, text: str, ids: Ids) -> list[dict[str, Any]]:
    items = [_message_item(ids, text, "completed")] if text or not reply.tool_calls else []
    items += [_function_item(reply, ids, i, "completed") for i in range(len(reply.tool_calls))]
    return items


def _response(
    reply: Reply, text: str, model: str, ids: Ids, body: dict[str, Any], *, done: bool
) -> dict[str, Any]:
    incomplete = reply.resolved_finish() == "length"
    status = ("incomplete" if incomplete else "completed") if done else "in_progress"
    return {
        "id": f"resp_{ids.n}",
        "object": "response",
        "created_at": CREATED,
        "completed_at": CREATED if done and not incomplete else None,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if done and incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": _output(reply, text, ids) if done else [],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage(reply) if done else None,
        "user": None,
        "metadata": {},
    }


def complete(reply: Reply, text: str, model: str, ids: Ids, body: dict[str, Any]) -> dict[str, Any]:
    """A non-stream ``response`` object."""
    return _response(reply, text, model, ids, body, done=True)


def stream(reply: Reply, text: str, model: str, ids: Ids, body: dict[str, Any]) -> list[SSEEvent]:
    """The typed events of a streamed response, from ``response.created`` to ``response.completed``."""
    payloads: list[dict[str, Any]] = []

    def add(kind: str, **fields: Any) -> None:
        payloads.append({"type": kind, "sequence_number": len(payloads), **fields})

    add("response.created", response=_response(reply, text, model, ids, body, done=False))
    add("response.in_progress", response=_response(reply, text, model, ids, body, done=False))
    index = 0
    if text or not reply.tool_calls:
        item_id = f"msg_{ids.n}"
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        add("response.output_item.added", output_index=index, item=_message_item(ids, "", "in_progress"))
        add("response.content_part.added", **where, part=empty_part)
        for piece in split_text(text):
            add("response.output_text.delta", **where, delta=piece, logprobs=[])
        add("response.output_text.done", **where, text=text, logprobs=[])
        add("response.content_part.done", **where, part={**empty_part, "text": text})
        add("response.output_item.done", output_index=index, item=_message_item(ids, text, "completed"))
        index += 1
    for i in range(len(reply.tool_calls)):
        item = _function_item(reply, ids, i, "completed")
        where = {"item_id": item["id"], "output_index": index}
        add(
            "response.output_item.added",
            output_index=index,
            item=_function_item(reply, ids, i, "in_progress"),
        )
        for piece in split_json(item["arguments"]):
            add("response.function_call_arguments.delta", **where, delta=piece)
        add("response.function_call_arguments.done", **where, arguments=item["arguments"])
        add("response.output_item.done", output_index=index, item=item)
        index += 1
    final = _response(reply, text, model, ids, body, done=True)
    add("response.incomplete" if final["status"] == "incomplete" else "response.completed", response=final)
    return [SSEEvent(p, event=p["type"]) for p in payloads]


def error_body(status: int, message: str | None, error_type: str | None, code: str | None) -> dict[str, Any]:
    """Same ``{"error": {...}}`` shape as Chat Completions."""
    return openai_chat.error_body(status, message, error_type, code)


def stream_error(message: str, error_type: str | None, seq: int) -> SSEEvent:
    """An ``error`` stream event (the SDK yields it as ``ResponseErrorEvent``; it does not raise)."""
    payload = {"type": "error", "code": error_type or "server_error", "message": message, "param": None}
    return SSEEvent({**payload, "sequence_number": seq}, event="error")
