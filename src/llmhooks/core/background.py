"""Background delivery: handlers with ``background = True`` get events from a worker.

The caller only appends to a bounded ``deque``; one daemon thread per process
delivers. Waking a thread costs the caller microseconds, so the worker does not wait
to be woken while traffic flows: after draining it naps (``_NAP`` seconds) and looks
again, and only after ``_NAPS_BEFORE_SLEEP`` empty naps does it sleep until a producer
wakes it. Delivery latency is therefore at most one nap under steady traffic.

When the queue is full the policy decides: ``"drop_oldest"`` (default) discards
the oldest waiting event and counts it in the handler's ``dropped``;
``"block"`` makes the producer wait for room. ``flush(timeout)`` waits until
everything submitted so far was delivered; it also runs at interpreter exit.
The worker sets ``suppress_instrumentation``, so calls a handler makes (to Redis,
an exporter, an instrumented SDK) emit no events of their own.

    worker = get_worker()
    worker.flush(timeout=5.0)   # True when everything was delivered
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import count
from typing import Any, Literal

from llmhooks.core.stats import HandlerStats, _count_value

__all__ = ["BackgroundWorker", "configure_background", "flush", "get_worker"]

Policy = Literal["drop_oldest", "block"]
_NAP = 0.005
_NAPS_BEFORE_SLEEP = 200  # about a second of quiet
_WAKE_AT = 256  # a backlog this long wakes a napping worker at once

_Item = tuple[Callable[[Any], object], Any, HandlerStats, Callable[[BaseException, Any], None]]


class BackgroundWorker:
    """A bounded queue and the daemon thread that drains it.

    Args:
        maxsize: most events waiting at once (>= 1).
        policy: ``"drop_oldest"`` or ``"block"``, applied when the queue is full.
    """

    def __init__(self, maxsize: int = 10_000, policy: Policy = "drop_oldest") -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        if policy not in ("drop_oldest", "block"):
            raise ValueError(f"policy must be 'drop_oldest' or 'block', got {policy!r}")
        self.maxsize = maxsize
        self.policy: Policy = policy
        self._queue: deque[_Item] = deque()
        self._submitted = count()
        self._dropped = count()
        self._processed = 0
        self._wake = threading.Event()
        self._idle = True
        self._progress = threading.Condition()
        self._waiters = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._start_lock = threading.Lock()

    @property
    def dropped(self) -> int:
        """Events discarded because the queue was full."""
        return _count_value(self._dropped)

    @property
    def pending(self) -> int:
        """Events submitted and not yet delivered or dropped."""
        return _count_value(self._submitted) - self._processed - self.dropped

    def submit(
        self,
        call: Callable[[Any], object],
        event: Any,
        stats: HandlerStats,
        on_error: Callable[[BaseException, Any], None],
    ) -> None:
        """Queue one delivery; never blocks unless the policy is ``"block"``."""
        if self._thread is None:
            self._start()
        queue = self._queue
        if len(queue) >= self.maxsize:
            if self.policy == "block":
                while len(queue) >= self.maxsize and not self._stopping:
                    self._wake.set()
                    time.sleep(0.0005)
            else:
                try:
                    old = queue.popleft()
                except IndexError:
                    pass
                else:
                    next(self._dropped)
                    old[2].add_dropped()
                    self._notify_progress()
        next(self._submitted)
        queue.append((call, event, stats, on_error))
        if self._idle or len(queue) == _WAKE_AT:
            self._wake.set()

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until everything submitted before this call is delivered or dropped.

        Returns:
            True if it was, False if ``timeout`` ran out first.
        """
        target = _count_value(self._submitted)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._progress:
            self._waiters += 1
            try:
                while self._processed + self.dropped < target:
                    if self._thread is None or not self._thread.is_alive():
                        self._drain()  # no worker (e.g. at exit after it died): deliver here
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

    # worker side

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._stopping = False
                thread = threading.Thread(target=self._run, name="llmhooks-background", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        from llmhooks.core.context import _suppress

        _suppress.set(True)  # this thread's own context: handlers here emit nothing
        self._idle = False  # napping, not asleep: producers need not wake us
        empty_naps = 0
        while not self._stopping:
            if self._queue:
                self._drain()
                empty_naps = 0
                continue
            if empty_naps < _NAPS_BEFORE_SLEEP:
                empty_naps += 1
                self._wake.wait(_NAP)  # a nap: producers need not wake us
                self._wake.clear()
                continue
            self._idle = True  # deep sleep: the next producer wakes us
            if not self._queue:
                self._wake.wait(1.0)
            self._wake.clear()
            self._idle = False
            empty_naps = 0
        self._thread = None

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            try:
                call, event, _stats, on_error = queue.popleft()
            except IndexError:
                break
            try:
                call(event)
            except BaseException as exc:
                try:
                    on_error(exc, event)
                except Exception:  # pragma: no cover - on_error itself is defensive
                    pass
            self._processed += 1
            self._notify_progress()

    def _notify_progress(self) -> None:
        if self._waiters:
            with self._progress:
                self._progress.notify_all()

    def _after_fork(self) -> None:
        self._thread = None
        self._queue.clear()
        self._submitted = count()
        self._dropped = count()
        self._processed = 0
        self._progress = threading.Condition()
        self._waiters = 0
        self._start_lock = threading.Lock()


_worker: BackgroundWorker | None = None
_worker_lock = threading.Lock()


def get_worker() -> BackgroundWorker:
    """The process-wide worker (created on first use)."""
    global _worker
    if _worker is None:
        with _worker_lock:
            if _worker is None:
                _worker = BackgroundWorker(
                    maxsize=int(os.environ.get("LLMHOOKS_BACKGROUND_MAXSIZE", "10000")),
                )
    return _worker


def configure_background(maxsize: int = 10_000, policy: Policy = "drop_oldest") -> BackgroundWorker:
    """Replace the process-wide worker (flushing the old one) and return the new one."""
    global _worker
    with _worker_lock:
        old, _worker = _worker, BackgroundWorker(maxsize=maxsize, policy=policy)
    if old is not None:
        old.shutdown()
    return _worker


def flush(timeout: float | None = 5.0) -> bool:
    """Deliver every background event submitted so far; False if ``timeout`` ran out."""
    return _worker.flush(timeout) if _worker is not None else True


def _at_exit() -> None:
    if _worker is not None:
        _worker.shutdown(timeout=float(os.environ.get("LLMHOOKS_EXIT_FLUSH_TIMEOUT", "10")))


def _reinit_after_fork() -> None:
    if _worker is not None:
        _worker._after_fork()


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_reinit_after_fork)
