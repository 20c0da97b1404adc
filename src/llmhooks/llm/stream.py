"""``ChatStream``: what ``LLM.stream()`` returns, read with ``for`` or ``async for``.

    for delta in llm.stream("Tell me a story"):          # sync
        print(delta, end="")
    async for delta in llm.stream("Tell me a story"):    # async
        print(delta, end="")
    stream.response        # the whole ChatResponse (usage, tool calls) once read to the end

The request is made on the first step, so one object serves both forms; reading
one stream both ways is an error. A stream is read once: once it has ended (read
to the end, failed or closed) it yields nothing more, as the SDKs' own stream
objects do, and ``response``/``text`` keep what it recorded. Each text delta is
one ``LLMTokenEvent``; the end of the stream gives the ``LLMEndEvent``. Stopping
early (``break`` then the stream is dropped, ``close()``, ``await aclose()``,
leaving a ``with`` block) closes the provider's HTTP stream and ends the run with
``incomplete=True``, the text so far and estimated counts. An error ends it with
the ``LLMErrorEvent``; the exception reaches the caller unchanged. Exactly one
terminal event either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

from llmhooks.core.held import HeldRun
from llmhooks.core.runs import LLMRun
from llmhooks.events import LLMTokenEvent
from llmhooks.llm.messages import estimated_usage
from llmhooks.llm.providers.base import ChatRequest, Provider, StreamItem
from llmhooks.llm.response import ChatResponse

__all__ = ["ChatStream"]


class ChatStream:
    """A streamed LLM call yielding text deltas; usable once, with ``for`` or ``async for``."""

    def __init__(self, provider: Provider, request: ChatRequest, make_run: Callable[[], LLMRun]) -> None:
        self._provider = provider
        self._request = request
        self._make_run = make_run
        self._held: HeldRun | None = None
        self._source: Iterator[StreamItem] | None = None
        self._asource: AsyncIterator[StreamItem] | None = None
        self._parts: list[str] = []
        self._every_token = True
        self._done = False
        self.response: ChatResponse | None = None
        """The complete answer, set when the stream has been read to the end."""

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._parts)

    def _partial(self) -> dict[str, Any]:
        text = self.text
        usage = estimated_usage(self._request.messages, text, [])
        return {
            "response": text,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "usage_estimated": True,
        }

    def _new_held(self) -> HeldRun | None:
        run = self._make_run()
        if not run.is_recording:
            return None
        self._held = HeldRun(run)
        # nobody taking token events as the stream starts: report only the first delta (TTFT)
        self._every_token = run.manager.wants(LLMTokenEvent)
        return self._held

    # sync

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> str:
        if self._done:  # finished, failed or closed: nothing more, and nothing recorded is lost
            raise StopIteration
        source = self._source
        if source is None:
            if self._asource is not None:
                raise TypeError("this stream is being read with 'async for'; do not mix it with 'for'")
            held = self._new_held()
            if held is not None:
                try:
                    held.start()
                except BaseException:  # a start handler refused the call (Abort): run already ended
                    self._done = True
                    raise
        held = self._held
        try:
            source = self._source
            if source is None:  # the first step opens the connection (and may fail): inside the run
                source = self._source = self._provider.stream(self._request)
                if held is not None:
                    with held.current():
                        item = next(source)
                else:
                    item = next(source)
            else:
                item = next(source)
        except StopIteration:
            self._ended(None)
            raise
        except BaseException as exc:
            self._done = True
            if held is not None:
                held.fail(exc)
            raise
        if isinstance(item, str):
            parts = self._parts
            parts.append(item)
            if held is not None and (self._every_token or len(parts) == 1):
                try:
                    held.run.token(item)
                except BaseException as exc:  # a handler stopped the call (Abort)
                    self._done = True
                    source.close()  # type: ignore[attr-defined]
                    held.fail(exc)
                    raise
            return item
        self._ended(item)
        raise StopIteration

    def _ended(self, response: ChatResponse | None) -> None:
        self._done = True
        self.response = response
        if self._held is not None:
            self._held.finish(**(response.end_fields() if response is not None else {}))

    def close(self) -> None:
        """Stop reading: close the provider's stream and end the run (``incomplete=True``)."""
        if self._done:
            return
        self._done = True
        if self._source is not None:
            self._source.close()  # type: ignore[attr-defined]
        if self._held is not None:
            self._held.stop_early(**self._partial())

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # async

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> str:
        if self._done:
            raise StopAsyncIteration
        source = self._asource
        if source is None:
            if self._source is not None:
                raise TypeError("this stream is being read with 'for'; do not mix it with 'async for'")
            held = self._new_held()
            if held is not None:
                try:
                    await held.astart()
                except BaseException:
                    self._done = True
                    raise
        held = self._held
        try:
            source = self._asource
            if source is None:
                source = self._asource = self._provider.astream(self._request)
                if held is not None:
                    with held.current():
                        item = await source.__anext__()
                else:
                    item = await source.__anext__()
            else:
                item = await source.__anext__()
        except StopAsyncIteration:
            await self._aended(None)
            raise
        except BaseException as exc:
            self._done = True
            if held is not None:
                await held.afail(exc)
            raise
        if isinstance(item, str):
            parts = self._parts
            parts.append(item)
            if held is not None and (self._every_token or len(parts) == 1):
                try:
                    await held.run.atoken(item)
                except BaseException as exc:
                    self._done = True
                    await source.aclose()  # type: ignore[attr-defined]
                    await held.afail(exc)
                    raise
            return item
        await self._aended(item)
        raise StopAsyncIteration

    async def _aended(self, response: ChatResponse | None) -> None:
        self._done = True
        self.response = response
        if self._held is not None:
            await self._held.afinish(**(response.end_fields() if response is not None else {}))

    async def aclose(self) -> None:
        """Async ``close``: the provider's stream is closed and awaited."""
        if self._done:
            return
        self._done = True
        if self._asource is not None:
            await self._asource.aclose()  # type: ignore[attr-defined]
        elif self._source is not None:
            self._source.close()  # type: ignore[attr-defined]
        if self._held is not None:
            await self._held.astop_early(**self._partial())

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # dropped half-read (e.g. after ``break``): end the run now; an async source is
        # closed by the event loop's async-generator finaliser
        if getattr(self, "_done", True):
            return
        try:
            self._done = True
            if self._source is not None:
                self._source.close()  # type: ignore[attr-defined]
            if self._held is not None:
                self._held.stop_early(**self._partial())
        except Exception:
            pass
