"""Cheap OpenTelemetry-shaped ids: 32 hex chars for traces, 16 for runs.

Ids come from pools filled from ``os.urandom`` a few thousand bits at a time, so one
costs a list ``pop`` (hot paths pop ``RUN_IDS``/``TRACE_IDS`` themselves and call
``new_run_id()`` only when the pool is empty). The pools are emptied in a forked child,
which must not hand out the ids its parent will.
"""

from __future__ import annotations

import os

__all__ = ["RUN_IDS", "TRACE_IDS", "new_run_id", "new_trace_id"]

_BATCH = 256  # ids per refill
RUN_IDS: list[str] = []
TRACE_IDS: list[str] = []


def _refill(pool: list[str], width: int) -> None:
    raw = os.urandom(width // 2 * _BATCH).hex()
    pool.extend([raw[i : i + width] for i in range(0, len(raw), width)])


def new_run_id() -> str:
    """Return a new random run id of 16 lowercase hex characters."""
    while True:
        try:
            return RUN_IDS.pop()
        except IndexError:  # empty (or emptied by another thread meanwhile): refill and retry
            _refill(RUN_IDS, 16)


def new_trace_id() -> str:
    """Return a new random trace id of 32 lowercase hex characters."""
    while True:
        try:
            return TRACE_IDS.pop()
        except IndexError:
            _refill(TRACE_IDS, 32)


def _after_fork() -> None:
    RUN_IDS.clear()
    TRACE_IDS.clear()


os.register_at_fork(after_in_child=_after_fork)
