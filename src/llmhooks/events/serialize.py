"""Turn events (and whatever their payloads hold) into JSON-safe values and back.

``to_jsonable`` never raises, never runs a value's own ``__repr__`` or ``__str__`` in
the calling thread, and bounds what it writes:

- exceptions become ``{"error_type", "message"}`` (the message read as in
  ``events/_safe_str.py``: a ``__str__`` of unknown code runs on a watchdog thread, at most
  0.1 s); bytes become their length;
- dataclasses and pydantic models (LangChain messages) become dicts of their fields, a
  plain object ``{"__type__": "module.Class", ...its public attributes}``, anything else
  ``"<TypeName>"``; datetimes, UUIDs, paths, decimals and enums their usual text;
- a string over ``MAX_STR`` characters, a container over ``MAX_ITEMS`` items, nesting
  deeper than ``MAX_DEPTH``, a reference cycle, and everything past ``MAX_NODES`` values
  or ``MAX_CHARS`` characters per call are cut with a marker saying what was left out.

``event_from_dict`` rebuilds an event from ``to_dict()`` output (payloads stay in their
JSON form), for replay.
"""

from __future__ import annotations

import enum
import math
import sys
from collections.abc import Mapping
from itertools import islice
from typing import Any

from llmhooks.events._safe_str import exception_message
from llmhooks.events._shapes import (
    DATACLASS,
    EVENT,
    EXCEPTION,
    MAPPING,
    OBJECT,
    PYDANTIC,
    SEQUENCE,
    SET,
    TEXT,
    attributes,
    imported,
    kind_of,
    qualified_name,
)
from llmhooks.events.base import _REGISTRY, Event, lookup_type

__all__ = ["event_from_dict", "event_to_dict", "to_jsonable"]

MAX_DEPTH = 12
MAX_ITEMS = 1000
MAX_STR = 100_000
MAX_NODES = 50_000  # values per event (or per to_jsonable call)
MAX_CHARS = 2_000_000  # characters of text per event

TYPE_KEY = "__type__"  # names the class of a plain object written as a dict
_fields_cache: dict[type, tuple[str, ...]] = {}
# written as their str(): looked up, not imported (see _shapes.imported)
_TEXT_TYPES = (("uuid", "UUID"), ("decimal", "Decimal"), ("pathlib", "PurePath"), ("fractions", "Fraction"))


def _field_names(cls: type) -> tuple[str, ...]:
    names = _fields_cache.get(cls)
    if names is None:
        own: tuple[str, ...] | None = vars(cls).get("__field_names__")
        if own is not None:  # one of our event classes: its names, without importing dataclasses
            names = own
        else:
            import dataclasses  # a user's @dataclass event: dataclasses is loaded already

            names = tuple(f.name for f in dataclasses.fields(cls))
        _fields_cache[cls] = names
    return names


class _Writer:
    """The budgets of one conversion, and the containers open on the current path."""

    __slots__ = ("chars", "nodes", "open")

    def __init__(self) -> None:
        self.nodes = MAX_NODES
        self.chars = MAX_CHARS
        self.open: set[int] = set()

    def text(self, s: str) -> str:
        n = len(s)
        if n > MAX_STR or n > self.chars:
            keep = max(0, min(MAX_STR, self.chars))
            self.chars -= keep
            return s[:keep] + f"...<truncated {n - keep} chars>"
        self.chars -= n
        return s if type(s) is str else str.__str__(s)

    def value(self, v: Any, depth: int) -> Any:
        t = type(v)
        if v is None or t is bool or t is int:
            return v
        if t is str:
            return self.text(v)
        if t is float:
            return v if math.isfinite(v) else str(v)
        self.nodes -= 1
        if self.nodes < 0:
            return "<truncated: too many values>"
        kind = kind_of(t)
        if kind == TEXT:
            return self.text(v)
        if kind == EXCEPTION:
            message = exception_message(v)
            return {
                "error_type": t.__name__,
                "message": self.text(message) if message is not None else "<message unavailable>",
            }
        if kind in (MAPPING, SEQUENCE, SET, DATACLASS, EVENT, PYDANTIC, OBJECT):
            if depth >= MAX_DEPTH:
                return f"<{t.__name__} nested too deep>"
            i = id(v)
            if i in self.open:
                return f"<{t.__name__} reference cycle>"
            self.open.add(i)
            try:
                return self.container(v, t, kind, depth)
            finally:
                self.open.discard(i)
        return self.leaf(v, t)

    def container(self, v: Any, t: type, kind: int, depth: int) -> Any:
        below = depth + 1
        if kind == MAPPING:
            out: dict[str, Any] = {}
            for k, item in islice(v.items(), MAX_ITEMS):
                out[_key(k)] = self.value(item, below)
            if len(v) > MAX_ITEMS:
                out["..."] = f"<{len(v) - MAX_ITEMS} more items>"
            return out
        if kind in (SEQUENCE, SET):
            items = [self.value(item, below) for item in islice(v, MAX_ITEMS)]
            if len(v) > MAX_ITEMS:
                items.append(f"<{len(v) - MAX_ITEMS} more items>")
            return items
        if kind == EVENT or (kind == DATACLASS and isinstance(v, Event)):
            return self.event(v, below)
        pairs = attributes(v, kind)
        if kind == OBJECT:
            fields = {TYPE_KEY: qualified_name(t)}
            pairs = [(name, item) for name, item in pairs if not name.startswith("_")]
        else:
            fields = {}
        for name, item in islice(pairs, MAX_ITEMS):
            fields[name] = self.value(item, below)
        return fields

    def leaf(self, v: Any, t: type) -> Any:
        # stdlib values with a well-known text form; everything else is named, not shown
        if isinstance(v, (bytes, bytearray, memoryview)):
            return {"bytes": len(v)}
        if isinstance(v, enum.Enum):
            return self.value(v._value_, MAX_DEPTH - 1)
        dt = sys.modules.get("datetime")
        if dt is not None:
            if isinstance(v, (dt.date, dt.time)):
                return v.isoformat()
            if isinstance(v, dt.timedelta):
                return v.total_seconds()
        for base in imported(_TEXT_TYPES):
            if isinstance(v, base) and t.__str__ is base.__str__:  # not a subclass's own text
                return self.text(str(v))
        if isinstance(v, float):  # a float subclass
            return float(v) if math.isfinite(v) else str(v)
        if isinstance(v, int):
            return int(v)
        if isinstance(v, complex):
            return str(v)
        return f"<{t.__name__}>"

    def event(self, event: Event, depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {"type": event.type}
        for name in _field_names(type(event)):
            try:
                out[name] = self.value(getattr(event, name, None), depth)
            except Exception as exc:  # a hostile __iter__ or mapping must not break a handler
                out[name] = (
                    f"<unserialisable {type(getattr(event, name, None)).__name__}: {type(exc).__name__}>"
                )
        return out


def _key(k: Any) -> str:
    t = type(k)
    if t is str:
        name: str = k
        return name if len(name) <= MAX_STR else name[:MAX_STR] + "..."
    if k is None or t is bool or t is int or t is float:
        return str(k)  # CPython's own text for these, as json.dumps writes them
    value = k._value_ if isinstance(k, enum.Enum) else None
    if isinstance(value, str):
        return str.__str__(value)
    return f"<{t.__name__}>"


def event_to_dict(event: Event) -> dict[str, Any]:
    """Return ``{"type": ..., field: value, ...}`` with every value JSON-safe; never raises."""
    return _Writer().event(event)


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Rebuild an event from ``to_dict()`` output; unknown keys go to ``metadata``.

    Raises:
        ValueError: ``data`` has no ``type`` or names an unknown event type.
    """
    type_name = data.get("type")
    cls = lookup_type(type_name) if isinstance(type_name, str) else None
    if cls is None:
        known = ", ".join(sorted(k for k in _REGISTRY if isinstance(k, str)))
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
        return _Writer().value(value, _depth)
    except Exception as exc:  # a hostile __iter__ or mapping must not break a handler
        return f"<unserialisable {type(value).__name__}: {type(exc).__name__}>"
