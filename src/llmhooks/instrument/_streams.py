"""A decorated stream: the generator a decorated function yields from, or returns, kept in its run.

The run is a ``HeldRun`` (``core/held.py``): it ends exactly once, when the stream is
exhausted (end event), raises (error event), or is stopped early by ``break``,
``close()``, ``aclose()`` or garbage collection (end event with ``incomplete=True``
and what was produced so far). It is current around each resumption of the wrapped
generator only, so code between steps never sees it.

A stream returned by a decorated function is *primed* (advanced to an internal first
``yield`` before it is handed out), so even a stream that is dropped without being
iterated is closed, and its run ended, when it is collected.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

from llmhooks.core.held import HeldRun
from llmhooks.core.scope import activate, deactivate
from llmhooks.instrument._op import Op, StreamState

__all__ = ["PRIMED", "async_stream", "sync_stream"]

PRIMED = object()  # what a primed stream yields first; never seen by the consumer


def _close_inner(held: HeldRun, inner: Generator[Any, Any, Any]) -> None:
    activation = activate(held.run)
    try:
        inner.close()
    finally:
        deactivate(held.run, activation)


async def _aclose_inner(held: HeldRun, inner: AsyncGenerator[Any, Any]) -> None:
    activation = activate(held.run)
    try:
        await inner.aclose()
    finally:
        deactivate(held.run, activation)


def sync_stream(
    op: Op, held: HeldRun, inner: Generator[Any, Any, Any], primed: bool
) -> Generator[Any, Any, Any]:
    """Yield what ``inner`` yields (forwarding ``send``/``throw``/``close``) inside ``held``'s run."""
    run = held.run
    state = StreamState(op.keep_items and run.is_recording)  # nobody listens: keep nothing
    received: Any = None
    thrown: BaseException | None = None
    try:
        if primed:
            try:
                received = yield PRIMED
            except GeneratorExit:
                raise
            except BaseException as exc:
                thrown = exc
        while True:
            activation = activate(run)  # current for this step only
            try:
                item = inner.send(received) if thrown is None else inner.throw(thrown)
            except StopIteration as stop:
                result = stop.value
                break
            finally:
                thrown = None
                deactivate(run, activation)
            op.on_item(run, item, state)
            try:
                received = yield item
            except GeneratorExit:
                raise
            except BaseException as exc:
                thrown, received = exc, None
    except GeneratorExit:
        try:
            _close_inner(held, inner)
        except BaseException as exc:
            held.fail(exc)
            raise
        held.stop_early(**op.stream_end_fields(state, True))
        raise
    except BaseException as exc:
        try:
            _close_inner(held, inner)
        finally:
            held.fail(exc)
        raise
    held.finish(**op.stream_end_fields(state, False))
    return result


async def async_stream(
    op: Op, held: HeldRun, inner: AsyncGenerator[Any, Any], primed: bool
) -> AsyncGenerator[Any, Any]:
    """Async ``sync_stream``: forwards ``asend``/``athrow``/``aclose``; async handlers are awaited."""
    run = held.run
    state = StreamState(op.keep_items and run.is_recording)  # nobody listens: keep nothing
    received: Any = None
    thrown: BaseException | None = None
    try:
        if primed:
            try:
                received = yield PRIMED
            except GeneratorExit:
                raise
            except BaseException as exc:
                thrown = exc
        while True:
            activation = activate(run)
            try:
                if thrown is None:
                    item = await inner.asend(received)
                else:
                    item = await inner.athrow(thrown)
            except StopAsyncIteration:
                break
            finally:
                thrown = None
                deactivate(run, activation)
            await op.aon_item(run, item, state)
            try:
                received = yield item
            except GeneratorExit:
                raise
            except BaseException as exc:
                thrown, received = exc, None
    except GeneratorExit:
        try:
            await _aclose_inner(held, inner)
        except BaseException as exc:
            await held.afail(exc)
            raise
        await held.astop_early(**op.stream_end_fields(state, True))
        raise
    except BaseException as exc:
        try:
            await _aclose_inner(held, inner)
        finally:
            await held.afail(exc)
        raise
    await held.afinish(**op.stream_end_fields(state, False))
