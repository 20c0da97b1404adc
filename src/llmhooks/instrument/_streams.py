"""Keep a run open across a stream, with the run current inside each step only.

A stream's run ends exactly once: when the stream is exhausted (end event),
raises (error event), or is stopped early by ``break``, ``close()``,
``aclose()`` or garbage collection (end event with ``incomplete=True`` where
the event has that field, and what was produced so far). The run is made
current around each resumption of the wrapped generator and the caller's
current run is restored after it, so code between steps never sees it.

A stream returned by a decorated function is *primed* (advanced to an internal
first ``yield`` before it is handed out), so even a stream that is dropped
without being iterated is closed, and its run ended, when it is collected.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

from llmhooks.core.scope import _current, activate, deactivate
from llmhooks.instrument._op import Op, StreamState

__all__ = ["PRIMED", "async_stream", "sync_stream"]

PRIMED = object()  # what a primed stream yields first; never seen by the consumer


def _end(op: Op, run: Any, state: StreamState, incomplete: bool) -> None:
    saved = _current.get()
    _current.set(run)
    try:
        if run.is_recording and not run.done:
            run.finish(**op.stream_end_fields(state, incomplete))
    finally:
        try:
            run.__exit__(None, None, None)
        finally:
            _current.set(saved)


async def _aend(op: Op, run: Any, state: StreamState, incomplete: bool) -> None:
    saved = _current.get()
    _current.set(run)
    try:
        if run.is_recording and not run.done:
            await run.afinish(**op.stream_end_fields(state, incomplete))
    finally:
        try:
            await run.__aexit__(None, None, None)
        finally:
            _current.set(saved)


def fail(run: Any, exc: BaseException) -> None:
    """End ``run`` with the error event for ``exc``, keeping the caller's current run."""
    saved = _current.get()
    _current.set(run)
    try:
        run.__exit__(type(exc), exc, exc.__traceback__)
    finally:
        _current.set(saved)


async def afail(run: Any, exc: BaseException) -> None:
    """Async ``fail``."""
    saved = _current.get()
    _current.set(run)
    try:
        await run.__aexit__(type(exc), exc, exc.__traceback__)
    finally:
        _current.set(saved)


def _close_inner(run: Any, inner: Generator[Any, Any, Any]) -> None:
    token = _current.set(run)
    try:
        inner.close()
    finally:
        _current.reset(token)


async def _aclose_inner(run: Any, inner: AsyncGenerator[Any, Any]) -> None:
    token = _current.set(run)
    try:
        await inner.aclose()
    finally:
        _current.reset(token)


def sync_stream(op: Op, run: Any, inner: Generator[Any, Any, Any], primed: bool) -> Generator[Any, Any, Any]:
    """Yield what ``inner`` yields (forwarding ``send``/``throw``/``close``) inside ``run``."""
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
            _close_inner(run, inner)
        except BaseException as exc:
            fail(run, exc)
            raise
        _end(op, run, state, incomplete=True)
        raise
    except BaseException as exc:
        try:
            _close_inner(run, inner)
        finally:
            fail(run, exc)
        raise
    _end(op, run, state, incomplete=False)
    return result


async def async_stream(
    op: Op, run: Any, inner: AsyncGenerator[Any, Any], primed: bool
) -> AsyncGenerator[Any, Any]:
    """Async ``sync_stream``: forwards ``asend``/``athrow``/``aclose``; async handlers are awaited."""
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
            await _aclose_inner(run, inner)
        except BaseException as exc:
            await afail(run, exc)
            raise
        await _aend(op, run, state, incomplete=True)
        raise
    except BaseException as exc:
        try:
            await _aclose_inner(run, inner)
        finally:
            await afail(run, exc)
        raise
    await _aend(op, run, state, incomplete=False)
