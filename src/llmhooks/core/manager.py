"""``CallbackManager``: delivers events to an ordered set of handlers.

    manager = CallbackManager([LoggingCallbacks(), MetricsCallbacks()])
    manager.emit(event)            # sync code
    await manager.aemit(event)     # async code

Dispatch is a dict lookup and a loop over a tuple of bound methods. Which method
of which handler takes which event type is worked out once per handler class
(``_resolve.plan_for``) and kept per event type in ``_routes``; ``add`` and
``remove`` swap in fresh tables under a lock, so ``emit`` never locks and a
handler added during a dispatch is first called on the next one. Runs look up the
routes of all their events at once (``routes_for``) and deliver through
``deliver``/``adeliver`` (``core/delivery.py``), the same loops ``emit``/``aemit`` use;
background handlers are fed from their own queues (``core/handler_queues.py``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

from llmhooks._validate import check_bool, check_number
from llmhooks.core import routing
from llmhooks.core._forksafe import fork_safe_lock
from llmhooks.core._resolve import plan_for, validate_handler
from llmhooks.core.background import BackgroundWorker
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.delivery import ARoute, AsyncEntry, Route, Slot, SyncEntry, adeliver, deliver
from llmhooks.core.handler_queues import check_background, from_sync, queue_of
from llmhooks.core.stats import HandlerStats, drain_retired, retire_later, retire_routes
from llmhooks.events.base import _REGISTRY, Event

__all__ = ["CallbackManager"]

_HANDLERS = object()  # key under which a routes dict keeps the handler tuple it was built from


class CallbackManager(Callbacks):
    """An ordered set of handlers that is itself a handler, so managers nest.

    Args:
        handlers: handlers in call order (a ``priority`` on a handler moves it:
            higher first, equal priorities keep the order given).
        concurrent: in ``aemit``, gather the async methods of all handlers instead
            of awaiting them one by one.
        timeout: default bound, in seconds, for handlers' async methods.

    Raises:
        InvalidHandlerError: a handler is malformed (see ``validate_handler``).
        TypeError, ValueError: ``concurrent`` or ``timeout`` are not what they must be.
    """

    def __init__(
        self,
        handlers: Iterable[Callbacks] | None = None,
        *,
        concurrent: bool = False,
        timeout: float | None = None,
    ) -> None:
        self.concurrent = check_bool("concurrent", concurrent)
        self.default_timeout = check_number(
            "timeout", timeout, minimum=0, exclusive_minimum=True, allow_none=True
        )
        self._lock = fork_safe_lock()
        self._seq = count()
        self._slots: tuple[Slot, ...] = ()
        self._routes: dict[Any, Any] = {_HANDLERS: ()}
        self._aroutes: dict[Any, Any] = {_HANDLERS: ()}
        # (counter, stats) of every route built since the last install: folded into the
        # handlers' stats when the routes are replaced or this manager is collected
        self._counted: list[tuple[count[int], tuple[HandlerStats, ...]]] = []
        # never fold inside garbage collection (it may run while a stats lock is held): queue it
        weakref.finalize(self, retire_later, self._counted)
        if isinstance(handlers, Callbacks) or not isinstance(handlers, Iterable | None):
            from llmhooks.errors import InvalidHandlerError

            raise InvalidHandlerError(
                f"handlers must be a list of Callbacks instances, got {type(handlers).__name__}: "
                f"{handlers!r}; write CallbackManager([handler])",
                handlers,
            )
        for handler in handlers or ():
            self.add(handler)

    # registration

    @property
    def handlers(self) -> tuple[Callbacks, ...]:
        """The handlers, in call order."""
        return tuple(s.handler for s in self._slots)

    def add(self, handler: Callbacks, *, priority: int | None = None) -> None:
        """Add ``handler`` (once; adding it again does nothing). Thread-safe.

        Raises:
            InvalidHandlerError: ``handler`` is malformed.
            TypeError, ValueError: its ``priority``, ``timeout`` or background settings are.
        """
        if not isinstance(handler, CallbackManager):
            validate_handler(handler)
        if handler is self:
            raise ValueError("a CallbackManager cannot contain itself")
        prio = getattr(handler, "priority", 0) if priority is None else priority
        from llmhooks._validate import check_int

        check_int("priority", prio if prio is not None else 0)
        timeout = check_number(
            "timeout", getattr(handler, "timeout", None), minimum=0, exclusive_minimum=True, allow_none=True
        )
        background = getattr(handler, "background", False)
        if background:
            check_background(handler)
            from llmhooks.core.exits import watch_exits

            watch_exits()  # signal hooks can only be set from the main thread: try now
        with self._lock:
            if any(s.handler is handler for s in self._slots):
                return
            slot = Slot(
                handler, int(prio or 0), next(self._seq), timeout, isinstance(handler, CallbackManager)
            )
            slots = sorted((*self._slots, slot), key=lambda s: (-s.priority, s.seq))
            routing.joined(handler, self)  # before routing, so no change of interest is missed
            self._install(tuple(slots))
        routing.interest_changed(self)

    def remove(self, handler: Callbacks) -> bool:
        """Remove ``handler``; returns False if it was not there. Thread-safe."""
        with self._lock:
            slots = tuple(s for s in self._slots if s.handler is not handler)
            if len(slots) == len(self._slots):
                return False
            self._install(slots)
        routing.left(handler, self)
        routing.interest_changed(self)
        return True

    def clear(self) -> None:
        """Remove every handler."""
        with self._lock:
            old = self._slots
            self._install(())
        for slot in old:
            routing.left(slot.handler, self)
        routing.interest_changed(self)

    def set_handlers(self, handlers: Iterable[Callbacks]) -> None:
        """Replace all handlers at once."""
        new = list(handlers)
        for h in new:
            if not isinstance(h, CallbackManager):
                validate_handler(h)
        self.clear()
        for h in new:
            self.add(h)

    def _install(self, slots: tuple[Slot, ...]) -> None:
        # new dicts, never mutated in place for existing keys: emit() reads them without the lock
        self._slots = slots
        self._routes = {_HANDLERS: slots}
        self._aroutes = {_HANDLERS: slots}
        retire_routes(self._counted)
        drain_retired()

    def reroute(self) -> None:
        """Route events again: a handler's ``wants`` answers changed (see ``core/routing.py``)."""
        with self._lock:
            self._install(self._slots)
        routing.interest_changed(self)

    def __contains__(self, handler: object) -> bool:
        return any(s.handler is handler for s in self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in self._slots)
        return f"CallbackManager([{names}])"

    # routing

    def wants(self, event_cls: type[Event]) -> bool:
        """True if some handler takes ``event_cls``: check before building an event."""
        route = self._routes.get(event_cls)
        if route is None:
            route = self._route(event_cls)
        return bool(route[0])

    def routes_for(self, kind: Any) -> tuple[Route, ...] | None:
        """The sync routes of all the events of run class ``kind`` (its ``_classes``), at once.

        Cached under ``kind`` in ``_routes`` (``()`` when no handler takes any of them), so
        a run looks them up with one dict ``get``; None when nobody listens.
        """
        routes = self._routes
        found = routes.get(kind)
        if found is None:
            built = tuple(routes.get(c) or self._route(c) for c in kind._classes)
            found = built if any(r[0] for r in built) else ()
            routes[kind] = found
        return found or None

    def aroute(self, event_cls: type[Event]) -> ARoute:
        """The async route of ``event_cls``."""
        route = self._aroutes.get(event_cls)
        return route if route is not None else self._aroute(event_cls)

    def route(self, event_cls: type[Event]) -> Route:
        """The sync route of ``event_cls``."""
        route = self._routes.get(event_cls)
        return route if route is not None else self._route(event_cls)

    def _route(self, event_cls: type[Event]) -> Route:
        routes = self._routes
        slots: tuple[Slot, ...] = routes[_HANDLERS]
        entries: list[SyncEntry] = []
        for slot in slots:
            call = self._sync_call(slot, event_cls)
            if call is not None:
                entries.append((call, slot))
        counter = self._count_for(tuple(slot for _, slot in entries))
        route: Route = (tuple(entries), counter, bool(getattr(event_cls, "terminal", False)))
        routes[event_cls] = route
        return route

    def _aroute(self, event_cls: type[Event]) -> ARoute:
        routes = self._aroutes
        slots: tuple[Slot, ...] = routes[_HANDLERS]
        entries: list[AsyncEntry] = []
        for slot in slots:
            entry = self._async_call(slot, event_cls)
            if entry is not None:
                entries.append(entry)
        counter = self._count_for(tuple(entry[3] for entry in entries))
        terminal = bool(getattr(event_cls, "terminal", False))
        route: ARoute = (tuple(entries), counter, terminal, self.concurrent and bool(entries))
        routes[event_cls] = route
        return route

    def _count_for(self, slots: tuple[Slot, ...]) -> count[int]:
        counter = count()
        stats = tuple(s.stats for s in slots if not s.nested)
        for st in stats:
            st.track(counter)
        with self._lock:
            self._counted.append((counter, stats))
        return counter

    def _timeout(self, slot: Slot) -> float | None:
        return slot.timeout if slot.timeout is not None else self.default_timeout

    def _background_call(self, slot: Slot, event_cls: type[Event]) -> Callable[[Event], object] | None:
        handler = slot.handler
        batched = callable(getattr(type(handler), "on_batch", None))
        if not batched and plan_for(type(handler), event_cls).sync_name is None:
            return None
        if not _interested(handler, event_cls):
            return None
        return queue_of(handler, slot.stats, self._timeout(slot)).put

    def _sync_call(self, slot: Slot, event_cls: type[Event]) -> Callable[[Event], object] | None:
        handler = slot.handler
        if slot.nested:
            return handler.emit if handler.wants(event_cls) else None  # type: ignore[attr-defined]
        if getattr(handler, "background", False):
            return self._background_call(slot, event_cls)
        plan = plan_for(type(handler), event_cls)
        if plan.sync_name is None or not _interested(handler, event_cls):
            return None
        method = getattr(handler, plan.sync_name)
        if plan.sync_is_coro:
            return from_sync(method, self._timeout(slot), slot)
        return method  # type: ignore[no-any-return]

    def _async_call(self, slot: Slot, event_cls: type[Event]) -> AsyncEntry | None:
        handler = slot.handler
        if slot.nested:
            return (handler.aemit, True, None, slot) if handler.wants(event_cls) else None  # type: ignore[attr-defined]
        if getattr(handler, "background", False):
            call = self._background_call(slot, event_cls)
            return None if call is None else (call, False, None, slot)
        plan = plan_for(type(handler), event_cls)
        if plan.async_name is None or not _interested(handler, event_cls):
            return None
        return (getattr(handler, plan.async_name), plan.async_is_coro, self._timeout(slot), slot)

    # dispatch

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to every handler that takes it, in order, in this thread.

        A handler's exception is logged (rate-limited, with traceback, redacted) and
        counted, and delivery goes on, unless the handler has ``raise_errors`` set or
        the exception is an ``Abort``: those propagate to the caller (for end and error
        events once every handler had the event). ``BaseException``s
        (``KeyboardInterrupt``...) always propagate. Async-only methods run as
        described on ``Callbacks``; background handlers are queued.
        """
        route = self._routes.get(event.__class__)
        if route is None:
            route = self._route(event.__class__)
        if route[0]:
            deliver(route, event)

    async def aemit(self, event: Event) -> None:
        """Deliver ``event`` in async code: async methods are awaited (or gathered
        with ``concurrent=True``), each bounded by its ``timeout``; sync methods are
        called inline. Isolation is as for ``emit``."""
        route = self._aroutes.get(event.__class__)
        if route is None:
            route = self._aroute(event.__class__)
        if route[0]:
            await adeliver(route, event)

    # the seed-000 style: manager.on_llm_start(event) dispatches, and
    # await manager.on_llm_start_async(event) is exactly await manager.aemit(event)
    def on_event(self, event: Event) -> None:
        """Dispatch ``event`` (so ``manager.on_llm_start(event)`` works too)."""
        self.emit(event)

    async def on_event_async(self, event: Event) -> None:
        """Async dispatch of ``event``: the same as ``await aemit(event)``."""
        await self.aemit(event)

    # stats

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per handler: calls, failures, timeouts, dropped, lost and sampled latency (us).

        Keys are handler class names (``#2``, ``#3`` appended for repeats).
        Latency is measured on one dispatch in 16, so it costs almost nothing. For a
        background handler ``calls`` counts events handed to its queue, ``dropped`` those
        its queue discarded when full and ``lost`` those still queued when the process exited.
        """
        out: dict[str, dict[str, Any]] = {}
        for slot in self._slots:
            key, n = slot.name, 1
            while key in out:
                n += 1
                key = f"{slot.name}#{n}"
            snap = slot.stats.snapshot()
            worker = getattr(slot.handler, "_llmhooks_queue", None)
            snap["lost"] = worker.lost if isinstance(worker, BackgroundWorker) else 0
            out[key] = snap
        return out


def _dispatch_aliases() -> None:
    # every on_<event>/on_<event>_async of Callbacks dispatches on a manager, as ai-infra's do
    for event_cls in list(_REGISTRY.values()):
        name = event_cls.handler_method
        if hasattr(Callbacks, name):
            setattr(CallbackManager, name, CallbackManager.on_event)
            setattr(CallbackManager, name + "_async", CallbackManager.on_event_async)


_dispatch_aliases()


def _interested(handler: Callbacks, event_cls: type[Event]) -> bool:
    """The routing protocol (``core/routing.py``): a class-level ``wants`` method is asked."""
    ask = getattr(type(handler), "wants", None)
    if ask is None or not callable(ask):
        return True
    return routing.wants(handler, event_cls)
