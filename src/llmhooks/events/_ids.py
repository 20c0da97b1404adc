"""Cheap OpenTelemetry-shaped ids: 32 hex chars for traces, 16 for runs.

Ids come from a pool filled from ``os.urandom`` a few thousand bits at a time, so one
costs a list ``pop``. The pool is emptied in a forked child, which must not hand out
the ids its parent will.
"""

from __future__ import annotations

import os

__all__ = ["new_run_id", "new_trace_id"]

_BATCH = 256  # ids per refill
_pool: list[str] = []


def _refill() -> None:
    raw = os.urandom(8 * _BATCH).hex()
    _pool.extend([raw[i : i + 16] for i in range(0, len(raw), 16)])


def new_run_id() -> str:
    """Return a new random run id of 16 lowercase hex characters."""
    try:
        return _pool.pop()
    except IndexError:  # empty (or emptied by another thread meanwhile): refill and retry
        _refill()
        return new_run_id()


def new_trace_id() -> str:
    """Return a new random trace id of 32 lowercase hex characters."""
    return new_run_id() + new_run_id()


os.register_at_fork(after_in_child=_pool.clear)
