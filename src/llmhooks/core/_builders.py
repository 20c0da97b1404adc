"""Event builders for runs: fill an event's slots directly, without its ``__init__``.

A run builds two events or more per call, so building must cost little: a builder is
a function generated once per event class that creates the instance with
``object.__new__`` and sets every field, identity from the run (``run_id``,
``parent_run_id``, ``trace_id``, ``user_id``, ``tags``, ``metadata``), the family's
fields from the run's attributes of the same name unless given, and the payload from
keywords (the class default when not given). An unknown keyword raises ``TypeError``
naming it, as ``__init__`` would. Tests pin that each builder sets exactly the fields
of its class.

    build_end = builder(LLMEndEvent, family=("provider", "model"))
    event = build_end(run, response="hi", input_tokens=3)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from llmhooks.events._model import MISSING, field_specs

__all__ = ["IDENTITY", "LazyBuilder", "builder"]

IDENTITY = ("run_id", "parent_run_id", "trace_id", "timestamp", "user_id", "tags", "metadata")


def builder(cls: type, family: tuple[str, ...]) -> Callable[..., Any]:
    """The builder of ``cls`` for runs whose family fields are ``family``."""
    specs = [s for s in field_specs(cls) if s.name not in IDENTITY]
    names = {s.name for s in specs}
    missing = set(family) - names
    if missing:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(missing)}")
    params = ["run", "*"]
    body = [
        "    e = _new(_cls)",
        "    e.run_id = run.run_id",
        "    e.parent_run_id = run.parent_run_id",
        "    e.trace_id = run.trace_id",
        "    e.timestamp = _time()",
        "    e.user_id = run.user_id",
        "    e.tags = run.tags",
        "    e.metadata = run.metadata",
    ]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_time": time.time, "_M": MISSING}
    for i, spec in enumerate(specs):
        if spec.name in family:
            params.append(f"{spec.name}=_M")
            body.append(f"    e.{spec.name} = run.{spec.name} if {spec.name} is _M else {spec.name}")
        else:
            default = spec.factory() if spec.factory is not None else spec.default
            if default is None or isinstance(default, (bool, int, float, str)):
                params.append(f"{spec.name}={default!r}")
            else:
                namespace[f"_d{i}"] = spec.default
                params.append(f"{spec.name}=_d{i}")
            body.append(f"    e.{spec.name} = {spec.name}")
    source = f"def build_{cls.__name__}({', '.join(params)}):\n" + "\n".join(body) + "\n    return e\n"
    exec(source, namespace)
    build: Callable[..., Any] = namespace[f"build_{cls.__name__}"]
    build.__module__ = __name__
    return build


class LazyBuilder:
    """A class attribute holding ``builder(cls, family)``, generated on first use (cheap import)."""

    __slots__ = ("cls", "family", "name")

    def __init__(self, cls: type, family: tuple[str, ...]) -> None:
        self.cls = cls
        self.family = family
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type | None = None) -> Callable[..., Any]:
        build = _built.get((self.cls, self.family))
        if build is None:
            build = _built[(self.cls, self.family)] = builder(self.cls, self.family)
        if owner is not None and self.name:
            setattr(owner, self.name, staticmethod(build))  # later lookups skip this descriptor
        return build


_built: dict[tuple[type, tuple[str, ...]], Callable[..., Any]] = {}
