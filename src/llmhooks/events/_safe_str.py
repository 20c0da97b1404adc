"""The text of an exception without running unknown code in the calling thread.

    exception_message(exc)   # str(exc), or None if it raised or did not return in time

``str()`` of a built-in exception whose arguments are plain data (strings, numbers...)
runs no code but CPython's, so it is called directly. Anything else (a ``__str__``
defined in Python or in an extension, an argument object whose ``__str__`` is called)
runs on a watchdog thread, and the caller waits at most ``TIMEOUT`` seconds: a slow or
hanging ``__str__`` costs the caller that wait once, after which its type is not asked
again. Serialisation (``to_dict``), redaction and ``error_message`` use this.
"""

from __future__ import annotations

import builtins
import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["BUILTIN_EXCEPTIONS", "TIMEOUT", "bounded_call", "exception_message", "plain_builtin_message"]

TIMEOUT = 0.1  # seconds a caller waits for a __str__ that is not CPython's own
_MAX_STUCK = 4  # stuck watchdog threads left behind before giving up on calling at all
_MAX_SLOW_TYPES = 256

BUILTIN_EXCEPTIONS = [
    v for v in vars(builtins).values() if isinstance(v, type) and issubclass(v, BaseException)
]
_BUILTIN_STR = frozenset(c.__dict__["__str__"] for c in BUILTIN_EXCEPTIONS if "__str__" in c.__dict__)
_PLAIN = (str, int, float, bool, type(None), bytes)


def _plain(value: Any, depth: int = 0) -> bool:
    t = type(value)
    if t in _PLAIN:
        return True
    if (t is tuple or t is list) and depth < 3 and len(value) <= 64:
        return all(_plain(v, depth + 1) for v in value)
    return False


def plain_builtin_message(exc: BaseException) -> bool:
    """True when ``str(exc)`` is CPython's over plain data: safe to call anywhere, and a
    function of ``args`` (plus ``filename``/``filename2`` for ``OSError``) alone."""
    if type(exc).__str__ not in _BUILTIN_STR:
        return False
    if isinstance(exc, BaseExceptionGroup):  # "message (2 sub-exceptions)": the members are not read
        return type(exc.args[0]) is str if exc.args else True
    if not _plain(exc.args):
        return False
    if isinstance(exc, OSError):
        return _plain(exc.filename) and _plain(exc.filename2)
    return True


class _Job:
    __slots__ = ("arg", "done", "fn", "ok", "value")

    def __init__(self, fn: Callable[[Any], Any], arg: Any) -> None:
        self.fn = fn
        self.arg = arg
        self.done = threading.Event()
        self.ok = False
        self.value: Any = None

    def run(self) -> None:
        try:
            self.value = self.fn(self.arg)
            self.ok = True
        except BaseException as exc:  # handed to the caller, never raised in this thread
            self.value = exc
        finally:
            self.done.set()


class _Watchdog(threading.Thread):
    def __init__(self) -> None:
        from queue import SimpleQueue  # only once a watchdog is needed: queue is slow to import

        super().__init__(name="llmhooks-str-watchdog", daemon=True)
        self.jobs: SimpleQueue[_Job | None] = SimpleQueue()

        self.abandoned = False  # set, under the lock, by a caller that stopped waiting for it

    def run(self) -> None:
        global _stuck
        while (job := self.jobs.get()) is not None:
            job.run()
            with _lock:
                if self.abandoned:  # the stuck call returned after all: no longer counted
                    _stuck -= 1
                    return


_lock = threading.Lock()
_worker: _Watchdog | None = None
_stuck = 0  # watchdog threads still inside a call their caller gave up on
_slow_types: set[type] = set()


def _reset_after_fork() -> None:
    global _lock, _worker, _stuck
    _lock = threading.Lock()
    _worker = None
    _stuck = 0


os.register_at_fork(after_in_child=_reset_after_fork)


def bounded_call(fn: Callable[[Any], Any], arg: Any, timeout: float = TIMEOUT) -> tuple[bool, Any]:
    """``(True, fn(arg))``; ``(False, exception)`` if it raised; ``(False, None)`` if it took
    longer than ``timeout`` (or could not be run).

    ``fn`` runs on a daemon watchdog thread; a call that does not return leaves that thread
    behind (at most four at a time; then nothing more is called until one returns) and a
    fresh one takes the next call.
    """
    global _worker, _stuck
    if isinstance(threading.current_thread(), _Watchdog):
        return False, None  # called from inside a watched call: waiting on ourselves would stall
    with _lock:
        worker = _worker
        if worker is None or not worker.is_alive():
            if _stuck >= _MAX_STUCK:
                return False, None
            worker = _worker = _Watchdog()
            worker.start()
    job = _Job(fn, arg)
    worker.jobs.put(job)
    if job.done.wait(timeout):
        return job.ok, job.value
    with _lock:
        if job.done.is_set():  # it returned while we took the lock
            return job.ok, job.value
        if not worker.abandoned:
            worker.abandoned = True
            _stuck += 1
            if _worker is worker:
                _worker = None
    return False, None


def exception_message(exc: BaseException, timeout: float = TIMEOUT) -> str | None:
    """``str(exc)``, or None if it raised, returned something else or did not return in time."""
    if plain_builtin_message(exc):
        try:
            return str(exc)
        except Exception:
            return None
    cls = type(exc)
    if cls in _slow_types:
        return None
    ok, text = bounded_call(str, exc, timeout)
    if ok and isinstance(text, str):
        return text
    if not ok and text is None:  # too slow: do not make the next caller wait for it again
        if len(_slow_types) >= _MAX_SLOW_TYPES:
            _slow_types.clear()
        _slow_types.add(cls)
    return None
