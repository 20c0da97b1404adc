"""``StreamingProgress``: hand streamed text to your own functions as it arrives.

    progress = StreamingProgress(
        on_chunk=lambda chunk: print(chunk, end="", flush=True),
        on_complete=lambda: print("\\nDone!"),
    )
    llm = LLM(provider="openai", callbacks=[progress])
    async for chunk in llm.stream("Tell me a story"):
        pass

``on_chunk`` gets each streamed text delta; ``on_complete`` runs when a streamed
call ends, ``on_error`` when it fails. Each may be a plain function or an
``async def``: in async code it is awaited; in sync code an async one runs as
``Callbacks`` describes for async methods. Each may take the event as an extra
argument: ``on_chunk(chunk, event)``, ``on_complete(event)``, ``on_error(error, event)``.
A call counts as streamed when its start says ``streaming=True`` or a token
arrives; calls that never stream do not trigger ``on_complete``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from llmhooks.core._aio import run_coroutine_from_sync
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import Event, LLMEndEvent, LLMErrorEvent, LLMStartEvent, LLMTokenEvent

__all__ = ["StreamingProgress"]

_Call = Callable[[Any, Event], Any]


def _adapt(fn: Callable[..., Any] | None, name: str, args: int) -> _Call | None:
    """Wrap ``fn`` so it is always called as ``call(value, event)``; its arity is read once, here."""
    if fn is None:
        return None
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins: assume the plain form
        sig = None

    def accepts(n: int) -> bool:
        if sig is None:
            return n == args
        try:
            sig.bind(*range(n))
            return True
        except TypeError:
            return False

    if args == 0:  # on_complete(): value unused
        if accepts(0):
            return lambda value, event: fn()
        if accepts(1):
            return lambda value, event: fn(event)
    else:
        if accepts(1):
            return lambda value, event: fn(value)
        if accepts(2):
            return fn
    raise TypeError(
        f"{name} must take {'no argument or the event' if args == 0 else '(value) or (value, event)'}"
    )


def _report(exc: BaseException) -> None:
    # an async callback scheduled from sync code inside a running loop failed after emit returned
    import logging

    logging.getLogger("llmhooks").error("StreamingProgress callback failed", exc_info=exc)


class StreamingProgress(Callbacks):
    """Calls ``on_chunk`` for each streamed token and ``on_complete`` when the stream ends.

    Args:
        on_chunk: ``(chunk)`` or ``(chunk, event)``; sync or async.
        on_complete: ``()`` or ``(event)``; sync or async.
        on_error: ``(error)`` or ``(error, event)``; sync or async.

    Raises:
        TypeError: a callback is not callable or cannot take those arguments.
    """

    def __init__(
        self,
        on_chunk: Callable[..., Any] | None = None,
        on_complete: Callable[..., Any] | None = None,
        *,
        on_error: Callable[..., Any] | None = None,
    ) -> None:
        self._chunk = _adapt(on_chunk, "on_chunk", 1)
        self._complete = _adapt(on_complete, "on_complete", 0)
        self._error = _adapt(on_error, "on_error", 1)
        self._streams: dict[str, bool] = {}  # run ids of calls that stream; dict ops are atomic

    def on_llm_start(self, event: LLMStartEvent) -> None:
        if event.streaming:
            self._streams[event.run_id] = True

    def _sync(self, call: _Call | None, value: Any, event: Event) -> None:
        if call is None:
            return
        result = call(value, event)
        if result is not None and inspect.iscoroutine(result):
            run_coroutine_from_sync(result, None, _report)

    async def _async(self, call: _Call | None, value: Any, event: Event) -> None:
        if call is None:
            return
        result = call(value, event)
        if result is not None and inspect.isawaitable(result):
            await result

    def on_llm_token(self, event: LLMTokenEvent) -> None:
        if event.is_first:
            self._streams[event.run_id] = True
        self._sync(self._chunk, event.token, event)

    async def on_llm_token_async(self, event: LLMTokenEvent) -> None:
        if event.is_first:
            self._streams[event.run_id] = True
        await self._async(self._chunk, event.token, event)

    def on_llm_end(self, event: LLMEndEvent) -> None:
        if self._streams.pop(event.run_id, False):
            self._sync(self._complete, None, event)

    async def on_llm_end_async(self, event: LLMEndEvent) -> None:
        if self._streams.pop(event.run_id, False):
            await self._async(self._complete, None, event)

    def on_llm_error(self, event: LLMErrorEvent) -> None:
        if self._streams.pop(event.run_id, False):
            self._sync(self._error, event.error, event)

    async def on_llm_error_async(self, event: LLMErrorEvent) -> None:
        if self._streams.pop(event.run_id, False):
            await self._async(self._error, event.error, event)

    @property
    def active_streams(self) -> int:
        """Streamed calls started and not finished."""
        return len(self._streams)
