"""Background delivery: bounded queues, each drained by its own daemon thread.

Every handler with ``background = True`` gets a queue and a worker of its own, so a
slow handler never costs another its events or its latency. The caller only appends
to a ``deque``. Waking a thread costs the caller microseconds, so a worker does not
wait to be woken while traffic flows: after draining it naps (``_NAP`` seconds) and
looks again, and only after ``_NAPS_BEFORE_SLEEP`` empty naps does it sleep until a
producer wakes it. Delivery latency is therefore at most one nap under steady traffic.

When a queue is full its overflow policy decides: ``"drop_oldest"`` (default) discards
the oldest waiting item, ``"drop_newest"`` the one being added, and ``"block"`` makes
the producer wait for room. Drops are counted (``dropped``, and in the handler's
stats). ``flush(timeout)`` waits until everything submitted so far was delivered; the
exits a service actually takes flush too (``core/exits.py``: interpreter exit,
SIGTERM, SIGHUP, multiprocessing children), and whatever could not be delivered is
counted and reported. A worker sets ``suppress_instrumentation``, so calls a handler
makes (to Redis, an exporter, an instrumented SDK) emit no events of their own.

When the exit flush gives up, each worker is ``abandon``-ed: it hands ``deliver`` no
further item, and ``undelivered()`` says exactly how many items never reached it. The
batch ``deliver`` gets is a list that records how far its iteration got, so an item
counts as delivered once ``deliver`` moved past it (or returned), never while the call
for it may still be running.

    worker = BackgroundWorker(deliver=write_batch, batch_size=256, name="recorder")
    worker.put(event)
    worker.flush(timeout=5.0)   # True when everything was delivered
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any, Literal

from llmhooks._validate import check_choice, check_int, check_number
from llmhooks.core.stats import HandlerStats, _count_value

__all__ = [
    "BackgroundWorker",
    "Policy",
    "configure_background",
    "default_settings",
    "flush",
    "get_worker",
    "live_workers",
]

Policy = Literal["drop_oldest", "drop_newest", "block"]
POLICIES: tuple[Policy, ...] = ("drop_oldest", "drop_newest", "block")
_NAP = 0.005
_NAPS_BEFORE_SLEEP = 200  # about a second of quiet
_WAKE_AT = 256  # a backlog this long wakes a napping worker at once

_Submitted = tuple[Callable[[Any], object], Any, HandlerStats, Callable[[BaseException, Any], None]]


def _call_each(batch: list[_Submitted]) -> None:
    """The default delivery: each item is ``(call, event, stats, on_error)`` from ``submit``."""
    for call, event, _stats, on_error in batch:
        try:
            call(event)
        except BaseException as exc:
            try:
                on_error(exc, event)
            except Exception:
                pass


def _count_submitted_drop(item: _Submitted) -> None:
    item[2].add_dropped()


class _Batch(list[Any]):
    """The list handed to ``deliver``: while it is being delivered, iterating it records
    how many items ``deliver`` finished with, and stops once the worker is abandoned.

    That is what makes the loss report at exit exact for a ``deliver`` that takes its
    items one by one (the manager's handler calls): an item counts as delivered when the
    loop asks for the next one. Outside its delivery it is an ordinary list.
    """

    __slots__ = ("done", "live", "stopped", "worker")

    def __init__(self, worker: BackgroundWorker) -> None:
        super().__init__()
        self.worker = worker
        self.done = 0  # items ``deliver`` iterated past: finished with
        self.live = True  # being delivered right now
        self.stopped = False  # iteration cut short: the worker was abandoned

    def __iter__(self) -> Any:
        return self._tracked() if self.live else list.__iter__(self)

    def _tracked(self) -> Any:
        worker = self.worker
        for done, item in enumerate(list.__iter__(self), 1):
            if worker._abandoned:
                self.stopped = True
                return
            yield item
            if done > self.done:  # a second pass over the batch does not count twice
                self.done = done

    def __reduce__(self) -> Any:  # pickled or copied: a plain list of the items
        return (list, (list(list.__iter__(self)),))


class BackgroundWorker:
    """A bounded queue and the daemon thread that drains it.

    Args:
        maxsize: most items waiting at once (>= 1).
        policy: ``"drop_oldest"``, ``"drop_newest"`` or ``"block"``, applied when full.
        deliver: called in the worker thread with a list of up to ``batch_size``
            items, in order. Without it, items are ``submit``-ed calls.
        batch_size: most items handed to ``deliver`` at once (>= 1).
        name: the worker thread's name.
        label: what reports call this queue (default: the ``name`` of the object whose
            method ``deliver`` is, if it has one, else ``name``).
        on_drop: called with each item discarded on overflow.

    A ``deliver`` that raises loses only that batch: the exception is passed to
    ``on_error`` (if given) and the worker goes on. Thread-safe for any number of producers.
    """

    def __init__(
        self,
        maxsize: int = 10_000,
        policy: Policy = "drop_oldest",
        *,
        deliver: Callable[[list[Any]], object] | None = None,
        batch_size: int = 1,
        name: str = "llmhooks-background",
        label: str | None = None,
        on_drop: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException, list[Any]], None] | None = None,
    ) -> None:
        self.maxsize: int = check_int("maxsize", maxsize, minimum=1)
        self.policy: Policy = check_choice("policy", policy, POLICIES)
        self.batch_size: int = check_int("batch_size", batch_size, minimum=1)
        self.name = name
        owner_name = getattr(getattr(deliver, "__self__", None), "name", None)
        self.label: str = label or (owner_name if isinstance(owner_name, str) else name)
        self._deliver: Callable[[list[Any]], object] = deliver if deliver is not None else _call_each
        self._on_drop = on_drop if deliver is not None else _count_submitted_drop
        self._on_error = on_error
        self._queue: deque[Any] = deque()
        self._reset()
        _live.add(self)

    def _reset(self) -> None:
        """Counters, locks and thread state: at construction, and in a forked child."""
        self._submitted = count()
        self._dropped = count()
        self._delivered = 0  # written by the drainer only, under _accounts
        self._batch: _Batch | None = None  # the batch being delivered
        self.lost = 0  # left undelivered when the process exited (see core/exits.py)
        self._wake = threading.Event()
        self._idle = True
        self._progress = threading.Condition()
        self._waiters = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._abandoned = False
        self._start_lock = threading.Lock()
        # reentrant: a signal handler flushing on the main thread may interrupt a drain there
        self._drain_lock = threading.RLock()
        self._accounts = threading.Lock()

    @property
    def dropped(self) -> int:
        """Items discarded because the queue was full."""
        return _count_value(self._dropped)

    @property
    def delivered(self) -> int:
        """Items handed to ``deliver`` (whether or not it raised)."""
        return self._delivered

    @property
    def submitted(self) -> int:
        """Items offered to the queue, dropped ones included."""
        return _count_value(self._submitted)

    @property
    def pending(self) -> int:
        """Items submitted and not yet delivered or dropped."""
        return max(0, self.submitted - self._delivered - self.dropped)

    def put(self, item: Any) -> None:
        """Queue ``item``; never blocks unless the policy is ``"block"`` and the queue is full."""
        queue = self._queue
        if len(queue) >= self.maxsize:
            policy = self.policy
            if policy == "drop_newest":
                next(self._submitted)
                self._dropped_one(item)
                return
            if policy == "block":
                self._wait_for_room()
            else:
                try:
                    old = queue.popleft()
                except IndexError:
                    pass
                else:
                    self._dropped_one(old)
        # counted before it is queued: a flush begun after this put returned waits for it
        next(self._submitted)
        queue.append(item)
        if self._idle or len(queue) == _WAKE_AT:
            if self._thread is None:
                self._start()
            self._wake.set()

    def submit(
        self,
        call: Callable[[Any], object],
        event: Any,
        stats: HandlerStats,
        on_error: Callable[[BaseException, Any], None],
    ) -> None:
        """Queue ``call(event)``; a drop is counted in ``stats``, a failure goes to ``on_error``."""
        self.put((call, event, stats, on_error))

    def _wait_for_room(self) -> None:
        if self._thread is None:
            self._start()
        queue = self._queue
        if threading.current_thread() is self._thread:
            return  # the worker itself producing (a handler emitting): never wait for ourselves
        with self._progress:
            self._waiters += 1
            try:
                while len(queue) >= self.maxsize and not self._stopping:
                    self._wake.set()
                    self._progress.wait(0.05)
            finally:
                self._waiters -= 1

    def _dropped_one(self, item: Any) -> None:
        next(self._dropped)
        on_drop = self._on_drop
        if on_drop is not None:
            try:
                on_drop(item)
            except Exception:
                pass
        self._notify_progress()

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until everything submitted before this call is delivered or dropped.

        Returns:
            True if it was, False if ``timeout`` ran out first (or the worker was abandoned).
        """
        return self.wait_for(self.submitted, None if timeout is None else time.monotonic() + timeout)

    def _settled(self, target: int) -> bool:
        if self._delivered + self.dropped >= target:
            return True
        # or nothing is left: an item counted but never queued (its producer was interrupted
        # by a signal whose handler is flushing) must not keep us waiting until the deadline
        return not self._queue and self._batch is None

    def wait_for(self, target: int, deadline: float | None) -> bool:
        """Wait until ``target`` items were delivered or dropped, or ``deadline`` (monotonic) passes."""
        if threading.current_thread() is self._thread:
            return self._settled(target)  # a handler flushing itself: no wait
        with self._progress:
            self._waiters += 1
            try:
                while not self._settled(target):
                    if self._abandoned:
                        return False  # the exit flush gave up on this worker: nothing more comes
                    thread = self._thread
                    if thread is None or not thread.is_alive():
                        self._drain(deadline)  # no worker (it died, or never started): deliver here
                        if deadline is not None and time.monotonic() >= deadline:
                            return self._settled(target)
                        continue
                    self._wake.set()
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._progress.wait(0.05 if remaining is None else min(remaining, 0.05))
            finally:
                self._waiters -= 1
        return True

    def shutdown(self, timeout: float | None = 5.0) -> bool:
        """Flush, then stop the worker thread. Returns what ``flush`` returned."""
        done = self.flush(timeout)
        self._stopping = True
        self._wake.set()
        return done

    # giving up at exit (core/exits.py)

    def abandon(self) -> None:
        """Stop for good: no further item is handed to ``deliver`` (the process is exiting).

        A delivery in progress is not interrupted; its ``deliver`` sees the batch end at
        the item it is on. Producers blocked on a full queue are released.
        """
        self._abandoned = True
        self._stopping = True
        self._wake.set()
        with self._progress:
            self._progress.notify_all()

    def settle(self, deadline: float | None) -> bool:
        """After ``abandon``: wait until the delivery in progress (if any) returned; False
        if ``deadline`` (monotonic) passed first."""
        with self._progress:
            self._waiters += 1
            try:
                while self._batch is not None:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._progress.wait(0.05 if remaining is None else min(remaining, 0.05))
            finally:
                self._waiters -= 1
        return True

    def undelivered(self) -> int:
        """Items submitted and neither delivered nor dropped, exactly: of a batch still being
        delivered, the items its ``deliver`` finished with count as delivered."""
        with self._accounts:
            delivered = self._delivered
            batch = self._batch
            if batch is not None and not batch.stopped and batch.done < len(batch):
                delivered += batch.done  # still on item ``done``: those before it are through
        return max(0, self.submitted - delivered - self.dropped)

    # worker side

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._abandoned:
                from llmhooks.core.exits import watch_exits

                watch_exits()
                self._stopping = False
                thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread = thread
                thread.start()

    def _run(self) -> None:
        from llmhooks.core.context import suppress_here
        from llmhooks.core.scope import clear_current

        suppress_here()  # this thread's own context: handlers here emit nothing
        clear_current()
        self._idle = False  # napping, not asleep: producers need not wake us
        empty_naps = 0
        try:
            while not self._stopping:
                if self._queue:
                    self._drain(None)
                    empty_naps = 0
                    continue
                if empty_naps < _NAPS_BEFORE_SLEEP:
                    empty_naps += 1
                    self._wake.wait(_NAP)
                    self._wake.clear()
                    continue
                self._idle = True  # deep sleep: the next producer wakes us
                if not self._queue:
                    self._wake.wait(1.0)
                self._wake.clear()
                self._idle = False
                empty_naps = 0
        finally:
            self._idle = True
            self._thread = None

    def _drain(self, deadline: float | None) -> None:
        queue = self._queue
        size = self.batch_size
        deliver = self._deliver
        with self._drain_lock:  # the worker, or flush() standing in for a dead one: never both
            while queue and not self._abandoned:
                # in flight before the first pop: a flush that finds the queue empty and no
                # batch in flight knows that everything queued before it is through
                batch = self._batch = _Batch(self)
                try:
                    while len(batch) < size:
                        batch.append(queue.popleft())
                except IndexError:
                    if not batch:
                        self._batch = None
                        break
                try:
                    deliver(batch)
                except BaseException as exc:
                    on_error = self._on_error
                    if on_error is not None:
                        try:
                            on_error(exc, batch)
                        except Exception:
                            pass
                batch.live = False
                with self._accounts:
                    self._delivered += min(batch.done, len(batch)) if batch.stopped else len(batch)
                    self._batch = None
                self._notify_progress()
                if deadline is not None and time.monotonic() >= deadline:
                    break

    def _notify_progress(self) -> None:
        if self._waiters:
            with self._progress:
                self._progress.notify_all()

    def _after_fork(self) -> None:
        """In a forked child: the parent's queue is the parent's; start empty, no thread."""
        self._queue.clear()
        self._reset()


_live: weakref.WeakSet[BackgroundWorker] = weakref.WeakSet()
_settings: dict[str, Any] = {"maxsize": None, "policy": "drop_oldest"}
_worker: BackgroundWorker | None = None
_worker_lock = threading.Lock()


def live_workers() -> list[BackgroundWorker]:
    """Every worker of this process that still exists."""
    return list(_live)


def default_settings() -> tuple[int, Policy]:
    """``(maxsize, policy)`` for new queues: ``configure_background`` or the environment."""
    maxsize = _settings["maxsize"]
    if maxsize is None:
        raw = os.environ.get("LLMHOOKS_BACKGROUND_MAXSIZE", "10000")
        try:
            maxsize = max(1, int(raw))
        except ValueError:
            maxsize = 10_000
    return maxsize, _settings["policy"]


def get_worker() -> BackgroundWorker:
    """The process-wide worker for ``submit``-ed calls (created on first use)."""
    global _worker
    if _worker is None:
        with _worker_lock:
            if _worker is None:
                maxsize, policy = default_settings()
                _worker = BackgroundWorker(maxsize=maxsize, policy=policy)
    return _worker


def configure_background(maxsize: int = 10_000, policy: Policy = "drop_oldest") -> BackgroundWorker:
    """Set the queue size and overflow policy of background queues made from now on.

    A handler's own ``background_queue_size``/``background_overflow`` take precedence.
    Also replaces the process-wide ``submit`` worker (flushing the old one) and returns it.
    """
    global _worker
    check_int("maxsize", maxsize, minimum=1)
    check_choice("policy", policy, POLICIES)
    _settings["maxsize"], _settings["policy"] = maxsize, policy
    with _worker_lock:
        old, _worker = _worker, BackgroundWorker(maxsize=maxsize, policy=policy)
    if old is not None:
        old.shutdown()
    return _worker


def flush(timeout: float | None = 5.0) -> bool:
    """Deliver every background event submitted so far, to every handler; False on timeout.

    One deadline for all queues: they drain in parallel, each on its own thread.
    """
    check_number("timeout", timeout, minimum=0, allow_none=True)
    return flush_all(live_workers(), timeout)


def flush_all(workers: Iterable[BackgroundWorker], timeout: float | None) -> bool:
    """Flush ``workers`` against one deadline; True if all of them finished."""
    deadline = None if timeout is None else time.monotonic() + timeout
    targets = [(w, w.submitted) for w in workers]
    ok = True
    for worker, target in targets:
        ok = worker.wait_for(target, deadline) and ok
    return ok


def _reinit_after_fork() -> None:
    global _worker_lock
    _worker_lock = threading.Lock()  # another thread may have held it at the fork
    for worker in list(_live):
        worker._after_fork()


os.register_at_fork(after_in_child=_reinit_after_fork)
