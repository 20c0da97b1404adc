"""Flush background queues on the ways services exit, and say what could not be delivered.

Covered exits (installed when the first background handler is registered or its worker starts):

- interpreter exit (``atexit``): normal end, ``sys.exit``, an uncaught exception, SIGINT;
- SIGTERM (``docker stop``, Kubernetes) and SIGHUP: only where the signal still has its
  default action, so a handler of the program's own is never replaced. Ours flushes, then
  restores the default action and re-sends the signal, so the process ends exactly as
  it would have (killed by that signal). A signal that arrives while the exit flush is
  already running lets it finish first;
- children of ``multiprocessing`` (and Celery's ``billiard``), whatever their start method,
  that leave through ``os._exit`` after their target returns: a finalizer of that library
  flushes them (on Python 3.12+ a forked child also runs ``atexit`` before ``os._exit``;
  whichever comes first flushes, the other finds nothing left).

The flush at exit waits up to ``LLMHOOKS_EXIT_FLUSH_TIMEOUT`` seconds (default 5, below
``docker stop``'s 10 s grace, so the report is printed before a SIGKILL) for all queues
together. Then it gives up: every worker is abandoned (no handler call starts after
that), a call already in progress gets up to ``_GRACE`` seconds more to return, and the
events that never reached their handler are counted exactly: added to each worker's
``lost`` (``stats()["lost"]``) and named in one warning on logger ``llmhooks`` (which
Python prints to stderr when logging is not configured). The exit code is the program's.

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
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmhooks.core.background import BackgroundWorker

__all__ = ["add_exit_flush", "exit_flush_timeout", "flush_at_exit", "watch_exits"]

logger = logging.getLogger("llmhooks")

DEFAULT_TIMEOUT = 5.0
_GRACE = 0.25  # after giving up: how long a handler call in progress may take to return
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
# reentrant: a signal handler runs on the main thread, possibly inside flush_at_exit there
_lock = threading.RLock()
_watching_pid: int | None = None
_signals_done = False
_flushed_pid: int | None = None
_flushing = False
_deferred: list[int] = []  # signals that arrived while the exit flush was running
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
    """Seconds the exit flush may take: ``LLMHOOKS_EXIT_FLUSH_TIMEOUT``, default 5."""
    raw = os.environ.get("LLMHOOKS_EXIT_FLUSH_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value >= 0 and value != float("inf") else DEFAULT_TIMEOUT


def flush_at_exit(reason: str = "exit") -> int:
    """Flush every background queue within the exit timeout; return (and report) how many were lost.

    Runs once per process: a signal flush followed by the atexit hook does not flush twice.
    """
    global _flushed_pid, _flushing
    with _lock:
        if _flushed_pid == os.getpid():
            return 0
        _flushing = True  # first: a signal landing between the two must wait, not cut us short
        _flushed_pid = os.getpid()
    try:
        return _flush_and_report(reason)
    finally:
        _flushing = False
        if _deferred:
            _die(_deferred[0])


def _flush_and_report(reason: str) -> int:
    from llmhooks.core.background import flush_all, live_workers

    timeout = exit_flush_timeout()
    workers = live_workers()
    done = False
    interrupted: BaseException | None = None
    try:
        done = flush_all(workers, timeout)
    except Exception:  # never let our exit hook break the program's exit
        logger.exception("llmhooks exit flush failed")
    except KeyboardInterrupt as exc:  # a second Ctrl-C: stop waiting, but still say what is lost
        interrupted = exc
    if done:
        _flush_writers()
        return 0
    if interrupted is not None:
        _give_up(workers, reason, "the flush was interrupted")
        raise interrupted
    return _give_up(
        workers,
        reason,
        f"the flush gave up after {timeout:.1f} s: raise LLMHOOKS_EXIT_FLUSH_TIMEOUT or speed up the handler",
    )


def _give_up(workers: list[BackgroundWorker], reason: str, because: str) -> int:
    """Abandon ``workers``, let calls in progress return, count and report what never arrived."""
    for worker in workers:  # from now on no handler call starts
        worker.abandon()
    grace = time.monotonic() + _GRACE
    for worker in workers:
        worker.settle(grace)
    _flush_writers()  # what did arrive reaches the writers' files before we count
    lost: list[tuple[str, int]] = []
    for worker in workers:
        left = worker.undelivered()
        if left > 0:
            worker.lost += left
            lost.append((worker.label, left))
    if not lost:
        return 0
    total = sum(n for _, n in lost)
    detail = ", ".join(f"{name}: {n}" for name, n in lost)
    logger.warning(
        "llmhooks: %d background event(s) not delivered at %s (%s); %s", total, reason, detail, because
    )
    return total


def _flush_writers() -> None:
    for flush in list(_after_queues):
        try:
            flush()
        except Exception:
            logger.exception("llmhooks exit flush of %r failed", flush)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _flushing:
        # the exit flush is running below us on this (the main) thread: let it finish, then die
        _deferred.append(signum)
        return
    try:
        flush_at_exit(signal.Signals(signum).name)
    finally:
        _die(signum)


def _die(signum: int) -> None:
    """End as the signal's default action would have: the parent sees the same status."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_signals() -> None:
    global _signals_done
    if _signals_done or threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread; a later start may be there
    _signals_done = True
    for sig in _SIGNALS:
        try:
            if signal.getsignal(sig) is signal.SIG_DFL:  # never take over the program's own handler
                signal.signal(sig, _on_signal)
        except (ValueError, OSError):  # not the main interpreter, or not allowed here
            pass


def _install_child_finalizers() -> None:
    # multiprocessing/billiard children leave through os._exit after running these (in the
    # main process they run at exit too, before our atexit hook, which then does nothing)
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
        atexit.register(flush_at_exit)  # inherited by fork children
    # a multiprocessing child forked from a process that never watched (a fork or
    # forkserver child whose parent had no background worker) has only these
    _install_child_finalizers()
    _install_signals()


def _after_fork_in_child() -> None:
    global _flushed_pid, _flushing, _lock
    _flushed_pid = None
    _flushing = False
    _deferred.clear()
    _lock = threading.RLock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_after_fork_in_child)
