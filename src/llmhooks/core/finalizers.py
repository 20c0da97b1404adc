"""What ends while the garbage collector runs is delivered after it, on a worker.

A run left open by a generator or stream caught in a reference cycle ends when the
collector finalizes it. A collection can start inside any code of this thread, including
a handler holding its own non-reentrant lock, so handlers are never called from inside
one: the terminal event is built there (its timestamp and latency are right) and handed to
the ``llmhooks-finalizers`` worker. ``llmhooks.flush()`` waits for it like for any queue.

Knowing whether this thread is collecting costs one ``gc.callbacks`` entry, called twice
per collection and never per event.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

from llmhooks.core._forksafe import fork_safe_lock
from llmhooks.core.background import BackgroundWorker

__all__ = ["in_collection", "later"]

_lock = fork_safe_lock()
_collecting: int | None = None  # the thread running a garbage collection, if any
_worker: BackgroundWorker | None = None


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global _collecting
    _collecting = threading.get_ident() if phase == "start" else None


gc.callbacks.append(_on_gc)


def in_collection() -> bool:
    """True while this thread runs a garbage collection."""
    return _collecting is not None and _collecting == threading.get_ident()


def _run_each(batch: list[Callable[[], object]]) -> None:
    for call in batch:
        try:
            call()
        except Exception:  # handlers are isolated by their delivery; this is a last guard
            pass


def later(call: Callable[[], object]) -> None:
    """Run ``call`` on the finalizer worker (in order, never dropped)."""
    global _worker
    if _worker is None:
        with _lock:
            if _worker is None:
                _worker = BackgroundWorker(
                    maxsize=100_000, policy="block", deliver=_run_each, name="llmhooks-finalizers"
                )
    _worker.put(call)
