"""The dispatch loops: ``deliver`` (sync) and ``adeliver`` (async), one of each.

A route is what a manager worked out for one event type: the handlers' bound methods in
order, the dispatch counter their ``calls`` stats read, and whether the event is terminal.
Terminal events (end and error events) reach every handler: an ``Abort`` or a
``raise_errors`` failure in one of them is raised only once the others had the event. Any
other event stops at the first handler that aborts; the handlers after it are counted as
skipped. One dispatch in ``SAMPLE_EVERY`` times each handler.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any

from llmhooks.core.callbacks import Callbacks
from llmhooks.core.isolation import report_failure, report_timeout
from llmhooks.core.stats import SAMPLE_EVERY, HandlerStats, stats_for
from llmhooks.errors import Abort
from llmhooks.events.base import Event

__all__ = ["ARoute", "AsyncEntry", "Route", "Slot", "SyncEntry", "adeliver", "deliver"]

_MASK = SAMPLE_EVERY - 1


class Slot:
    """A registered handler with what dispatch needs to know about it."""

    __slots__ = ("handler", "name", "nested", "priority", "raise_errors", "seq", "stats", "timeout")

    def __init__(
        self, handler: Callbacks, priority: int, seq: int, timeout: float | None, nested: bool
    ) -> None:
        self.handler = handler
        self.name = type(handler).__name__
        self.priority = priority
        self.seq = seq
        # a nested manager already applied its handlers' policy: what escapes it must propagate
        self.nested = nested
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


SyncEntry = tuple[Callable[[Event], object], Slot]
AsyncEntry = tuple[Callable[[Event], Any], bool, float | None, Slot]
Route = tuple[tuple[SyncEntry, ...], "count[int]", bool]
ARoute = tuple[tuple[AsyncEntry, ...], "count[int]", bool, bool]


def _debit_rest(entries: tuple[Any, ...], slot: Slot) -> None:
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


def _deliver_rest(route: Route, event: Event, failed: Slot, exc: Exception) -> None:
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


async def _adeliver_concurrent(entries: tuple[AsyncEntry, ...], event: Event, terminal: bool) -> None:
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
    call: Callable[[Event], Any], timeout: float | None, slot: Slot, event: Event
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
