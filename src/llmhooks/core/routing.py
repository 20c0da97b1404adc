"""How a manager learns which events a handler wants, and when that changes.

A manager routes an event type to a handler when the handler's class overrides a
method for it (``on_llm_end``, its ``_async`` twin or ``on_event``). A handler whose
interest is decided at run time (an ``EventManager`` with subscribers, a nested
``CallbackManager``) also answers ``wants(event_cls) -> bool``, asked once per route,
and calls ``interest_changed(self)`` when its answers change, so every manager that
routes to it builds its routes again::

    class Selective(Callbacks):
        def __init__(self):
            self.types = set()
        def wants(self, event_cls):
            return event_cls in self.types
        def on_event(self, event):
            ...
        def follow(self, event_cls):
            self.types.add(event_cls)
            interest_changed(self)

A ``wants`` that raises counts as "wants": an event too many is better than a lost one.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from llmhooks.core._forksafe import fork_safe_lock

if TYPE_CHECKING:
    from llmhooks.core.manager import CallbackManager

__all__ = ["asks_wants", "interest_changed", "joined", "left", "managers_of", "wants"]

_lock = fork_safe_lock()
# id(handler) -> the managers routing to it; a manager holds its handlers strongly, so an
# id here is never reused while its set has members
_members: dict[int, weakref.WeakSet[CallbackManager]] = {}


def joined(handler: object, manager: CallbackManager) -> None:
    """``manager`` now routes to ``handler``."""
    with _lock:
        members = _members.get(id(handler))
        if members is None:
            members = _members[id(handler)] = weakref.WeakSet()
        members.add(manager)


def left(handler: object, manager: CallbackManager) -> None:
    """``manager`` no longer routes to ``handler``."""
    with _lock:
        members = _members.get(id(handler))
        if members is not None:
            members.discard(manager)
            if not members:
                del _members[id(handler)]


def managers_of(handler: object) -> list[CallbackManager]:
    """The managers routing to ``handler`` now (a snapshot)."""
    with _lock:
        members = _members.get(id(handler))
        return list(members) if members is not None else []


def interest_changed(handler: object) -> None:
    """``handler``'s ``wants`` answers changed: every manager routing to it routes again."""
    for manager in managers_of(handler):
        manager.reroute()


def asks_wants(handler: object) -> bool:
    """True if ``handler`` decides its interest at run time (defines ``wants``)."""
    return callable(getattr(handler, "wants", None))


def wants(handler: object, event_cls: type) -> bool:
    """Ask ``handler`` whether it takes ``event_cls``; True if it has no opinion or fails."""
    ask: Any = getattr(handler, "wants", None)
    if ask is None:
        return True
    try:
        return bool(ask(event_cls))
    except Exception:
        return True
