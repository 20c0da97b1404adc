"""Message content in the GenAI conventions' JSON shapes, and the capture setting.

What is captured is what the events carry, after llmhooks' redaction (secrets
replaced, contents blanked with ``configure_redaction(capture_content=False)``).
Messages of the OpenAI and Anthropic shapes become ``{"role", "parts": [...]}``
with ``text``, ``tool_call`` and ``tool_call_response`` parts; other parts (images,
audio) keep only their type, so no payload bytes reach a span.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from llmhooks._validate import check_choice
from llmhooks.events import to_jsonable
from llmhooks.handlers.otel import conventions as C

__all__ = ["capture_mode", "dumps", "input_messages", "output_messages", "split_system"]

logger = logging.getLogger("llmhooks")

_LEGACY_TRUE = frozenset({"TRUE", "1", "YES", "ON"})
_LEGACY_FALSE = frozenset({"", "FALSE", "0", "NO", "OFF"})


def capture_mode(value: str | bool | None) -> str:
    """The capture mode from the argument, or from ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.

    ``True`` means ``SPAN_ONLY``, ``False`` ``NO_CONTENT``; the variable's legacy
    ``true``/``false`` are read the same way. An unknown value in the variable is
    logged and ignored (content stays off); an unknown argument raises.

    Raises:
        ValueError: ``value`` is a string that is not one of the four modes.
        TypeError: ``value`` is neither None, a bool nor a string.
    """
    if value is None:
        raw = os.environ.get(C.CAPTURE_ENV, "").strip().upper()
        if raw in C.CAPTURE_MODES:
            return raw
        if raw in _LEGACY_TRUE:
            return C.CAPTURE_SPAN
        if raw not in _LEGACY_FALSE:
            logger.warning(
                "llmhooks: %s=%r is not one of %s; message content is not captured",
                C.CAPTURE_ENV,
                raw,
                ", ".join(C.CAPTURE_MODES),
            )
        return C.CAPTURE_NONE
    if isinstance(value, bool):
        return C.CAPTURE_SPAN if value else C.CAPTURE_NONE
    if not isinstance(value, str):
        raise TypeError(f"capture_content must be None, a bool or one of {C.CAPTURE_MODES}, got {value!r}")
    return check_choice("capture_content", value.upper(), C.CAPTURE_MODES)


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (never raises: unserialisable parts are summarised)."""
    return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _part(part: Any) -> dict[str, Any] | None:
    if isinstance(part, str):
        return {"type": "text", "content": part}
    if not isinstance(part, Mapping):
        return None
    kind = part.get("type")
    if kind in ("text", "input_text", "output_text"):
        return {"type": "text", "content": part.get("text", part.get("content", ""))}
    if kind == "tool_use":  # anthropic
        return {
            "type": "tool_call",
            "id": part.get("id"),
            "name": part.get("name"),
            "arguments": part.get("input"),
        }
    if kind == "tool_result":
        return {"type": "tool_call_response", "id": part.get("tool_use_id"), "response": part.get("content")}
    if kind == "thinking":
        return {"type": "reasoning", "content": part.get("thinking", "")}
    return {"type": str(kind) if kind else "unknown"}  # images, audio, files: the type only


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for call in calls or ():
        if not isinstance(call, Mapping):
            continue
        fn = call.get("function")
        if isinstance(fn, Mapping):  # openai: {"id", "function": {"name", "arguments"}}
            out.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": fn.get("name"),
                    "arguments": _arguments(fn.get("arguments")),
                }
            )
        else:  # llmhooks' own {"id", "name", "arguments"}
            out.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": call.get("name"),
                    "arguments": _arguments(call.get("arguments")),
                }
            )
    return out


def _message(message: Any) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        return {"role": "user", "parts": [{"type": "text", "content": str(message)}]}
    role = str(message.get("role") or "user")
    content = message.get("content")
    parts: list[dict[str, Any]] = []
    if role == "tool":  # openai tool result
        parts.append({"type": "tool_call_response", "id": message.get("tool_call_id"), "response": content})
    elif isinstance(content, (list, tuple)):
        parts.extend(p for p in map(_part, content) if p is not None)
    elif content is not None:
        parts.append({"type": "text", "content": content})
    parts.extend(_tool_calls(message.get("tool_calls")))
    return {"role": role, "parts": parts}


def input_messages(messages: list[Any] | None, prompt: str | None) -> list[dict[str, Any]] | None:
    """The input messages of an LLM start event, or None when it has none."""
    if messages:
        return [_message(m) for m in messages]
    if prompt is not None:
        return [{"role": "user", "parts": [{"type": "text", "content": prompt}]}]
    return None


def split_system(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instruction parts, the other messages) of converted input messages.

    For providers whose API takes the system prompt apart from the history (Anthropic's
    ``system=``), where llmhooks' events carry it as ``system``/``developer`` messages.
    """
    system: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for message in messages:
        if message["role"] in ("system", "developer"):
            system.extend(message["parts"])
        else:
            rest.append(message)
    return system, rest


def output_messages(response: Any, tool_calls: Any, finish_reason: str | None) -> list[dict[str, Any]]:
    """The output message of an LLM end event (one choice)."""
    parts: list[dict[str, Any]] = []
    if isinstance(response, str):
        if response:
            parts.append({"type": "text", "content": response})
    elif response is not None:
        parts.append({"type": "text", "content": to_jsonable(response)})
    parts.extend(_tool_calls(tool_calls))
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason or ""}]
