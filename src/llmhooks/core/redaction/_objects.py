"""Redacted copies of objects: the same type where one can be made without running the
object's own code, a plain dict otherwise.

    rebuild(message, PYDANTIC, {"content": "[REDACTED]"})   # message.model_copy(update=...)
    rebuild(point, DATACLASS, {"token": "[REDACTED]"})      # a clone: __new__, then fields

Dataclasses and plain objects are cloned (``object.__new__`` and their ``__dict__`` and
slots copied, the changed attributes set), so no ``__init__``, ``__post_init__`` or
validator runs and frozen dataclasses work. A class with a ``__del__`` is never cloned:
the clone's finalizer would act on the resources the original holds (a file, a process).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any

from llmhooks.events._shapes import PYDANTIC, attributes, qualified_name, slot_names

__all__ = ["TYPE_KEY", "rebuild", "representation", "same_type_set", "same_type_sequence"]

TYPE_KEY = "__type__"  # names the class in a plain representation
_finalized: dict[type, bool] = {}


def _has_finalizer(cls: type) -> bool:
    found = _finalized.get(cls)
    if found is None:
        found = any("__del__" in klass.__dict__ for klass in cls.__mro__[:-1])
        _finalized[cls] = found
    return found


def representation(obj: Any, kind: int, changes: dict[str, Any]) -> dict[str, Any]:
    """``{"__type__": "module.Class", attribute: value...}`` with ``changes`` applied."""
    out: dict[str, Any] = {TYPE_KEY: qualified_name(type(obj))}
    for name, value in attributes(obj, kind):
        out[name] = changes.get(name, value)
    return out


def _clone(obj: Any, changes: dict[str, Any]) -> Any:
    cls = type(obj)
    get, set_ = object.__getattribute__, object.__setattr__
    new = object.__new__(cls)
    try:
        state = get(obj, "__dict__")
    except AttributeError:
        state = None
    new_state = None
    if state is not None:
        new_state = get(new, "__dict__")
        new_state.update(state)
    for name in slot_names(cls):
        try:
            set_(new, name, get(obj, name))
        except AttributeError:  # never set on the original
            pass
    for name, value in changes.items():
        if new_state is not None and name in new_state:
            new_state[name] = value
        else:
            set_(new, name, value)
    return new


def rebuild(obj: Any, kind: int, changes: dict[str, Any]) -> Any:
    """A copy of ``obj`` (a dataclass, pydantic model or plain object) with ``changes``."""
    try:
        if kind == PYDANTIC:
            return obj.model_copy(update=changes)
        if not _has_finalizer(type(obj)):
            return _clone(obj, changes)
    except Exception:
        pass
    return representation(obj, kind, changes)


def same_type_sequence(original: Any, items: list[Any]) -> Any:
    """``items`` as the type of ``original`` (list, tuple, namedtuple, deque...), or a list."""
    cls = type(original)
    if cls is list:
        return items
    if cls is tuple:
        return tuple(items)
    try:
        if isinstance(original, tuple):
            # a namedtuple keeps its type; another tuple subclass's constructor is its own code
            return cls._make(items) if hasattr(cls, "_fields") else tuple(items)
        if isinstance(original, collections.deque):
            return collections.deque(items, original.maxlen)
    except Exception:
        pass
    return items


def same_type_set(original: Any, items: Iterable[Any]) -> Any:
    """``items`` as a set or frozenset, like ``original``."""
    return frozenset(items) if isinstance(original, frozenset) else set(items)
