"""How a value is taken apart without running its code: the kind of its type, and the
attributes of an object (dataclass fields, a pydantic model's fields, ``__dict__`` and
``__slots__``), read with ``object.__getattribute__`` so that no property, ``__getattr__``
or ``__repr__`` of the object runs.

    kind_of(type(value))           # MAPPING, SEQUENCE, ..., OBJECT or LEAF, cached per type
    attributes(value, kind)        # [(name, value), ...]

Redaction walks exactly what serialisation writes out, both through this module: an
object is expanded by ``to_dict()`` only in the parts that redaction checked.
"""

from __future__ import annotations

import collections
import enum
import io
import sys
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DATACLASS",
    "EVENT",
    "EXCEPTION",
    "LEAF",
    "MAPPING",
    "OBJECT",
    "PYDANTIC",
    "SEQUENCE",
    "SET",
    "TEXT",
    "attributes",
    "imported",
    "kind_of",
    "qualified_name",
    "slot_names",
]

LEAF, TEXT, MAPPING, SEQUENCE, SET, EXCEPTION, DATACLASS, EVENT, PYDANTIC, OBJECT = range(10)

_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined by a class statement
# values that carry no free text of their own (or whose text is their identity)
_LEAF_TYPES = (bool, int, float, complex, bytes, bytearray, memoryview, range, type, enum.Enum, io.IOBase)
# the same, from modules looked up rather than imported: none of their values can exist
# before the module is imported, and importing them would slow ``import llmhooks``
_LEAF_NAMES = (
    ("uuid", "UUID"), ("pathlib", "PurePath"), ("fractions", "Fraction"), ("decimal", "Decimal"),
    ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"), ("datetime", "tzinfo"),
)  # fmt: skip
_MAX_KINDS = 4096
_kinds: dict[type, int] = {}
_names: dict[type, tuple[str, ...]] = {}


def _classify(cls: type) -> int:
    if issubclass(cls, str):
        return TEXT
    if issubclass(cls, _LEAF_TYPES) or issubclass(cls, imported(_LEAF_NAMES)):
        return LEAF
    if issubclass(cls, BaseException):
        return EXCEPTION
    if issubclass(cls, Mapping):
        return MAPPING
    if issubclass(cls, (list, tuple, collections.deque)):
        return SEQUENCE
    if issubclass(cls, (set, frozenset)):
        return SET
    if hasattr(cls, "__dataclass_fields__"):  # dataclasses.is_dataclass, without importing it
        base = sys.modules.get("llmhooks.events.base")
        own = base is not None and issubclass(cls, base.Event) and cls.__module__.startswith("llmhooks.")
        return EVENT if own else DATACLASS
    pydantic = sys.modules.get("pydantic.main")  # no pydantic model exists before it is imported
    if pydantic is not None and issubclass(cls, pydantic.BaseModel):
        return PYDANTIC
    if cls.__flags__ & _HEAP_TYPE:
        return OBJECT
    return LEAF  # extension types (sockets, arrays...): nothing readable without their code


def imported(names: tuple[tuple[str, str], ...]) -> tuple[type, ...]:
    """The classes ``(module, name)`` of ``names`` whose module is already imported."""
    found = []
    for module_name, name in names:
        module = sys.modules.get(module_name)
        cls = getattr(module, name, None) if module is not None else None
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)


def kind_of(cls: type) -> int:
    """The kind of values of type ``cls`` (one of the module's constants)."""
    kind = _kinds.get(cls)
    if kind is None:
        kind = _classify(cls)
        if len(_kinds) >= _MAX_KINDS:
            _kinds.clear()
        _kinds[cls] = kind
    return kind


def slot_names(cls: type) -> tuple[str, ...]:
    """Names of the ``__slots__`` of ``cls`` and its bases, mangled as Python stores them."""
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{klass.__name__.lstrip('_')}{name}"  # private names are mangled
            names.append(name)
    return tuple(names)


def _attribute_names(cls: type, kind: int) -> tuple[str, ...]:
    names = _names.get(cls)
    if names is None:
        if kind == EVENT:
            names = cls.__field_names__  # type: ignore[attr-defined]
        elif kind == DATACLASS:
            import dataclasses  # a dataclass instance exists: the module is loaded already

            names = tuple(f.name for f in dataclasses.fields(cls))
        else:
            names = slot_names(cls)
        if len(_names) >= _MAX_KINDS:
            _names.clear()
        _names[cls] = names
    return names


def attributes(obj: Any, kind: int) -> list[tuple[str, Any]]:
    """The data of an object of kind DATACLASS, EVENT, PYDANTIC or OBJECT, as pairs."""
    get = object.__getattribute__
    out: list[tuple[str, Any]] = []
    if kind == PYDANTIC:
        out.extend(get(obj, "__dict__").items())
        extra = get(obj, "__pydantic_extra__")
        if type(extra) is dict:
            out.extend(extra.items())
        return out
    if kind == OBJECT:
        try:
            out.extend(get(obj, "__dict__").items())
        except AttributeError:
            pass
    for name in _attribute_names(type(obj), kind):
        try:
            out.append((name, get(obj, name)))
        except AttributeError:  # a slot never set
            pass
    return out


def qualified_name(cls: type) -> str:
    """``module.QualName`` of a class, for summaries."""
    return f"{cls.__module__}.{cls.__qualname__}"
