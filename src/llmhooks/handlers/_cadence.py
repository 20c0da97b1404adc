"""Flush what file writers hold in memory on time, and at exit.

A writer that batches (``EventRecorder(flush_every=100)``) would otherwise keep a quiet
tail unwritten until its next event, and lose it if the program exits without closing
it. Writers call ``due(writer, interval)`` when their first unflushed item arrives; one
daemon thread for the whole process calls ``writer.flush_due()`` ``interval`` seconds
later. On every exit the core covers (interpreter exit, SIGTERM, SIGHUP, multiprocessing
children: ``core/exits.py``), after the background queues have delivered what they held,
every open writer gets ``flush_at_exit()``::

    track(self)                       # once, when the writer opens
    due(self, self.flush_interval)    # when the first unflushed item arrives
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
import weakref
from typing import Protocol

from llmhooks.core.exits import add_exit_flush

__all__ = ["Flushable", "due", "track", "untrack"]

logger = logging.getLogger("llmhooks")


class Flushable(Protocol):
    """What the cadence thread and the exit hook call."""

    def flush_due(self) -> None: ...

    def flush_at_exit(self) -> None: ...


_lock = threading.Condition()
_heap: list[tuple[float, int, Flushable]] = []  # strong refs only while something waits to be flushed
_seq = itertools.count()
_thread: threading.Thread | None = None
_open: weakref.WeakSet[Flushable] = weakref.WeakSet()  # open writers, for the exit flush
_hooked = False


def track(writer: Flushable) -> None:
    """Flush ``writer`` at exit if it is still open then (held weakly)."""
    global _hooked
    _open.add(writer)
    if not _hooked:
        _hooked = True
        add_exit_flush(_at_exit)


def untrack(writer: Flushable) -> None:
    """``writer`` was closed: nothing to do for it at exit."""
    _open.discard(writer)


def due(writer: Flushable, interval: float) -> None:
    """Call ``writer.flush_due()`` about ``interval`` seconds from now, from the cadence thread."""
    global _thread
    with _lock:
        heapq.heappush(_heap, (time.monotonic() + interval, next(_seq), writer))
        if _thread is None:
            _thread = threading.Thread(target=_run, name="llmhooks-flush", daemon=True)
            _thread.start()
        _lock.notify()


def _run() -> None:
    while True:
        with _lock:
            while not _heap or _heap[0][0] > time.monotonic():
                _lock.wait(None if not _heap else max(0.0, _heap[0][0] - time.monotonic()))
            _, _, writer = heapq.heappop(_heap)
        try:  # outside the lock: a writer takes its own lock to flush
            writer.flush_due()
        except Exception:  # a full disk must not end the thread that flushes every writer
            logger.exception("llmhooks: timed flush of %r failed", writer)


def _at_exit() -> None:
    for writer in list(_open):
        try:
            writer.flush_at_exit()
        except Exception:
            logger.exception("llmhooks: exit flush of %r failed", writer)


def _after_fork() -> None:
    # the thread does not exist in a forked child; the parent's pending writers are the parent's
    global _thread, _lock
    _thread = None
    _lock = threading.Condition()
    _heap.clear()


os.register_at_fork(after_in_child=_after_fork)
