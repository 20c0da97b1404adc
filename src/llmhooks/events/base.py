"""The ``Event`` base class and the registry of event types.

Every event is a slotted, keyword-only dataclass. Its class carries ``type`` (a
dotted name such as ``"llm.start"``) and ``handler_method`` (``"on_llm_start"``),
which the dispatcher uses to find a handler's method::

    ev = LLMStartEvent(provider="openai", model="gpt-4o")
    ev.type, ev.handler_method     # ("llm.start", "on_llm_start")
    json.dumps(ev.to_dict())       # always serialisable
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["ErrorInfo", "Event", "event_types"]

_REGISTRY: dict[str, type[Event]] = {}


@dataclass(slots=True, kw_only=True)
class Event:
    """Base of every event: identity in the run tree, time, tags and metadata.

    Subclasses set ``type``; ``handler_method`` is derived from it
    (``"graph.node_start"`` -> ``"on_graph_node_start"``) unless set explicitly.
    """

    type: ClassVar[str] = "event"
    handler_method: ClassVar[str] = "on_event"

    run_id: str = ""
    parent_run_id: str | None = None
    trace_id: str = ""
    timestamp: float = field(default_factory=time.time)
    user_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # zero-argument super() is broken in slotted dataclasses on 3.11
        super(Event, cls).__init_subclass__(**kwargs)
        own = cls.__dict__
        if "type" in own:
            if "handler_method" not in own:
                cls.handler_method = "on_" + cls.type.replace(".", "_")
            _REGISTRY[cls.type] = cls

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict of every field plus ``"type"``; never raises."""
        from llmhooks.events.serialize import event_to_dict

        return event_to_dict(self)


class ErrorInfo:
    """Mixin for events that carry an ``error``: gives ``error_message``."""

    __slots__ = ()
    error: Any

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


def event_types() -> dict[str, type[Event]]:
    """Return a copy of the registry: dotted ``type`` -> event class."""
    return dict(_REGISTRY)
