"""An LLM run held open across the steps of a stream, without leaking into the consumer's context.

A stream outlives the call that opened it: its run starts when the request is
made and ends when the stream is exhausted, fails, is closed or is dropped. The
run is entered in a private copy of the caller's context, so its parent is the
caller's current run, yet the caller's context never sees it as current (a
later, unrelated call is not made its child, and a stream dropped half-read
leaves nothing behind). Every terminal path goes through one of ``finish``,
``fail``, ``report`` or ``stop_early``; the first one wins, later ones do nothing.

    held = HeldRun(llm_run(..., streaming=True))
    held.enter()                       # start event
    for delta in deltas:
        held.run.token(delta)
    held.finish(response=text, input_tokens=3, output_tokens=9)
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Generator
from typing import Any

from llmhooks.core.runs import LLMRun
from llmhooks.errors import Abort

__all__ = ["HeldRun", "is_transport_error"]

# httpx/httpx2 errors a dropped connection raises (the anthropic SDK lets them through mid-stream)
_TRANSPORT_NAMES = frozenset({"TransportError", "TimeoutException", "StreamError"})


def is_transport_error(exc: BaseException) -> bool:
    """True for an HTTP transport failure (connection dropped, protocol error, timeout)."""
    return any(c.__name__ in _TRANSPORT_NAMES for c in type(exc).__mro__)


def _fail_fields(exc: BaseException) -> dict[str, Any]:
    # same rule as Run.__exit__: interrupts and cancellation are "cancelled", Abort is not
    interrupted = not isinstance(exc, Exception) or isinstance(exc, asyncio.CancelledError)
    cancelled = interrupted and not isinstance(exc, Abort)
    fields: dict[str, Any] = {"cancelled": cancelled}
    if is_transport_error(exc):
        fields["is_recoverable"] = True
    return fields


class _Bubble:
    """Passes what a coroutine yields (a future) up to the event loop, and the answer back."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self.value)


async def _run_in(ctx: contextvars.Context, coro: Coroutine[Any, Any, Any]) -> Any:
    """Await ``coro`` with each of its steps run inside ``ctx`` (no task needed)."""
    send: Any = None
    error: BaseException | None = None
    while True:
        try:
            yielded = ctx.run(coro.throw, error) if error is not None else ctx.run(coro.send, send)
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            send = await _Bubble(yielded)
        except BaseException as exc:  # cancellation goes into the coroutine
            error = exc
            send = None


class HeldRun:
    """One stream's LLM run, entered in a private context; terminal methods are idempotent."""

    __slots__ = ("_ctx", "run")

    def __init__(self, run: LLMRun) -> None:
        self.run = run
        self._ctx = contextvars.copy_context()

    @property
    def open(self) -> bool:
        """True until the terminal event was emitted."""
        return not self.run.done

    def enter(self) -> None:
        """Emit the start event (sync handlers; ``Abort`` from one propagates)."""
        self._ctx.run(self.run.__enter__)

    async def aenter(self) -> None:
        """Emit the start event, awaiting async handlers."""
        await _run_in(self._ctx, self.run.__aenter__())

    def _leave(self) -> None:
        # the run is done: this only drops it from the private context
        self._ctx.run(self.run.__exit__, None, None, None)

    def finish(self, **fields: Any) -> None:
        """Emit the end event with ``fields``."""
        if self.run.done:
            return
        self.run.finish(**fields)
        self._leave()

    async def afinish(self, **fields: Any) -> None:
        """Emit the end event, awaiting async handlers."""
        if self.run.done:
            return
        await self.run.afinish(**fields)
        self._leave()

    def fail(self, exc: BaseException) -> None:
        """Emit the error event for ``exc`` (cancelled for interrupts and cancellation)."""
        if self.run.done:
            return
        self.run.error(exc, **_fail_fields(exc))
        self._leave()

    async def afail(self, exc: BaseException) -> None:
        """Emit the error event for ``exc``, awaiting async handlers."""
        if self.run.done:
            return
        await self.run.aerror(exc, **_fail_fields(exc))
        self._leave()

    def report(self, error: str, **fields: Any) -> None:
        """Emit the error event for a failure the provider reported in-band (no exception)."""
        if self.run.done:
            return
        self.run.error(error, **fields)
        self._leave()

    async def areport(self, error: str, **fields: Any) -> None:
        """Async ``report``."""
        if self.run.done:
            return
        await self.run.aerror(error, **fields)
        self._leave()

    def stop_early(self, **fields: Any) -> None:
        """Emit the end event of a stream the consumer stopped: ``incomplete=True``."""
        self.finish(incomplete=True, **fields)

    async def astop_early(self, **fields: Any) -> None:
        """Async ``stop_early``."""
        await self.afinish(incomplete=True, **fields)
