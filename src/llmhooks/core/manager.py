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
``deliver``/``adeliver``, the same loops ``emit``/``aemit`` use.

Terminal events (``terminal = True`` on the class: end and error events) reach every
handler: an ``Abort`` or a ``raise_errors`` failure in one of them is raised only once
the others had the event. Any other event stops at the first handler that aborts.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from itertools import count
from typing import Any

from llmhooks._validate import check_bool, check_number
from llmhooks.core import routing
from llmhooks.core._forksafe import fork_safe_lock
from llmhooks.core._resolve import plan_for, validate_handler
from llmhooks.core.background import BackgroundWorker, default_settings
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.isolation import report_failure, report_timeout
from llmhooks.core.stats import (
    SAMPLE_EVERY,
    HandlerStats,
    drain_retired,
    retire_later,
    retire_routes,
    stats_for,
)
from llmhooks.errors import Abort
from llmhooks.events.base import _REGISTRY, Event

__all__ = ["CallbackManager", "adeliver", "deliver"]

_HANDLERS = object()  # key under which a routes dict keeps the handler tuple it was built from
_MASK = SAMPLE_EVERY - 1
_BATCH = 64  # events a background worker hands over at once (on_batch handlers: their own size)


class _Slot:
    """A registered handler with what dispatch needs to know about it."""

    __slots__ = ("handler", "name", "nested", "priority", "raise_errors", "seq", "stats", "timeout")

    def __init__(self, handler: Callbacks, priority: int, seq: int, timeout: float | None) -> None:
        self.handler = handler
        self.name = type(handler).__name__
        self.priority = priority
        self.seq = seq
        # a nested manager already applied its handlers' policy: what escapes it must propagate
        self.nested = isinstance(handler, CallbackManager)
        self.raise_errors = self.nested or bool(getattr(handler, "raise_errors", False))
        self.timeout = timeout
        self.stats: HandlerStats = stats_for(handler)

    def failed(self, event: Event, exc: BaseException) -> bool:
        """Count and log a failure; True if the caller must see it (raise_errors, nested)."""
        if self.nested:
            return True  # the nested manager counted and logged it, and chose to let it out
        report_failure(self.name, self.stats, event, exc)
        return self.raise_errors

    def timed_out(self, event: Event, timeout: float | None) -> None:
        report_timeout(self.name, self.stats, event, timeout)


_SyncEntry = tuple[Callable[[Event], object], _Slot]
_AsyncEntry = tuple[Callable[[Event], Any], bool, float | None, _Slot]
Route = tuple[tuple[_SyncEntry, ...], "count[int]", bool]
ARoute = tuple[tuple[_AsyncEntry, ...], "count[int]", bool, bool]


def _debit_rest(entries: tuple[Any, ...], slot: _Slot) -> None:
    # a dispatch cut short: handlers after ``slot`` were counted by the route but never called
    after = False
    for entry in entries:
        if after:
            entry[-1].stats.add_skipped()
        elif entry[-1] is slot:
            after = True


def deliver(route: Route, event: Event) -> None:
    """Deliver ``event`` along ``route``: the one sync dispatch loop (see the module docstring)."""
    entries = route[0]
    if next(route[1]) & _MASK:
        for call, slot in entries:
            try:
                call(event)
            except Exception as exc:  # cold: isolate, then go on with the handlers after this one
                _deliver_rest(route, event, slot, exc)
                return
        return
    _deliver_sampled(route, event)


def _deliver_rest(route: Route, event: Event, failed: _Slot, exc: Exception) -> None:
    """A handler raised during ``deliver``: apply the isolation rules, finish the delivery."""
    entries, _counter, terminal = route
    escaped: BaseException | None = None
    after = False
    for call, slot in entries:
        if not after:
            after = slot is failed
            if not after:
                continue
            error: BaseException | None = exc
        else:
            try:
                call(event)
                continue
            except Exception as later:
                error = later
        if isinstance(error, Abort) or slot.failed(event, error):  # type: ignore[arg-type]
            if not terminal:
                _debit_rest(entries, slot)
                raise error  # type: ignore[misc]
            escaped = escaped or error
    if escaped is not None:
        raise escaped


def _deliver_sampled(route: Route, event: Event) -> None:
    """``deliver`` on one dispatch in ``SAMPLE_EVERY``: the same, timing each handler."""
    entries, _counter, terminal = route
    clock = time.perf_counter
    escaped: BaseException | None = None
    for call, slot in entries:
        t0 = clock()
        try:
            call(event)
        except Abort as exc:
            if not terminal:
                _debit_rest(entries, slot)
                raise
            escaped = escaped or exc
        except Exception as exc:
            if slot.failed(event, exc):
                if not terminal:
                    _debit_rest(entries, slot)
                    raise
                escaped = escaped or exc
        slot.stats.add_sample(clock() - t0)
    if escaped is not None:
        raise escaped


async def adeliver(route: ARoute, event: Event) -> None:
    """Deliver ``event`` along an async route: async methods awaited (or gathered), each
    bounded by its timeout; sync methods called inline. Isolation as for ``deliver``."""
    entries, counter, terminal, concurrent = route
    sampled = not (next(counter) & _MASK)
    if concurrent:
        await _adeliver_concurrent(entries, event, terminal)
        return
    clock = time.perf_counter
    escaped: BaseException | None = None
    for call, is_coro, timeout, slot in entries:
        t0 = clock() if sampled else 0.0
        try:
            if is_coro:
                if timeout is None:
                    await call(event)
                else:
                    import asyncio  # loaded already: we run in its loop

                    await asyncio.wait_for(call(event), timeout)
            else:
                call(event)
        except Abort as exc:
            if not terminal:
                _debit_rest(entries, slot)
                raise
            escaped = escaped or exc
        except TimeoutError as exc:
            if timeout is not None:
                slot.timed_out(event, timeout)
            elif slot.failed(event, exc):
                if not terminal:
                    _debit_rest(entries, slot)
                    raise
                escaped = escaped or exc
        except Exception as exc:
            if slot.failed(event, exc):
                if not terminal:
                    _debit_rest(entries, slot)
                    raise
                escaped = escaped or exc
        if sampled:
            slot.stats.add_sample(clock() - t0)
    if escaped is not None:
        raise escaped


async def _adeliver_concurrent(entries: tuple[_AsyncEntry, ...], event: Event, terminal: bool) -> None:
    """Sync methods called in order, async ones gathered. A sync handler that stops a
    non-terminal dispatch stops it as in order: the handlers before it still get the event
    (their awaits are gathered), the ones after it never do (counted as skipped)."""
    import asyncio

    waits: list[Awaitable[BaseException | None]] = []
    escaped: BaseException | None = None
    for call, is_coro, timeout, slot in entries:
        if is_coro:
            waits.append(_guarded(call, timeout, slot, event))
            continue
        try:
            call(event)
        except Exception as exc:
            if isinstance(exc, Abort) or slot.failed(event, exc):
                if not terminal:
                    if waits:
                        await asyncio.gather(*waits)
                    _debit_rest(entries, slot)
                    raise
                escaped = escaped or exc
    if waits:
        for outcome in await asyncio.gather(*waits):
            escaped = escaped or outcome
    if escaped is not None:
        raise escaped


async def _guarded(
    call: Callable[[Event], Any], timeout: float | None, slot: _Slot, event: Event
) -> BaseException | None:
    """Await one handler for a concurrent delivery; the exception that must escape, if any."""
    try:
        if timeout is None:
            await call(event)
        else:
            import asyncio

            await asyncio.wait_for(call(event), timeout)
    except Abort as exc:
        return exc
    except TimeoutError as exc:
        if timeout is not None:
            slot.timed_out(event, timeout)
        elif slot.failed(event, exc):
            return exc
    except Exception as exc:
        if slot.failed(event, exc):
            return exc
    return None


class _BackgroundDelivery:
    """Feeds one background handler from its own worker: the events it takes, or batches of them."""

    __slots__ = ("calls", "handler", "name", "stats", "timeout")

    def __init__(self, handler: Callbacks, stats: HandlerStats, timeout: float | None) -> None:
        self.handler = handler
        self.name = type(handler).__name__
        self.stats = stats
        self.timeout = timeout
        self.calls: dict[type, Callable[[Event], object] | None] = {}

    def _call_for(self, event_cls: type[Event]) -> Callable[[Event], object] | None:
        call = self.calls.get(event_cls, _UNSET)
        if call is _UNSET:
            plan = plan_for(type(self.handler), event_cls)
            call = None
            if plan.sync_name is not None:
                method = getattr(self.handler, plan.sync_name)
                call = _from_sync(method, self.timeout, self) if plan.sync_is_coro else method
            self.calls[event_cls] = call
        return call  # type: ignore[no-any-return]

    def each(self, batch: list[Event]) -> None:
        for event in batch:
            call = self._call_for(type(event))
            if call is None:
                continue
            try:
                call(event)
            except TimeoutError:
                report_timeout(self.name, self.stats, event, self.timeout)
            except Exception as exc:  # Abort too: nothing to stop once it is queued
                report_failure(self.name, self.stats, event, exc)

    def batches(self, batch: list[Event]) -> None:
        try:
            self.handler.on_batch(batch)  # type: ignore[attr-defined]
        except Exception as exc:
            report_failure(self.name, self.stats, batch[0] if batch else None, exc)

    def dropped(self, item: Any) -> None:
        self.stats.add_dropped()


_UNSET: Any = object()


def _from_sync(
    method: Callable[[Event], Any], timeout: float | None, owner: _BackgroundDelivery | _Slot
) -> Callable[[Event], None]:
    """An ``async def`` handler method made callable from sync code (see ``Callbacks``)."""
    from llmhooks.core._aio import run_coroutine_from_sync

    def call(event: Event) -> None:
        def on_error(exc: BaseException) -> None:
            if isinstance(exc, TimeoutError):
                report_timeout(owner.name, owner.stats, event, timeout)
            else:
                report_failure(owner.name, owner.stats, event, exc)

        try:
            run_coroutine_from_sync(method(event), timeout, on_error)
        except TimeoutError:  # ran inline on the thread's own loop and took too long
            report_timeout(owner.name, owner.stats, event, timeout)

    return call


_queue_lock = fork_safe_lock()


def _queue_of(handler: Callbacks, stats: HandlerStats, timeout: float | None) -> BackgroundWorker:
    """The one background queue of ``handler``, shared by every manager it is in."""
    worker = getattr(handler, "_llmhooks_queue", None)
    if isinstance(worker, BackgroundWorker):
        return worker
    with _queue_lock:
        worker = getattr(handler, "_llmhooks_queue", None)
        if isinstance(worker, BackgroundWorker):
            return worker
        maxsize, policy = default_settings()
        size = getattr(handler, "background_queue_size", None)
        overflow = getattr(handler, "background_overflow", None)
        delivery = _BackgroundDelivery(handler, stats, timeout)
        batched = callable(getattr(type(handler), "on_batch", None))
        worker = BackgroundWorker(
            maxsize=size if size is not None else maxsize,
            policy=overflow if overflow is not None else policy,
            deliver=delivery.batches if batched else delivery.each,
            batch_size=getattr(handler, "background_batch_size", None) or (512 if batched else _BATCH),
            on_drop=delivery.dropped,
            label=delivery.name,
        )
        try:
            object.__setattr__(handler, "_llmhooks_queue", worker)
        except AttributeError:  # __slots__ without room for it: one queue per registration
            pass
    return worker


def _check_background(handler: Callbacks) -> None:
    from llmhooks._validate import check_choice, check_int
    from llmhooks.core.background import POLICIES

    check_int(
        "background_queue_size", getattr(handler, "background_queue_size", None), minimum=1, allow_none=True
    )
    check_int(
        "background_batch_size", getattr(handler, "background_batch_size", None), minimum=1, allow_none=True
    )
    overflow = getattr(handler, "background_overflow", None)
    if overflow is not None:
        check_choice("background_overflow", overflow, POLICIES)


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
        self._slots: tuple[_Slot, ...] = ()
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
            _check_background(handler)
            from llmhooks.core.exits import watch_exits

            watch_exits()  # signal hooks can only be set from the main thread: try now
        with self._lock:
            if any(s.handler is handler for s in self._slots):
                return
            slot = _Slot(handler, int(prio or 0), next(self._seq), timeout)
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

    def _install(self, slots: tuple[_Slot, ...]) -> None:
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
        slots: tuple[_Slot, ...] = routes[_HANDLERS]
        entries: list[_SyncEntry] = []
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
        slots: tuple[_Slot, ...] = routes[_HANDLERS]
        entries: list[_AsyncEntry] = []
        for slot in slots:
            entry = self._async_call(slot, event_cls)
            if entry is not None:
                entries.append(entry)
        counter = self._count_for(tuple(entry[3] for entry in entries))
        terminal = bool(getattr(event_cls, "terminal", False))
        route: ARoute = (tuple(entries), counter, terminal, self.concurrent and bool(entries))
        routes[event_cls] = route
        return route

    def _count_for(self, slots: tuple[_Slot, ...]) -> count[int]:
        counter = count()
        stats = tuple(s.stats for s in slots if not s.nested)
        for st in stats:
            st.track(counter)
        with self._lock:
            self._counted.append((counter, stats))
        return counter

    def _timeout(self, slot: _Slot) -> float | None:
        return slot.timeout if slot.timeout is not None else self.default_timeout

    def _background_call(self, slot: _Slot, event_cls: type[Event]) -> Callable[[Event], object] | None:
        handler = slot.handler
        batched = callable(getattr(type(handler), "on_batch", None))
        if not batched and plan_for(type(handler), event_cls).sync_name is None:
            return None
        if not _interested(handler, event_cls):
            return None
        return _queue_of(handler, slot.stats, self._timeout(slot)).put

    def _sync_call(self, slot: _Slot, event_cls: type[Event]) -> Callable[[Event], object] | None:
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
            return _from_sync(method, self._timeout(slot), slot)
        return method  # type: ignore[no-any-return]

    def _async_call(self, slot: _Slot, event_cls: type[Event]) -> _AsyncEntry | None:
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
