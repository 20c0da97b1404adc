"""Cheap OpenTelemetry-shaped ids: 32 hex chars for traces, 16 for runs.

``random.getrandbits`` costs a fraction of ``uuid4().hex`` and the ``random`` module
reseeds itself in a forked child, so ids stay unique across ``fork``.
"""

from __future__ import annotations

from random import getrandbits

__all__ = ["new_run_id", "new_trace_id"]


def new_trace_id() -> str:
    """Return a new random trace id of 32 lowercase hex characters."""
    return f"{getrandbits(128):032x}"


def new_run_id() -> str:
    """Return a new random run id of 16 lowercase hex characters."""
    return f"{getrandbits(64):016x}"
