"""The ``Event`` base class and the registry of event types.

Every event is a slotted, keyword-only dataclass (built by ``events/_model.py``, which
``dataclasses.fields()``/``replace()``/``asdict()`` accept). Its class carries ``type`` (a
dotted name such as ``"llm.start"``) and ``handler_method`` (``"on_llm_start"``),
which the dispatcher uses to find a handler's method::

    ev = LLMStartEvent(provider="openai", model="gpt-4o")
    ev.type, ev.handler_method     # ("llm.start", "on_llm_start")
    json.dumps(ev.to_dict())       # always serialisable
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from llmhooks.events._model import MISSING, EventMeta, _DataclassFields, _DataclassParams, field, field_specs

__all__ = ["ErrorInfo", "Event", "event_types", "lookup_type", "type_aliases", "type_names"]

_REGISTRY: dict[str, type[Event]] = {}


class Event(metaclass=EventMeta):
    """Base of every event: identity in the run tree, time, tags and metadata.

    Subclasses set ``type``; ``handler_method`` is derived from it
    (``"graph.node_start"`` -> ``"on_graph_node_start"``) unless set explicitly.
    """

    type: ClassVar[str] = "event"
    handler_method: ClassVar[str] = "on_event"
    aliases: ClassVar[dict[str, str]] = {}
    # True for events that end something (end, error, disconnect): every handler gets them,
    # even when one of them aborts (see CallbackManager)
    terminal: ClassVar[bool] = False
    __dataclass_fields__: ClassVar[Any] = _DataclassFields()
    __dataclass_params__: ClassVar[Any] = _DataclassParams()

    run_id: str = ""
    parent_run_id: str | None = None
    trace_id: str = ""
    timestamp: float = field(default_factory=time.time)
    user_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "type" in own:
            if "handler_method" not in own:
                cls.handler_method = "on_" + cls.type.replace(".", "_")
            _REGISTRY[cls.type] = cls

    def __getattr__(self, name: str) -> Any:
        # reached only for a field left unset: runs build events field by field and skip
        # fields that rarely carry a value; such a field reads as its default
        for spec in field_specs(type(self)):
            if spec.name == name:
                value = spec.factory() if spec.factory is not None else spec.default
                object.__setattr__(self, name, value)
                return value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of every field plus ``"type"``; never raises."""
        from llmhooks.events.serialize import event_to_dict

        return event_to_dict(self)


class ErrorInfo:
    """Mixin for events that carry an ``error``: gives ``error_message``, and derives
    ``error_type`` from ``error`` when an event is built by hand without one."""

    __slots__ = ()
    error: Any

    def __post_init__(self) -> None:
        err = self.error
        if getattr(self, "error_type", MISSING) is None and isinstance(err, BaseException):
            setattr(self, "error_type", type(err).__name__)  # noqa: B010 - not every error event has it

    @property
    def error_message(self) -> str:
        """A readable message for ``error``: its text, or its type name when empty."""
        err = self.error
        if err is None:
            return ""
        if isinstance(err, BaseException):
            # never blocks on a slow __str__ (see events/_safe_str.py)
            from llmhooks.events._safe_str import exception_message

            return exception_message(err) or type(err).__name__
        if isinstance(err, dict):  # an error as to_dict() wrote it, e.g. after replay
            return str(err.get("message") or err.get("error_type") or err)
        return str(err)


_TYPE_ALIASES: dict[str, str] = {}  # other systems' type names (seed 004's) -> ours


def event_types() -> dict[str, type[Event]]:
    """Return a copy of the registry: dotted ``type`` -> event class."""
    return dict(_REGISTRY)


def lookup_type(name: str) -> type[Event] | None:
    """The event class for a ``type`` name, ours or an alias registered for another system's."""
    cls = _REGISTRY.get(name)
    if cls is None:
        alias = _TYPE_ALIASES.get(name)
        cls = _REGISTRY.get(alias) if alias is not None else None
    return cls


def type_names(name: str) -> tuple[str, ...]:
    """``name`` and every other system's ``type`` name registered for it (seed 004's ``"plugin..."``)."""
    return (name, *(alias for alias, ours in _TYPE_ALIASES.items() if ours == name))


def type_aliases() -> tuple[str, ...]:
    """Every other system's ``type`` name that ``lookup_type`` accepts (seed 004's)."""
    return tuple(_TYPE_ALIASES)
