"""Delivery for ``EventManager``: one bounded queue, one consumer, honest waits.

``send`` (in ``manager.py``) puts ``(event, subscribers)`` on the queue; when no
delivery is under way it starts one consumer, identified by a *ticket*: a task
on the loop the manager is bound to, or the worker thread. Only the holder of
the current ticket delivers, so order holds even when a consumer is replaced
(a loop that ended with events queued hands them to the worker). The task parks
on a future when the queue is empty instead of ending, because starting a task
per burst costs more than waking one.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import time
import weakref
from collections import deque
from typing import Any

from llmhooks.bus._subscription import Subscription
from llmhooks.core.context import suppress_here
from llmhooks.core.isolation import log_failure
from llmhooks.core.scope import clear_current

__all__ = ["Delivery"]


_get_running_loop = asyncio._get_running_loop
_Item = tuple[Any, tuple[Subscription, ...]]


class Delivery:
    """The queue and its consumers; ``EventManager`` adds subscriptions and ``send``."""

    def __init__(self, maxsize: int) -> None:
        if not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize must be an int >= 1, got {maxsize!r}")
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._queue: deque[_Item] = deque()
        self._offered = 0
        self._delivered = 0
        self._dropped = 0
        self._dropped_seen = 0
        self._failures = 0
        self._active = False  # a consumer holds the current ticket
        self._ticket = 0  # bumped each time a consumer is (re)started
        self._consumer_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._parked: asyncio.Future[int] | None = None
        self._closed = False
        self._worker: threading.Thread | None = None
        self._worker_ticket = 0
        self._wake = threading.Event()
        self._stop = False

    def _has_async_subscribers(self) -> bool:
        """True if some subscriber is ``async`` (the worker then runs a loop)."""
        raise NotImplementedError

    def _report(self, sub: Subscription, event: Any, exc: Exception) -> None:
        """Send the failure report for ``sub`` failing on ``event`` (see ``EventManager``)."""
        raise NotImplementedError

    def _accept(self, event: Any, subs: tuple[Subscription, ...]) -> int:
        """Queue ``event``; the ticket of a consumer to start, or 0 if one is running."""
        with self._lock:
            self._offered += 1
            if self._closed:
                self._dropped += 1
                return 0
            queue = self._queue
            if len(queue) >= self.maxsize:
                try:
                    queue.popleft()
                    self._dropped += 1
                except IndexError:
                    pass
            queue.append((event, subs))
            if self._active:
                return 0
            self._active = True
            self._ticket += 1
            return self._ticket

    def _refuse(self) -> None:
        """Count an event sent after shutdown that had no queue to be refused from."""
        with self._lock:
            self._offered += 1
            self._dropped += 1

    # consumers

    def _kick(self, ticket: int) -> None:
        running = _get_running_loop()
        loop = self._loop
        if running is not None and running is loop:  # the common case: sent on the bound loop
            self._consumer_loop = loop
            self._spawn(ticket)
            return
        if running is not None and (loop is None or loop.is_closed() or not loop.is_running()):
            self._loop = loop = running
        if loop is not None and loop.is_running():
            self._consumer_loop = loop
            if loop is running:
                self._spawn(ticket)
                return
            try:
                loop.call_soon_threadsafe(self._spawn, ticket)
                return
            except RuntimeError:  # closed in the meantime
                pass
        self._consumer_loop = None
        self._start_worker(ticket)

    def _spawn(self, ticket: int) -> None:
        # on the loop's thread: wake the parked consumer task, or start one
        if ticket != self._ticket:
            return
        loop = asyncio.get_running_loop()
        parked = self._parked
        if parked is not None and not parked.done() and parked.get_loop() is loop:
            self._parked = None
            parked.set_result(ticket)
            return
        self._task = loop.create_task(self._run_task(ticket))

    async def _run_task(self, ticket: int) -> None:
        # the task's own context: no caller run, no instrumentation of subscribers' calls
        clear_current()
        suppress_here()
        loop = asyncio.get_running_loop()
        try:
            while await self._adrain(ticket):
                # idle: park until the next send instead of ending (a new task per burst costs more)
                parked = loop.create_future()
                self._parked = parked
                try:
                    ticket = await parked
                except BaseException:
                    if parked.done() and not parked.cancelled():
                        ticket = parked.result()  # woken, then cancelled: the new ticket is ours
                    raise
        except BaseException:  # cancelled with the loop: hand what is left to the worker
            self._parked = None
            self._hand_over(ticket)
            raise

    def _hand_over(self, ticket: int) -> None:
        with self._lock:
            if ticket != self._ticket:
                return
            if not self._queue:
                self._active = False
                return
            self._ticket += 1
            new = self._ticket
        self._consumer_loop = None
        self._start_worker(new)

    def _start_worker(self, ticket: int) -> None:
        self._worker_ticket = ticket
        worker = self._worker
        if worker is None or not worker.is_alive():
            self._stop = False
            worker = threading.Thread(target=self._worker_main, name="llmhooks-bus", daemon=True)
            self._worker = worker
            _live.add(self)
            worker.start()
        self._wake.set()

    def _worker_main(self) -> None:
        suppress_here()
        runner: asyncio.Runner | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                ticket = self._worker_ticket
                if ticket == self._ticket and self._active:
                    if self._has_async_subscribers():
                        if runner is None:
                            runner = asyncio.Runner()
                        runner.run(self._adrain(ticket))
                    else:
                        self._drain(ticket, runner)
                if self._stop:
                    return
        finally:
            if runner is not None:
                runner.close()

    def _next(self, ticket: int) -> _Item | bool:
        """The next item; else True when the queue ran dry (delivery ended) or
        False when another consumer took over."""
        queue = self._queue
        while True:
            if ticket != self._ticket:
                return False
            if queue:
                try:
                    return queue.popleft()
                except IndexError:  # emptied by an overflowing send in the meantime
                    continue
            with self._lock:
                if not queue and ticket == self._ticket:
                    self._active = False
                    return True

    async def _adrain(self, ticket: int) -> bool:
        """Deliver until the queue is empty (True) or another consumer took over (False)."""
        while True:
            item = self._next(ticket)
            if type(item) is bool:
                return item
            event, subs = item
            try:
                for sub in subs:
                    if not sub.active:
                        continue
                    try:
                        if sub.is_async:
                            await sub.fn(event)
                        else:
                            sub.fn(event)
                    except Exception as exc:
                        self._failed(sub, event, exc)
            except BaseException:
                self._dropped += 1  # cut off mid-delivery (cancelled)
                raise
            self._delivered += 1

    def _drain(self, ticket: int, runner: asyncio.Runner | None) -> None:
        while True:
            item = self._next(ticket)
            if type(item) is bool:
                return
            event, subs = item
            for sub in subs:
                if not sub.active:
                    continue
                try:
                    if sub.is_async:  # subscribed while this burst was under way
                        if runner is None:
                            runner = asyncio.Runner()
                        runner.run(sub.fn(event))
                    else:
                        sub.fn(event)
                except Exception as exc:
                    self._failed(sub, event, exc)
            self._delivered += 1

    # failures

    def _failed(self, sub: Subscription, event: Any, exc: Exception) -> None:
        sub.failures += 1
        self._failures += 1
        event_type = str(getattr(event, "type", None) or type(event).__name__)
        self._log(sub.name, event_type, exc)
        self._report(sub, event, exc)

    def _queue_report(self, report: Any, subs: tuple[Subscription, ...]) -> None:
        """Queue a report made while delivering (the running consumer picks it up)."""
        with self._lock:
            self._offered += 1
            # full, or closed with no consumer left to deliver it (a shutdown gave up on the
            # delivery this failure comes from): counted, never left pending
            if len(self._queue) >= self.maxsize or (self._closed and not self._active):
                self._dropped += 1
                return
            self._queue.append((report, subs))

    def _log(self, name: str, event_type: str, exc: BaseException) -> None:
        # the one isolation path: rate-limited per subscriber, with the chain redacted
        log_failure(f"bus subscriber {name}", event_type, exc, (self, name))

    # draining and stopping

    @property
    def dropped(self) -> int:
        """Events not delivered: dropped on overflow, sent after shutdown, or cut off by cancellation."""
        return self._dropped

    @property
    def delivered(self) -> int:
        """Events handed to all their subscribers (whether or not a subscriber failed)."""
        return self._delivered

    @property
    def pending(self) -> int:
        """Events queued and not yet delivered."""
        return len(self._queue)

    @property
    def failures(self) -> int:
        """Subscriber calls that raised."""
        return self._failures

    def stats(self) -> dict[str, int]:
        """``sent``, ``delivered``, ``dropped``, ``pending``, ``failures``."""
        return {
            "sent": self._offered,
            "delivered": self._delivered,
            "dropped": self._dropped,
            "pending": len(self._queue),
            "failures": self._failures,
        }

    def _rescue_if_stuck(self) -> None:
        # the loop that was to deliver stopped or closed: let the worker take over
        loop = self._consumer_loop
        if self._active and loop is not None and (loop.is_closed() or not loop.is_running()):
            with self._lock:
                if not self._active or self._consumer_loop is not loop:
                    return
                self._ticket += 1
                ticket = self._ticket
            self._consumer_loop = None
            self._start_worker(ticket)

    def _verdict(self, drained: bool) -> bool:
        dropped = self._dropped
        clean = dropped == self._dropped_seen
        self._dropped_seen = dropped
        return drained and clean

    async def wait(self, timeout: float | None = 10.0) -> bool:
        """Wait until every event sent before this call was delivered.

        Returns:
            True if all were delivered and none was dropped since the previous
            ``wait``/``flush``; False if events were dropped or ``timeout`` ran out.

        Raises:
            RuntimeError: called from a subscriber of this manager (it would wait for itself).
        """
        target = self._offered
        task = self._task
        if task is not None and task is asyncio.current_task():
            raise RuntimeError("a subscriber cannot wait for its own EventManager: it is the one delivering")
        deadline = None if timeout is None else time.monotonic() + timeout
        spins = 0
        while self._delivered + self._dropped < target:
            self._rescue_if_stuck()
            if deadline is not None and time.monotonic() >= deadline:
                return self._verdict(False)
            spins += 1
            await asyncio.sleep(0 if spins < 64 else 0.001)
        return self._verdict(True)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Sync ``wait``: block until everything sent so far was delivered.

        Raises:
            RuntimeError: called on the thread of the event loop that delivers, or
                from a subscriber (it could never finish); use ``await manager.wait()``
                in async code.
        """
        target = self._offered
        if self._delivered + self._dropped >= target:
            return self._verdict(True)
        if threading.current_thread() is self._worker:
            raise RuntimeError("a subscriber cannot flush its own EventManager: it is the one delivering")
        running = _get_running_loop()
        if running is not None and running is self._consumer_loop:
            raise RuntimeError(
                "EventManager.flush() called on the event loop that delivers its events; "
                "use 'await manager.wait()' in async code"
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._delivered + self._dropped < target:
            self._rescue_if_stuck()
            if deadline is not None and time.monotonic() >= deadline:
                return self._verdict(False)
            time.sleep(0.0005)
        return self._verdict(True)

    def shutdown(self, timeout: float | None = 5.0) -> bool:
        """Stop: refuse new events, deliver what is queued (up to ``timeout``), end the worker.

        Called on the thread of the loop that delivers, it cannot wait: queued
        events are still delivered by that loop; use ``await ashutdown()`` there.

        Returns:
            True if everything sent was delivered.
        """
        with self._lock:
            self._closed = True
        running = _get_running_loop()
        if self._active and running is not None and running is self._consumer_loop:
            ok = False
        else:
            ok = self.flush(timeout) if self._active or self._queue else self._verdict(True)
            with self._lock:
                left = len(self._queue)
                if left:
                    self._queue.clear()
                    self._dropped += left
                    self._ticket += 1
                    self._active = False
                    ok = False
        self._stop = True
        self._wake.set()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=1.0 if timeout is None else max(timeout, 0.1))
        _live.discard(self)
        return ok

    async def ashutdown(self, timeout: float | None = 5.0) -> bool:
        """Async ``shutdown``: waits for delivery on this loop, then stops."""
        with self._lock:
            self._closed = True
        ok = await self.wait(timeout)
        return self.shutdown(timeout=0) and ok


_live: weakref.WeakSet[Delivery] = weakref.WeakSet()


def _at_exit() -> None:
    for manager in list(_live):
        try:
            manager.shutdown(timeout=2.0)
        except Exception:
            pass


atexit.register(_at_exit)
