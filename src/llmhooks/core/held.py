"""A run held open across frames: a stream, a generator, a callback-driven producer.

A stream outlives the call that opened it: its run starts when the request is made
and ends when the stream is exhausted, fails, is closed or is dropped. ``HeldRun``
starts the run without making it current in the caller's context (a later, unrelated
call is not made its child; a stream dropped half-read leaves nothing behind), makes it
current only around the producer's own steps (``with held.current():``), and ends it
exactly once: the first of ``finish``, ``fail``, ``report`` or ``stop_early`` wins,
later ones do nothing. ``fail`` applies the one rule of ``core.runs.ending``:
``GeneratorExit`` is an incomplete end, other ``BaseException``s a cancelled error,
an ``Exception`` an error::

    held = HeldRun(llm_run(model="m", streaming=True, callbacks=cb)).start()
    with held.current():
        response = client.send(request)      # HTTP client spans nest under the run
    for delta in response:
        held.run.token(delta)
    held.finish(input_tokens=3, output_tokens=9)

Finalizers never dispatch inline: a held run ended while the garbage collector runs
in this thread (a half-read stream caught in a reference cycle) hands its terminal
event to the ``llmhooks-finalizers`` worker, because a collection can start inside
any code, including a handler holding its own lock. ``llmhooks.flush()`` waits for it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from llmhooks.core._forksafe import fork_safe_lock
from llmhooks.core.background import BackgroundWorker
from llmhooks.core.runs import ending
from llmhooks.core.scope import activate, deactivate

__all__ = ["HeldRun", "in_collection"]

_lock = fork_safe_lock()
_open_runs = 0  # held runs not yet ended: the gc callback is installed while there are any
_collecting: int | None = None  # the thread running a garbage collection, if any
_finalizers: BackgroundWorker | None = None


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global _collecting
    _collecting = threading.get_ident() if phase == "start" else None


def in_collection() -> bool:
    """True while this thread runs a garbage collection with held runs open."""
    return _collecting is not None and _collecting == threading.get_ident()


def _opened() -> None:
    global _open_runs
    with _lock:
        _open_runs += 1
        if _open_runs == 1:
            gc.callbacks.append(_on_gc)


def _closed() -> None:
    global _open_runs
    with _lock:
        _open_runs -= 1
        if _open_runs == 0:
            try:
                gc.callbacks.remove(_on_gc)
            except ValueError:  # pragma: no cover - removed already
                pass


def _run_each(batch: list[Callable[[], object]]) -> None:
    for call in batch:
        try:
            call()
        except Exception:  # the terminal event's handlers are isolated; this is a last guard
            pass


def _later(call: Callable[[], object]) -> None:
    global _finalizers
    if _finalizers is None:
        with _lock:
            if _finalizers is None:
                _finalizers = BackgroundWorker(
                    maxsize=100_000, policy="block", deliver=_run_each, name="llmhooks-finalizers"
                )
    _finalizers.put(call)


class HeldRun:
    """One run kept open across frames; its terminal methods are idempotent.

    Works the same for a no-op run (nobody listens): every method is then a no-op.
    """

    __slots__ = ("_live", "run")

    def __init__(self, run: Any) -> None:
        self.run = run
        self._live = False

    @property
    def open(self) -> bool:
        """True until the terminal event was emitted."""
        return not self.run.done

    def start(self) -> Self:
        """Emit the start event (sync handlers); ``Abort`` from one propagates, the run ended."""
        self.run.start()
        self._track()
        return self

    async def astart(self) -> Self:
        """Emit the start event, awaiting async handlers."""
        await self.run.astart()
        self._track()
        return self

    def _track(self) -> None:
        if self.run.is_recording and not self.run.done:
            self._live = True
            _opened()

    @contextmanager
    def current(self) -> Iterator[Any]:
        """Make the run current for a step of the producer (and its run scopes follow)."""
        activation = activate(self.run)
        try:
            yield self.run
        finally:
            deactivate(self.run, activation)

    def _end(self, end: Callable[[], object]) -> None:
        if self.run.done:
            return
        if self._live:
            self._live = False
            _closed()
            if in_collection():
                _later(end)
                return
        end()

    async def _aend(self, end: Callable[[], Awaitable[object]], sync_end: Callable[[], object]) -> None:
        if self.run.done:
            return
        if self._live:
            self._live = False
            _closed()
            if in_collection():
                _later(sync_end)
                return
        await end()

    def finish(self, **fields: Any) -> None:
        """Emit the end event with ``fields``."""
        self._end(lambda: self.run.finish(**fields))

    async def afinish(self, **fields: Any) -> None:
        """Emit the end event, awaiting async handlers."""
        await self._aend(lambda: self.run.afinish(**fields), lambda: self.run.finish(**fields))

    def fail(self, exc: BaseException, **fields: Any) -> None:
        """End the run for ``exc`` by the one rule: incomplete, cancelled, or an error."""
        kind = ending(exc)
        if kind == "incomplete":
            self.stop_early(**fields)
        else:
            self._end(lambda: self.run.error(exc, cancelled=kind == "cancelled", **fields))

    async def afail(self, exc: BaseException, **fields: Any) -> None:
        """Async ``fail``."""
        kind = ending(exc)
        if kind == "incomplete":
            await self.astop_early(**fields)
            return
        cancelled = kind == "cancelled"
        await self._aend(
            lambda: self.run.aerror(exc, cancelled=cancelled, **fields),
            lambda: self.run.error(exc, cancelled=cancelled, **fields),
        )

    def report(self, error: str, **fields: Any) -> None:
        """Emit the error event for a failure the provider reported in-band (no exception)."""
        self._end(lambda: self.run.error(error, **fields))

    async def areport(self, error: str, **fields: Any) -> None:
        """Async ``report``."""
        await self._aend(lambda: self.run.aerror(error, **fields), lambda: self.run.error(error, **fields))

    def stop_early(self, **fields: Any) -> None:
        """Emit the end event of a stream the consumer stopped: ``incomplete=True``."""
        fields["incomplete"] = True
        self._end(lambda: self.run.finish(**fields))

    async def astop_early(self, **fields: Any) -> None:
        """Async ``stop_early``."""
        fields["incomplete"] = True
        await self._aend(lambda: self.run.afinish(**fields), lambda: self.run.finish(**fields))
