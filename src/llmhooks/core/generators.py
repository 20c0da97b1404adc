"""Give a generator its own context, so the run tree stays right when it is resumed elsewhere.

Python 3.11 runs a generator's steps in whatever context resumes it, so a run
opened inside a generator would leak into its consumer, and runs started in a
later step would get the consumer's run as parent. ``isolated`` and
``aisolated`` run every step in one context copied when the generator was
wrapped (what ``contextvars`` would do per generator if PEP 568 had landed)::

    def stream():
        with llm_run(model="m", streaming=True) as run:
            for word in words:
                run.token(word)
                yield word

    for word in isolated(stream()):   # parent links stay right wherever it is resumed
        ...
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncGenerator, Generator
from collections.abc import Generator as _Gen
from typing import Any, TypeVar

__all__ = ["aisolated", "isolated"]

Y = TypeVar("Y")
S = TypeVar("S")
R = TypeVar("R")


def isolated(gen: Generator[Y, S, R], context: contextvars.Context | None = None) -> Generator[Y, S, R]:
    """Drive ``gen`` so each of its steps runs in ``context`` (default: a copy of the current one)."""
    ctx = context if context is not None else contextvars.copy_context()
    send: Any = None
    try:
        while True:
            try:
                item = ctx.run(gen.send, send)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            try:
                send = yield item
            except GeneratorExit:
                ctx.run(gen.close)
                raise
            except BaseException as exc:  # thrown in by our consumer: pass it on
                try:
                    item = ctx.run(gen.throw, exc)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                send = yield item
    finally:
        if getattr(gen, "gi_frame", None) is not None:
            ctx.run(gen.close)


class _Bubble:
    """Hands an object a coroutine yielded (a future) up to the event loop, and the answer back."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> _Gen[Any, Any, Any]:
        return (yield self.value)


async def _in_context(coro: Any, ctx: contextvars.Context) -> Any:
    # trampoline: every send/throw into the coroutine happens inside ctx
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
        except BaseException as exc:  # cancellation and the like go into the coroutine
            error = exc
            send = None


async def aisolated(
    agen: AsyncGenerator[Y, S], context: contextvars.Context | None = None
) -> AsyncGenerator[Y, S]:
    """Drive ``agen`` so each of its steps runs in ``context`` (default: a copy of the current one)."""
    ctx = context if context is not None else contextvars.copy_context()
    send: Any = None
    try:
        while True:
            try:
                item = await _in_context(agen.asend(send), ctx)
            except StopAsyncIteration:
                return
            try:
                send = yield item
            except GeneratorExit:
                await _in_context(agen.aclose(), ctx)
                raise
            except BaseException as exc:
                try:
                    item = await _in_context(agen.athrow(exc), ctx)
                except StopAsyncIteration:
                    return
                send = yield item
    finally:
        if getattr(agen, "ag_frame", None) is not None:
            await _in_context(agen.aclose(), ctx)
