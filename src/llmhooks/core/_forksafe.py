"""Locks a forked child gets afresh.

``fork()`` copies a lock in whatever state it was: if another thread of the parent held
it at that moment, the child's copy stays held for ever and the child deadlocks the
first time it takes it. Locks made here are replaced by new ones in every forked child
(``os.register_at_fork``). They serve ``with`` like any lock::

    _lock = fork_safe_lock()
    with _lock:
        ...
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["ForkSafeLock", "fork_safe_lock"]


class ForkSafeLock:
    """A ``threading.Lock`` (or ``RLock``) that is new in a forked child."""

    __slots__ = ("__weakref__", "_factory", "_lock")

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._lock = factory()
        _locks.add(self)

    def __enter__(self) -> bool:
        return self._lock.__enter__()  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)  # type: ignore[no-any-return]

    def release(self) -> None:
        self._lock.release()

    def _renew(self) -> None:
        self._lock = self._factory()


def fork_safe_lock(reentrant: bool = False) -> ForkSafeLock:
    """A new lock (reentrant if asked) that every forked child gets fresh."""
    return ForkSafeLock(threading.RLock if reentrant else threading.Lock)


_locks: weakref.WeakSet[ForkSafeLock] = weakref.WeakSet()


def _renew_all() -> None:
    for lock in list(_locks):
        lock._renew()


os.register_at_fork(after_in_child=_renew_all)
