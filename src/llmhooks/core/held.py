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
event to the finalizer worker (``core/finalizers.py``). ``fail`` is called while the
producer's own exception is leaving: what a handler raises on the terminal event
(an ``Abort``, a ``raise_errors`` failure) is reported, never put in its place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from llmhooks.core.finalizers import in_collection, later
from llmhooks.core.isolation import report_overridden
from llmhooks.core.runs import ending
from llmhooks.core.scope import activate, deactivate

__all__ = ["HeldRun"]


class HeldRun:
    """One run kept open across frames; its terminal methods are idempotent.

    Works the same for a no-op run (nobody listens): every method is then a no-op.
    """

    __slots__ = ("_ended", "run")

    def __init__(self, run: Any) -> None:
        self.run = run
        self._ended = False  # an end was made or handed to the finalizer worker

    @property
    def open(self) -> bool:
        """True until the terminal event was emitted."""
        return not self.run.done

    def start(self) -> Self:
        """Emit the start event (sync handlers); ``Abort`` from one propagates, the run ended."""
        self.run.start()
        return self

    async def astart(self) -> Self:
        """Emit the start event, awaiting async handlers."""
        await self.run.astart()
        return self

    @contextmanager
    def current(self) -> Iterator[Any]:
        """Make the run current for a step of the producer (and its run scopes follow)."""
        activation = activate(self.run)
        try:
            yield self.run
        finally:
            deactivate(self.run, activation)

    def _end(self, end: Callable[[], object], kept: BaseException | None = None) -> None:
        if self._ended or self.run.done:
            return
        self._ended = True
        if in_collection():
            later(end)
            return
        if kept is None:
            end()
            return
        try:
            end()
        except Exception as escaped:  # the producer's own exception is leaving: it wins
            self._overridden(escaped, kept)

    async def _aend(
        self,
        end: Callable[[], Awaitable[object]],
        sync_end: Callable[[], object],
        kept: BaseException | None = None,
    ) -> None:
        if self._ended or self.run.done:
            return
        self._ended = True
        if in_collection():
            later(sync_end)
            return
        if kept is None:
            await end()
            return
        try:
            await end()
        except Exception as escaped:
            self._overridden(escaped, kept)

    def _overridden(self, escaped: Exception, kept: BaseException) -> None:
        incomplete = ending(kept) == "incomplete"
        report_overridden(getattr(self.run, "end_cls" if incomplete else "error_cls", None), escaped, kept)

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
            fields["incomplete"] = True
            self._end(lambda: self.run.finish(**fields), exc)
        else:
            self._end(lambda: self.run.error(exc, cancelled=kind == "cancelled", **fields), exc)

    async def afail(self, exc: BaseException, **fields: Any) -> None:
        """Async ``fail``."""
        kind = ending(exc)
        if kind == "incomplete":
            fields["incomplete"] = True
            await self._aend(lambda: self.run.afinish(**fields), lambda: self.run.finish(**fields), exc)
            return
        cancelled = kind == "cancelled"
        await self._aend(
            lambda: self.run.aerror(exc, cancelled=cancelled, **fields),
            lambda: self.run.error(exc, cancelled=cancelled, **fields),
            exc,
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
