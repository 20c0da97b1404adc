"""Pick one of four wrappers at decoration time and build it around an ``Op``.

- ``def`` → the run spans the call; if the call *returns* a generator or an
  async generator (LlamaIndex's ``stream_chat`` style), the run stays open
  across that stream instead.
- ``async def`` → the same, awaited, with async handlers awaited.
- generator function → the run opens at the first ``next()`` and spans the stream.
- async generator function → the same with ``async for``.

The wrapper keeps ``__name__``, ``__qualname__``, ``__doc__``, ``__module__``
and ``__wrapped__`` (``functools.wraps``) and the function kind, so
``inspect.iscoroutinefunction`` and friends answer as for the original.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import AsyncGeneratorType, GeneratorType
from typing import Any

from llmhooks.core.held import HeldRun
from llmhooks.instrument._op import Op
from llmhooks.instrument._streams import async_stream, sync_stream

__all__ = ["MARK", "already_instrumented", "wrap"]

MARK = "__llmhooks_instrumented__"


def already_instrumented(fn: Any) -> bool:
    """True if ``fn``, or a function it wraps (``__wrapped__`` chain), is ours."""
    seen = 0
    while fn is not None and seen < 32:
        if getattr(fn, MARK, None) is not None:
            return True
        fn = getattr(fn, "__wrapped__", None)
        seen += 1
    return False


def _prime_sync(op: Op, held: HeldRun, gen: Any) -> Any:
    stream = sync_stream(op, held, gen, primed=True)
    next(stream)  # runs only to the internal first yield: nothing is pulled from gen
    return stream


def _returned_stream(op: Op, run: Any, result: Any) -> Any:
    # the call returned a stream: its run, entered for the call, goes on with the stream
    held = HeldRun(run.detach())
    if type(result) is GeneratorType:
        return _prime_sync(op, held, result)
    # an async generator from a sync function: cannot be primed without a loop
    return async_stream(op, held, result, primed=False)


def _sync_wrapper(op: Op, fn: Callable[..., Any]) -> Callable[..., Any]:
    begin, end_fields = op.begin, op.end_fields

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = begin(args, kwargs)
        if run is None:
            return fn(*args, **kwargs)
        run.__enter__()
        try:
            result = fn(*args, **kwargs)
            rt = type(result)
            if rt is GeneratorType or rt is AsyncGeneratorType:
                return _returned_stream(op, run, result)
            if run.is_recording and not run.done:
                run.finish(**end_fields(result))
        except BaseException as exc:
            run.__exit__(type(exc), exc, exc.__traceback__)
            raise
        run.__exit__(None, None, None)
        return result

    return wrapper


def _async_wrapper(op: Op, fn: Callable[..., Any]) -> Callable[..., Any]:
    begin, end_fields = op.begin, op.end_fields

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = begin(args, kwargs)
        if run is None:
            return await fn(*args, **kwargs)
        await run.__aenter__()
        try:
            result = await fn(*args, **kwargs)
            rt = type(result)
            if rt is AsyncGeneratorType:
                stream = async_stream(op, HeldRun(run.detach()), result, primed=True)
                await stream.asend(None)  # prime: a dropped stream still ends its run
                return stream
            if rt is GeneratorType:
                return _prime_sync(op, HeldRun(run.detach()), result)
            if run.is_recording and not run.done:
                await run.afinish(**end_fields(result))
        except BaseException as exc:
            await run.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        await run.__aexit__(None, None, None)
        return result

    return wrapper


def _gen_wrapper(op: Op, fn: Callable[..., Any]) -> Callable[..., Any]:
    begin = op.begin

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = begin(args, kwargs)
        if run is None:
            return (yield from fn(*args, **kwargs))
        held = HeldRun(run).start()
        try:
            with held.current():
                inner = fn(*args, **kwargs)
        except BaseException as exc:
            held.fail(exc)
            raise
        return (yield from sync_stream(op, held, inner, primed=False))

    return wrapper


def _agen_wrapper(op: Op, fn: Callable[..., Any]) -> Callable[..., Any]:
    begin = op.begin

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = begin(args, kwargs)
        held = None if run is None else await HeldRun(run).astart()
        try:
            inner = fn(*args, **kwargs)
        except BaseException as exc:
            if held is not None:
                await held.afail(exc)
            raise
        stream = inner if held is None else async_stream(op, held, inner, primed=False)
        # async generators have no ``yield from``: forward asend/athrow by hand
        received: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                if thrown is None:
                    item = await stream.asend(received)
                else:
                    item = await stream.athrow(thrown)
            except StopAsyncIteration:
                return
            finally:
                thrown = None
            try:
                received = yield item
            except GeneratorExit:
                await stream.aclose()
                raise
            except BaseException as exc:
                thrown, received = exc, None

    return wrapper


def wrap(op: Op, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The wrapper for ``fn`` (chosen by its kind), marked as ours."""
    if inspect.isasyncgenfunction(fn):
        wrapper = _agen_wrapper(op, fn)
    elif inspect.isgeneratorfunction(fn):
        wrapper = _gen_wrapper(op, fn)
    elif inspect.iscoroutinefunction(fn):
        wrapper = _async_wrapper(op, fn)
    else:
        wrapper = _sync_wrapper(op, fn)
    functools.update_wrapper(wrapper, fn)
    setattr(wrapper, MARK, op.key)
    return wrapper


def decorate(make_op: Callable[[Callable[..., Any]], Op], fn: Any) -> Any:
    """Apply an op factory to ``fn``; ``staticmethod``/``classmethod`` objects are
    unwrapped and re-wrapped; an already instrumented ``fn`` is returned as is."""
    if isinstance(fn, (staticmethod, classmethod)):
        return type(fn)(decorate(make_op, fn.__func__))
    if not callable(fn):
        raise TypeError(f"can only instrument a function or method, got {fn!r}")
    if already_instrumented(fn):
        return fn
    return wrap(make_op(fn), fn)
