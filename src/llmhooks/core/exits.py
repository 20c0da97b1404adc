"""Flush background queues on the ways services exit, and say what could not be delivered.

Covered exits (installed when the first background worker starts):

- interpreter exit (``atexit``): normal end, ``sys.exit``, an uncaught exception, SIGINT;
- SIGTERM (``docker stop``, Kubernetes) and SIGHUP: only where the signal still has its
  default action, so a handler of the user's own is never replaced. Ours flushes, then
  restores the default action and re-sends the signal, so the process ends exactly as
  it would have (killed by that signal);
- children of ``multiprocessing`` (and Celery's ``billiard``) that leave through
  ``os._exit`` after their target returns: a finalizer of that library flushes them.

The flush at exit waits up to ``LLMHOOKS_EXIT_FLUSH_TIMEOUT`` seconds (default 10) for all
queues together. Events still queued then are lost: their number is added to each
worker's ``lost`` and one warning names the handlers and counts, on logger ``llmhooks``
(which Python prints to stderr when logging is not configured).

A bare ``os.fork()`` child that ends with ``os._exit()`` skips every hook: call
``llmhooks.flush()`` before ``os._exit`` there.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

__all__ = ["add_exit_flush", "exit_flush_timeout", "flush_at_exit", "watch_exits"]

logger = logging.getLogger("llmhooks")

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_lock = threading.Lock()
_watching_pid: int | None = None
_signals_done = False
_flushed_pid: int | None = None
_after_queues: list[Any] = []  # callables run once the queues are flushed (writers' own buffers)


def add_exit_flush(flush: Any) -> None:
    """Call ``flush()`` on every exit covered here, after the background queues are flushed.

    For writers that hold their own buffer (a recorder's uncommitted rows): the events the
    queues deliver at exit reach them first. Also installs the exit hooks (``watch_exits``).
    """
    with _lock:
        _after_queues.append(flush)
    watch_exits()


def exit_flush_timeout() -> float:
    """Seconds the exit flush may take: ``LLMHOOKS_EXIT_FLUSH_TIMEOUT``, default 10."""
    raw = os.environ.get("LLMHOOKS_EXIT_FLUSH_TIMEOUT", "10")
    try:
        value = float(raw)
    except ValueError:
        return 10.0
    return value if value >= 0 and value == value else 10.0


def flush_at_exit(reason: str = "exit") -> int:
    """Flush every background queue within the exit timeout; return (and report) how many were lost.

    Runs once per process and exit: a signal flush followed by the atexit hook does not
    flush twice.
    """
    global _flushed_pid
    with _lock:
        if _flushed_pid == os.getpid():
            return 0
        _flushed_pid = os.getpid()
    from llmhooks.core.background import flush_all, live_workers

    timeout = exit_flush_timeout()
    workers = live_workers()
    try:
        flush_all(workers, timeout)
    except Exception:  # never let our exit hook break the program's exit
        logger.exception("llmhooks exit flush failed")
    for flush in list(_after_queues):
        try:
            flush()
        except Exception:
            logger.exception("llmhooks exit flush of %r failed", flush)
    lost: list[tuple[str, int]] = []
    for worker in workers:
        left = worker.pending
        if left > 0:
            worker.lost += left
            lost.append((worker.name, left))
    if lost:
        total = sum(n for _, n in lost)
        detail = ", ".join(f"{name}: {n}" for name, n in lost)
        logger.warning(
            "llmhooks: %d background event(s) not delivered at %s (%s); the flush gave up after "
            "%.1f s: raise LLMHOOKS_EXIT_FLUSH_TIMEOUT or speed up the handler",
            total,
            reason,
            detail,
            timeout,
        )
        return total
    return 0


def _on_signal(signum: int, frame: FrameType | None) -> None:
    try:
        flush_at_exit(signal.Signals(signum).name)
    finally:
        # end as the signal's default action would have: the parent sees the same status
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install_signals() -> None:
    global _signals_done
    if _signals_done or threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread; a later start may be there
    _signals_done = True
    for sig in _SIGNALS:
        try:
            if signal.getsignal(sig) is signal.SIG_DFL:  # never take over the user's own handler
                signal.signal(sig, _on_signal)
        except (ValueError, OSError):  # not the main interpreter, or not allowed here
            pass


def _install_child_finalizers() -> None:
    # multiprocessing/billiard children leave through os._exit after running these
    for name in ("multiprocessing.util", "billiard.util"):
        module: Any = sys.modules.get(name)
        if module is not None and hasattr(module, "Finalize"):
            try:
                module.Finalize(None, flush_at_exit, args=("child exit",), exitpriority=100)
            except Exception:
                pass


def watch_exits() -> None:
    """Install the exit hooks for this process (idempotent; cheap after the first call)."""
    global _watching_pid
    pid = os.getpid()
    if _watching_pid == pid:
        if not _signals_done:
            _install_signals()
        return
    with _lock:
        if _watching_pid == pid:
            return
        first = _watching_pid is None
        _watching_pid = pid
    if first:
        atexit.register(flush_at_exit)
    else:
        _install_child_finalizers()  # a forked child: atexit is inherited, os._exit skips it
    _install_signals()


def _after_fork_in_child() -> None:
    global _flushed_pid
    _flushed_pid = None


os.register_at_fork(after_in_child=_after_fork_in_child)
