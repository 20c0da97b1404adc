"""OpenAI Chat Completions wire shapes: ``POST /v1/chat/completions``."""

from __future__ import annotations

from typing import Any

from .script import CREATED, Ids, Reply, SSEEvent, last_user_text, split_json, split_text

PATH = "/v1/chat/completions"


def user_text(body: dict[str, Any]) -> str:
    """The last user message of a chat request."""
    return last_user_text(body.get("messages"))


def usage(reply: Reply) -> dict[str, Any]:
    """Chat Completions ``usage`` object with the scripted numbers."""
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
        "prompt_tokens_details": {
            "cached_tokens": reply.cached_tokens,
            "cache_write_tokens": reply.cache_creation_tokens,
            "audio_tokens": 0,
        },
        "completion_tokens_details": {
            "reasoning_tokens": reply.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_calls(reply: Reply, ids: Ids) -> list[dict[str, Any]]:
    return [
        {
            "id": ids.tool_id(call, i, "call"),
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json},
        }
        for i, call in enumerate(reply.tool_calls)
    ]


def complete(reply: Reply, text: str, model: str, ids: Ids, body: dict[str, Any]) -> dict[str, Any]:
    """A non-stream ``chat.completion`` body."""
    del body
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not reply.tool_calls else None,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply, ids)
    return {
        "id": f"chatcmpl-{ids.n}",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": reply.resolved_finish()}
        ],
        "usage": usage(reply),
        "service_tier": "default",
        "system_fingerprint": "fp_llmwire",
    }


def stream(reply: Reply, text: str, model: str, ids: Ids, body: dict[str, Any]) -> list[SSEEvent]:
    """The ``chat.completion.chunk`` events of a streamed answer, ending with ``[DONE]``."""
    options = body.get("stream_options") or {}
    include_usage = bool(isinstance(options, dict) and options.get("include_usage"))

    def chunk(delta: dict[str, Any], finish: str | None = None) -> SSEEvent:
        data: dict[str, Any] = {
            "id": f"chatcmpl-{ids.n}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_llmwire",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            data["usage"] = None
        return SSEEvent(data)

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": piece}) for piece in split_text(text)]
    for i, call in enumerate(reply.tool_calls):
        head = {
            "index": i,
            "id": ids.tool_id(call, i, "call"),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        for piece in split_json(call.arguments_json):
            events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    events.append(chunk({}, reply.resolved_finish()))
    if include_usage:
        events.append(
            SSEEvent(
                {
                    "id": f"chatcmpl-{ids.n}",
                    "object": "chat.completion.chunk",
                    "created": CREATED,
                    "model": model,
                    "service_tier": "default",
                    "system_fingerprint": "fp_llmwire",
                    "choices": [],
                    "usage": usage(reply),
                }
            )
        )
    events.append(SSEEvent("[DONE]"))
    return events


_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def error_body(status: int, message: str | None, error_type: str | None, code: str | None) -> dict[str, Any]:
    """OpenAI's ``{"error": {...}}`` body for an HTTP error."""
    default_type, default_code = _ERROR_TYPES.get(status, ("server_error", None))
    return {
        "error": {
            "message": message or f"Scripted error {status}",
            "type": error_type or default_type,
            "param": None,
            "code": code if code is not None else default_code,
        }
    }


def stream_error(message: str, error_type: str | None, seq: int) -> SSEEvent:
    """An in-stream error chunk (the SDK raises ``openai.APIError`` on it)."""
    del seq
    return SSEEvent(
        {"error": {"message": message, "type": error_type or "server_error", "param": None, "code": None}}
    )
