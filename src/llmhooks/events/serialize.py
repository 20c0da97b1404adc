"""Turn events (and whatever their payloads hold) into JSON-safe values and back.

``to_jsonable`` never raises: exceptions become ``{"error_type", "message"}``,
bytes become their length, unknown objects a bounded ``repr``, deep or huge
structures are cut with a marker. ``event_from_dict`` rebuilds an event from
``to_dict()`` output (payloads stay in their JSON form), for replay.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from llmhooks.events.base import _REGISTRY, Event

__all__ = ["event_from_dict", "event_to_dict", "to_jsonable"]

MAX_DEPTH = 12
MAX_ITEMS = 1000
MAX_STR = 100_000
MAX_REPR = 200

_fields_cache: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _fields_cache.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        _fields_cache[cls] = names
    return names


def event_to_dict(event: Event) -> dict[str, Any]:
    """Return ``{"type": ..., field: value, ...}`` with every value JSON-safe."""
    out: dict[str, Any] = {"type": event.type}
    for name in _field_names(type(event)):
        out[name] = to_jsonable(getattr(event, name, None))
    return out


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from ``to_dict()`` output; unknown keys go to ``metadata``.

    Raises:
        ValueError: ``data`` has no ``type`` or names an unknown event type.
    """
    type_name = data.get("type")
    cls = _REGISTRY.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown event type {type_name!r}; known types: {known}")
    names = set(_field_names(cls))
    kwargs = {k: v for k, v in data.items() if k in names}
    extra = {k: v for k, v in data.items() if k not in names and k != "type"}
    if extra:
        kwargs["metadata"] = {**(kwargs.get("metadata") or {}), **extra}
    if kwargs.get("tags") is None:
        kwargs.pop("tags", None)
    if kwargs.get("metadata") is None:
        kwargs.pop("metadata", None)
    return cls(**kwargs)


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """Return a JSON-serialisable version of ``value``; never raises."""
    try:
        return _convert(value, _depth)
    except Exception as exc:  # a hostile __repr__ or __iter__ must not break a handler
        return f"<unserialisable {type(value).__name__}: {type(exc).__name__}>"


def _convert(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        if len(value) > MAX_STR:
            return value[:MAX_STR] + f"...<truncated {len(value) - MAX_STR} chars>"
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return f"<{type(value).__name__} nested too deep>"
    if isinstance(value, BaseException):
        return {"error_type": type(value).__name__, "message": str(value)}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["..."] = f"<{len(value) - MAX_ITEMS} more items>"
                break
            out[k if isinstance(k, str) else str(k)] = _convert(v, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        converted = [_convert(v, depth + 1) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            converted.append(f"<{len(items) - MAX_ITEMS} more items>")
        return converted
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": len(value)}
    if isinstance(value, Event):
        return event_to_dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _convert(getattr(value, f.name, None), depth + 1) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)  # pydantic models (SDK responses)
    if callable(dump) and not isinstance(value, type):
        return _convert(dump(mode="json"), depth + 1)
    text = repr(value)
    if len(text) > MAX_REPR:
        text = text[:MAX_REPR] + "..."
    return f"<{type(value).__name__} {text}>"
