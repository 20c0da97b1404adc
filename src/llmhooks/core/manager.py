"""``CallbackManager``: delivers events to an ordered set of handlers.

    manager = CallbackManager([LoggingCallbacks(), MetricsCallbacks()])
    manager.emit(event)            # sync code
    await manager.aemit(event)     # async code

Dispatch is a dict lookup and a loop over a tuple of bound methods. Which method
of which handler takes which event type is worked out once per handler class
(``_resolve.plan_for``) and kept per event type in ``_routes``; ``add`` and
``remove`` swap in fresh tables under a lock, so ``emit`` never locks and a
handler added during a dispatch is first called on the next one.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from itertools import count
from typing import Any

from llmhooks.core._resolve import plan_for, validate_handler
from llmhooks.core.background import get_worker
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.stats import (
    SAMPLE_EVERY,
    HandlerStats,
    drain_retired,
    retire_later,
    retire_routes,
    stats_for,
)
from llmhooks.errors import Abort
from llmhooks.events.base import Event

__all__ = ["CallbackManager"]

logger = logging.getLogger("llmhooks")

_HANDLERS = object()  # key under which a routes dict keeps the handler tuple it was built from
_MASK = SAMPLE_EVERY - 1
_LOG_EVERY_S = 10.0


class _Slot:
    """A registered handler with what dispatch needs to know about it."""

    __slots__ = ("handler", "priority", "raise_errors", "seq", "stats", "timeout")

    def __init__(self, handler: Callbacks, priority: int, seq: int, timeout: float | None) -> None:
        self.handler = handler
        self.priority = priority
        self.seq = seq
        # a nested manager already applied its handlers' policy: what escapes it must propagate
        nested = isinstance(handler, CallbackManager)
        self.raise_errors = nested or bool(getattr(handler, "raise_errors", False))
        self.timeout = timeout
        self.stats: HandlerStats = stats_for(handler)


_SyncEntry = tuple[Callable[[Event], object], _Slot]
_AsyncEntry = tuple[Callable[[Event], Any], bool, float | None, _Slot]
_SyncRoute = tuple[tuple[_SyncEntry, ...], "count[int]"]
_AsyncRoute = tuple[tuple[_AsyncEntry, ...], "count[int]"]


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
    """

    def __init__(
        self,
        handlers: Iterable[Callbacks] | None = None,
        *,
        concurrent: bool = False,
        timeout: float | None = None,
    ) -> None:
        self.concurrent = concurrent
        self.default_timeout = timeout
        self._lock = threading.Lock()
        self._seq = count()
        self._slots: tuple[_Slot, ...] = ()
        self._routes: dict[Any, Any] = {_HANDLERS: ()}
        self._aroutes: dict[Any, Any] = {_HANDLERS: ()}
        self._last_logged: dict[tuple[str, str, str], float] = {}
        # (counter, stats) of every route built since the last install: folded into the
        # handlers' stats when the routes are replaced or this manager is collected
        self._counted: list[tuple[count[int], tuple[HandlerStats, ...]]] = []
        # never fold inside garbage collection (it may run while a stats lock is held): queue it
        weakref.finalize(self, retire_later, self._counted)
        self._parents: weakref.WeakSet[CallbackManager] = weakref.WeakSet()
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
        """
        if not isinstance(handler, CallbackManager):
            validate_handler(handler)
        if handler is self:
            raise ValueError("a CallbackManager cannot contain itself")
        with self._lock:
            if any(s.handler is handler for s in self._slots):
                return
            prio = getattr(handler, "priority", 0) if priority is None else priority
            timeout = getattr(handler, "timeout", None)
            slot = _Slot(handler, int(prio or 0), next(self._seq), timeout)
            slots = sorted((*self._slots, slot), key=lambda s: (-s.priority, s.seq))
            parents = getattr(handler, "_parents", None)
            if isinstance(parents, weakref.WeakSet):  # a manager or bus whose interest can change:
                with PARENTS_LOCK:  # join before routing, so no change of interest is missed
                    parents.add(self)
            self._install(tuple(slots))
        self._refresh_parents()

    def remove(self, handler: Callbacks) -> bool:
        """Remove ``handler``; returns False if it was not there. Thread-safe."""
        with self._lock:
            slots = tuple(s for s in self._slots if s.handler is not handler)
            if len(slots) == len(self._slots):
                return False
            self._install(slots)
        parents = getattr(handler, "_parents", None)
        if isinstance(parents, weakref.WeakSet):
            with PARENTS_LOCK:
                parents.discard(self)
        self._refresh_parents()
        return True

    def clear(self) -> None:
        """Remove every handler."""
        with self._lock:
            self._install(())
        self._refresh_parents()

    def set_handlers(self, handlers: Iterable[Callbacks]) -> None:
        """Replace all handlers at once."""
        new = list(handlers)
        for h in new:
            if not isinstance(h, CallbackManager):
                validate_handler(h)
        with self._lock:
            self._install(())
        for h in new:
            self.add(h)

    def _install(self, slots: tuple[_Slot, ...]) -> None:
        # new dicts, never mutated in place: emit() reads them without the lock
        self._slots = slots
        self._routes = {_HANDLERS: slots}
        self._aroutes = {_HANDLERS: slots}
        retire_routes(self._counted)
        drain_retired()

    def _refresh_parents(self) -> None:
        # managers nesting this one routed by what it wanted: let them route again
        for parent in parents_of(self):
            parent.reroute()

    def reroute(self) -> None:
        """Route events again: a handler's ``wants`` answers changed (a bus got subscribers)."""
        with self._lock:
            self._install(self._slots)
        self._refresh_parents()

    def __contains__(self, handler: object) -> bool:
        return any(s.handler is handler for s in self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        names = ", ".join(type(s.handler).__name__ for s in self._slots)
        return f"CallbackManager([{names}])"

    # routing

    def wants(self, event_cls: type[Event]) -> bool:
        """True if some handler takes ``event_cls``: check before building an event."""
        route = self._routes.get(event_cls)
        if route is None:
            route = self._route(event_cls)
        return bool(route[0])

    def _route(self, event_cls: type[Event]) -> _SyncRoute:
        routes = self._routes
        slots: tuple[_Slot, ...] = routes[_HANDLERS]
        entries: list[_SyncEntry] = []
        for slot in slots:
            call = self._sync_call(slot, event_cls)
            if call is not None:
                entries.append((call, slot))
        counter = self._count_for(tuple(slot for _, slot in entries))
        route: _SyncRoute = (tuple(entries), counter)
        routes[event_cls] = route
        return route

    def _aroute(self, event_cls: type[Event]) -> _AsyncRoute:
        routes = self._aroutes
        slots: tuple[_Slot, ...] = routes[_HANDLERS]
        entries: list[_AsyncEntry] = []
        for slot in slots:
            entry = self._async_call(slot, event_cls)
            if entry is not None:
                entries.append(entry)
        counter = self._count_for(tuple(entry[3] for entry in entries))
        route: _AsyncRoute = (tuple(entries), counter)
        routes[event_cls] = route
        return route

    def _count_for(self, slots: tuple[_Slot, ...]) -> count[int]:
        counter = count()
        stats = tuple(s.stats for s in slots if not isinstance(s.handler, CallbackManager))
        for st in stats:
            st.track(counter)
        with self._lock:
            self._counted.append((counter, stats))
        return counter

    def _sync_call(self, slot: _Slot, event_cls: type[Event]) -> Callable[[Event], object] | None:
        handler = slot.handler
        if isinstance(handler, CallbackManager):
            return handler.emit if handler.wants(event_cls) else None
        plan = plan_for(type(handler), event_cls)
        if plan.sync_name is None or not _interested(handler, event_cls):
            return None
        method = getattr(handler, plan.sync_name)
        timeout = slot.timeout if slot.timeout is not None else self.default_timeout
        call: Callable[[Event], object]
        if plan.sync_is_coro:
            call = functools.partial(self._run_async_from_sync, method, timeout, slot)
        else:
            call = method
        if getattr(handler, "background", False):
            call = functools.partial(self._submit_background, call, slot)
        return call

    def _async_call(self, slot: _Slot, event_cls: type[Event]) -> _AsyncEntry | None:
        handler = slot.handler
        if isinstance(handler, CallbackManager):
            return (handler.aemit, True, None, slot) if handler.wants(event_cls) else None
        if getattr(handler, "background", False):
            call = self._sync_call(slot, event_cls)
            return None if call is None else (call, False, None, slot)
        plan = plan_for(type(handler), event_cls)
        if plan.async_name is None or not _interested(handler, event_cls):
            return None
        timeout = slot.timeout if slot.timeout is not None else self.default_timeout
        return (getattr(handler, plan.async_name), plan.async_is_coro, timeout, slot)

    def _run_async_from_sync(
        self, method: Callable[[Event], Any], timeout: float | None, slot: _Slot, event: Event
    ) -> None:
        from llmhooks.core._aio import run_coroutine_from_sync

        def on_error(exc: BaseException) -> None:
            self._failed(slot, event, exc)

        try:
            run_coroutine_from_sync(method(event), timeout, on_error)
        except TimeoutError:
            self._timed_out(slot, event, timeout)

    def _submit_background(self, call: Callable[[Event], object], slot: _Slot, event: Event) -> None:
        get_worker().submit(call, event, slot.stats, functools.partial(self._background_failed, slot))

    def _background_failed(self, slot: _Slot, exc: BaseException, event: Event) -> None:
        if isinstance(exc, TimeoutError):
            self._timed_out(slot, event, slot.timeout)
        else:
            self._failed(slot, event, exc)

    # dispatch

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to every handler that takes it, in order, in this thread.

        A handler's exception is logged (rate-limited, with traceback) and counted,
        and delivery goes on, unless the handler has ``raise_errors`` set or the
        exception is an ``Abort``: those propagate to the caller at once.
        ``BaseException``s (``KeyboardInterrupt``...) always propagate. Async-only
        methods run as described on ``Callbacks``; background handlers are queued.
        """
        route = self._routes.get(event.__class__)
        if route is None:
            route = self._route(event.__class__)
        entries, counter = route
        if not entries:
            return
        if next(counter) & _MASK:
            for call, slot in entries:
                try:
                    call(event)
                except Abort:
                    raise
                except Exception as exc:
                    if self._failed(slot, event, exc):
                        raise
        else:
            self._emit_sampled(entries, event)

    def _emit_sampled(self, entries: tuple[_SyncEntry, ...], event: Event) -> None:
        clock = time.perf_counter
        for call, slot in entries:
            t0 = clock()
            try:
                call(event)
            except Abort:
                raise
            except Exception as exc:
                if self._failed(slot, event, exc):
                    raise
            finally:
                slot.stats.add_sample(clock() - t0)

    async def aemit(self, event: Event) -> None:
        """Deliver ``event`` in async code: async methods are awaited (or gathered
        with ``concurrent=True``), each bounded by its ``timeout``; sync methods are
        called inline. Isolation is as for ``emit``."""
        route = self._aroutes.get(event.__class__)
        if route is None:
            route = self._aroute(event.__class__)
        entries, counter = route
        if not entries:
            return
        sampled = not (next(counter) & _MASK)
        if self.concurrent:
            await self._aemit_concurrent(entries, event)
            return
        clock = time.perf_counter
        for call, is_coro, timeout, slot in entries:
            t0 = clock() if sampled else 0.0
            try:
                if is_coro:
                    if timeout is None:
                        await call(event)
                    else:
                        import asyncio  # already loaded: we are running in its loop

                        await asyncio.wait_for(call(event), timeout)
                else:
                    call(event)
            except Abort:
                raise
            except TimeoutError:
                if timeout is None:
                    if self._failed(slot, event, TimeoutError()):
                        raise
                else:
                    self._timed_out(slot, event, timeout)
            except Exception as exc:
                if self._failed(slot, event, exc):
                    raise
            if sampled:
                slot.stats.add_sample(clock() - t0)

    async def _aemit_concurrent(self, entries: tuple[_AsyncEntry, ...], event: Event) -> None:
        import asyncio

        waits: list[Awaitable[None]] = []
        for call, is_coro, timeout, slot in entries:
            if is_coro:
                waits.append(self._guarded(call, timeout, slot, event))
                continue
            try:
                call(event)
            except Abort:
                raise
            except Exception as exc:
                if self._failed(slot, event, exc):
                    raise
        if waits:
            await asyncio.gather(*waits)

    async def _guarded(
        self, call: Callable[[Event], Any], timeout: float | None, slot: _Slot, event: Event
    ) -> None:
        try:
            if timeout is None:
                await call(event)
            else:
                import asyncio

                await asyncio.wait_for(call(event), timeout)
        except Abort:
            raise
        except TimeoutError:
            if timeout is not None:
                self._timed_out(slot, event, timeout)
            elif self._failed(slot, event, TimeoutError()):
                raise
        except Exception as exc:
            if self._failed(slot, event, exc):
                raise

    # the seed-000 style: manager.on_llm_start(event) dispatches
    def on_event(self, event: Event) -> None:
        """Dispatch ``event`` (so ``manager.on_llm_start(event)`` works too)."""
        self.emit(event)

    # failures

    def _failed(self, slot: _Slot, event: Event, exc: BaseException) -> bool:
        """Count and log a handler failure; True if the caller must re-raise it."""
        if isinstance(slot.handler, CallbackManager):
            return True  # the nested manager counted and logged it, and chose to let it out
        slot.stats.add_failure()
        if slot.raise_errors:
            return True
        self._log(slot, event, "llmhooks handler %s failed on %s event", exc_info=exc)
        return False

    def _timed_out(self, slot: _Slot, event: Event, timeout: float | None) -> None:
        slot.stats.add_timeout()
        self._log(slot, event, "llmhooks handler %s timed out after %ss on %s event", timeout=timeout)

    def _log(
        self,
        slot: _Slot,
        event: Event,
        msg: str,
        *,
        exc_info: BaseException | None = None,
        timeout: float | None = None,
    ) -> None:
        try:
            key = (type(slot.handler).__name__, event.type, type(exc_info).__name__)
            now = time.monotonic()
            last = self._last_logged.get(key)
            if last is not None and now - last < _LOG_EVERY_S:
                return  # the same failure again: counted, not logged again so soon
            self._last_logged[key] = now
            name = type(slot.handler).__name__
            if exc_info is not None:
                logger.error(msg, name, event.type, exc_info=exc_info)
            else:
                logger.warning(msg, name, timeout, event.type)
        except Exception:  # logging must never break the observed program
            pass

    # stats

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per handler: calls, failures, timeouts, dropped and sampled latency (us).

        Keys are handler class names (``#2``, ``#3`` appended for repeats).
        Latency is measured on one dispatch in 16, so it costs almost nothing.
        """
        out: dict[str, dict[str, Any]] = {}
        for slot in self._slots:
            name = type(slot.handler).__name__
            key, n = name, 1
            while key in out:
                n += 1
                key = f"{name}#{n}"
            out[key] = slot.stats.snapshot()
        return out


PARENTS_LOCK = threading.Lock()  # guards every ``_parents`` WeakSet: joined and read from many threads


def parents_of(child: Any) -> list[CallbackManager]:
    """The managers that route to ``child`` (a manager or a bus), snapshot under the lock."""
    with PARENTS_LOCK:
        return list(child._parents)


def _interested(handler: Callbacks, event_cls: type[Event]) -> bool:
    """Ask a handler that speaks the routing protocol whether it takes ``event_cls``.

    The protocol (``EventManager`` speaks it): a ``_llmhooks_wants(event_cls)`` method,
    asked once per route, and a ``_parents`` WeakSet that managers join and whose
    ``reroute()`` the handler calls when its answers change. Any failure means "wants".
    """
    wants = getattr(handler, "_llmhooks_wants", None)
    if wants is None:
        return True
    try:
        return bool(wants(event_cls))
    except Exception:
        return True
