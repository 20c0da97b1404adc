"""Decorated streams: one run per stream, token events per item, exactly one terminal event."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from llmhooks import (
    Abort,
    Callbacks,
    LLMEndEvent,
    LLMErrorEvent,
    LLMTokenEvent,
    current_run,
    llm_run,
    set_global_callbacks,
)
from llmhooks.instrument import instrument_llm, llm_chat_callback, llm_completion_callback
from llmhooks.testing import RecordingCallbacks

from .llama_types import ChatMessage, ChatResponse, CompletionResponse

TOKENS = ["Hello", " world", "!"]


class MyStreamingLLM:
    """Seed 003's "Async Streaming Usage" class plus its sync and completion twins."""

    model = "stream-model"

    def __init__(self) -> None:
        self.inside: list[Any] = []  # current_run() seen at each step

    @llm_chat_callback()
    async def astream_chat(self, messages: list[ChatMessage], **kwargs: Any) -> AsyncIterator[ChatResponse]:
        async def gen() -> AsyncIterator[ChatResponse]:
            for token in TOKENS:
                self.inside.append(current_run())
                yield ChatResponse(message=ChatMessage(role="assistant", content=token))

        return gen()

    @llm_chat_callback()
    def stream_chat(self, messages: list[ChatMessage], **kwargs: Any) -> Iterator[ChatResponse]:
        def gen() -> Iterator[ChatResponse]:
            text = ""
            for token in TOKENS:
                self.inside.append(current_run())
                text += token
                yield ChatResponse(message=ChatMessage(role="assistant", content=text), delta=token)

        return gen()

    @llm_completion_callback()
    def stream_complete(self, prompt: str, **kwargs: Any) -> Iterator[CompletionResponse]:
        text = ""
        for i, token in enumerate(TOKENS):
            self.inside.append(current_run())
            text += token
            raw = {"usage": {"prompt_tokens": 4, "completion_tokens": 3}} if i == len(TOKENS) - 1 else None
            yield CompletionResponse(text=text, delta=token, raw=raw)

    @llm_completion_callback()
    async def astream_complete(self, prompt: str, **kwargs: Any) -> AsyncIterator[CompletionResponse]:
        for token in TOKENS:
            self.inside.append(current_run())
            await asyncio.sleep(0)
            yield CompletionResponse(text=token, delta=token)


def _check_full_stream(rec: RecordingCallbacks) -> None:
    rec.assert_types(["llm.start", "llm.token", "llm.token", "llm.token", "llm.end"])
    start = rec.events[0]
    tokens = rec.of_type(LLMTokenEvent)
    assert [t.token for t in tokens] == TOKENS and [t.index for t in tokens] == [0, 1, 2]
    assert tokens[0].is_first and tokens[0].time_to_first_token_ms is not None
    assert not tokens[1].is_first and tokens[1].time_to_first_token_ms is None
    end = rec.of_type(LLMEndEvent)[0]
    assert end.response == "Hello world!" and not end.incomplete
    assert end.time_to_first_token_ms is not None
    assert start.streaming and all(e.run_id == start.run_id for e in rec.events)


def test_returned_generator(rec: RecordingCallbacks) -> None:
    """A method returning a generator (stream_chat) streams inside one run."""
    llm = MyStreamingLLM()
    items = list(llm.stream_chat([ChatMessage(content="hi")]))
    assert [i.delta for i in items] == TOKENS
    _check_full_stream(rec)


def test_generator_function_with_usage_on_last_item(rec: RecordingCallbacks) -> None:
    """A generator method streams inside one run; usage in the last item's raw reaches the end."""
    list(MyStreamingLLM().stream_complete("hi"))
    _check_full_stream(rec)
    end = rec.of_type(LLMEndEvent)[0]
    assert (end.input_tokens, end.output_tokens, end.total_tokens) == (4, 3, 7)


async def test_returned_async_generator_seed_example(rec: RecordingCallbacks) -> None:
    """Seed 003's astream_chat: items without delta count their content as the delta."""
    llm = MyStreamingLLM()
    stream = await llm.astream_chat([ChatMessage(content="hi")])
    assert [r.message.content async for r in stream] == TOKENS
    _check_full_stream(rec)


async def test_async_generator_function(rec: RecordingCallbacks) -> None:
    """An async generator method streams inside one run."""
    assert [r.delta async for r in MyStreamingLLM().astream_complete("hi")] == TOKENS
    _check_full_stream(rec)


def test_run_is_current_inside_each_step_only(rec: RecordingCallbacks) -> None:
    """Each resumed step sees the stream's run; the consumer between steps sees its own run."""
    llm = MyStreamingLLM()
    between: list[Any] = []
    with llm_run(model="consumer") as outer:
        for _ in llm.stream_complete("hi"):
            between.append(current_run())
    stream_run_id = rec.events[1].run_id
    assert [r.run_id for r in llm.inside] == [stream_run_id] * 3
    assert all(r is outer for r in between)
    assert rec.events[1].parent_run_id == outer.run_id


async def test_async_run_is_current_inside_each_step_only(rec: RecordingCallbacks) -> None:
    """The same for async streams, consumed in another task than the one that made them."""
    llm = MyStreamingLLM()
    stream = await llm.astream_chat([ChatMessage(content="hi")])
    between: list[Any] = []

    async def consume() -> None:
        async for _ in stream:
            between.append(current_run())

    await asyncio.create_task(consume())
    run_id = rec.events[0].run_id
    assert [r.run_id for r in llm.inside] == [run_id] * 3
    assert between == [None, None, None]


# early stops: break, close(), aclose(), garbage collection


def _check_incomplete(rec: RecordingCallbacks, produced: str) -> None:
    ends = [e for e in rec.events if e.type in ("llm.end", "llm.error")]
    assert len(ends) == 1, rec.types()
    end = ends[0]
    assert isinstance(end, LLMEndEvent) and end.incomplete and end.response == produced
    rec.assert_terminated()


def test_break_ends_run_incomplete(rec: RecordingCallbacks) -> None:
    """``break`` out of a for loop ends the run at once with what was produced."""
    for item in MyStreamingLLM().stream_chat([ChatMessage(content="hi")]):
        assert item.delta == "Hello"
        break
    _check_incomplete(rec, "Hello")


def test_close_ends_run_incomplete(rec: RecordingCallbacks) -> None:
    """``close()`` after two items ends the run with both."""
    stream = MyStreamingLLM().stream_complete("hi")
    next(stream)
    next(stream)
    stream.close()
    _check_incomplete(rec, "Hello world")
    stream.close()  # closing again adds nothing
    _check_incomplete(rec, "Hello world")


def test_garbage_collection_ends_run_incomplete(rec: RecordingCallbacks) -> None:
    """A stream dropped half-way, or never iterated, ends its run when collected."""
    stream = MyStreamingLLM().stream_chat([ChatMessage(content="hi")])
    next(stream)
    del stream
    gc.collect()
    _check_incomplete(rec, "Hello")
    rec.clear()
    untouched = MyStreamingLLM().stream_chat([ChatMessage(content="hi")])
    del untouched
    gc.collect()
    rec.assert_types(["llm.start", "llm.end"])
    assert rec.events[1].incomplete  # type: ignore[attr-defined]


async def test_async_break_and_aclose_end_run_incomplete(rec: RecordingCallbacks) -> None:
    """``break`` then ``aclose()`` ends an async stream's run with what was produced."""
    stream = await MyStreamingLLM().astream_chat([ChatMessage(content="hi")])
    async for _ in stream:
        break
    await stream.aclose()
    _check_incomplete(rec, "Hello")


async def test_aclose_async_generator_function(rec: RecordingCallbacks) -> None:
    """``aclose()`` on an async generator method ends its run."""
    stream = MyStreamingLLM().astream_complete("hi")
    assert (await stream.__anext__()).delta == "Hello"
    assert (await stream.__anext__()).delta == " world"
    await stream.aclose()
    _check_incomplete(rec, "Hello world")


async def test_async_garbage_collection_ends_run_incomplete(rec: RecordingCallbacks) -> None:
    """An async stream dropped after ``break`` is closed by the loop and ends its run."""

    async def consume() -> None:
        async for _ in MyStreamingLLM().astream_complete("hi"):
            break

    await consume()
    for _ in range(20):
        gc.collect()
        await asyncio.sleep(0)
        if len(rec.events) >= 3:
            break
    _check_incomplete(rec, "Hello")


async def test_async_returned_stream_never_iterated_ends_when_collected(rec: RecordingCallbacks) -> None:
    """A returned async stream that is dropped unused still ends its run."""
    stream = await MyStreamingLLM().astream_chat([ChatMessage(content="hi")])
    del stream
    for _ in range(20):
        gc.collect()
        await asyncio.sleep(0)
        if len(rec.events) >= 2:
            break
    rec.assert_types(["llm.start", "llm.end"])
    assert rec.events[1].incomplete  # type: ignore[attr-defined]


# failures inside streams


def test_error_mid_stream_gives_one_error_event(rec: RecordingCallbacks) -> None:
    """A stream that raises after one item gives one token and one error event."""

    @instrument_llm(model="m")
    def stream(prompt: str) -> Iterator[str]:
        yield "a"
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        list(stream("x"))
    rec.assert_types(["llm.start", "llm.token", "llm.error"])
    err = rec.events[-1]
    assert isinstance(err, LLMErrorEvent) and err.error_type == "TimeoutError"


class _AbortsOnError(Callbacks):
    def on_llm_error(self, event: LLMErrorEvent) -> None:
        raise Abort("refused on the error event")


def test_a_handler_aborting_on_a_streams_error_never_replaces_the_streams_exception(
    rec: RecordingCallbacks, caplog: pytest.LogCaptureFixture
) -> None:
    """The stream's own exception reaches the caller; the handler's Abort is reported."""
    set_global_callbacks([rec, _AbortsOnError()])

    @instrument_llm(model="m")
    def stream(prompt: str) -> Iterator[str]:
        yield "a"
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        list(stream("x"))
    rec.assert_types(["llm.start", "llm.token", "llm.error"])
    assert "the call's own exception was kept" in caplog.text


async def test_async_a_handler_aborting_on_a_streams_error_never_replaces_its_exception(
    rec: RecordingCallbacks,
) -> None:
    """The same for an async stream."""
    set_global_callbacks([rec, _AbortsOnError()])

    @instrument_llm(model="m")
    async def stream(prompt: str) -> AsyncIterator[str]:
        yield "a"
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        async for _ in stream("x"):
            pass
    rec.assert_types(["llm.start", "llm.token", "llm.error"])


async def test_async_error_mid_stream_gives_one_error_event(rec: RecordingCallbacks) -> None:
    """The same for an async stream."""

    @instrument_llm(model="m")
    async def stream(prompt: str) -> AsyncIterator[str]:
        yield "a"
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        async for _ in stream("x"):
            pass
    rec.assert_types(["llm.start", "llm.token", "llm.error"])


async def test_cancelled_consumer_gives_cancelled_error_event(rec: RecordingCallbacks) -> None:
    """Cancelling the task that iterates a stream ends the run with ``cancelled=True``."""
    started = asyncio.Event()

    @instrument_llm(model="m")
    async def stream(prompt: str) -> AsyncIterator[str]:
        yield "a"
        started.set()
        await asyncio.sleep(10)
        yield "b"

    async def consume() -> None:
        async for _ in stream("x"):
            pass

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rec.types()[-1] == "llm.error" and rec.events[-1].cancelled  # type: ignore[attr-defined]
    rec.assert_terminated()


def test_send_and_throw_reach_the_wrapped_generator(rec: RecordingCallbacks) -> None:
    """``send`` values and thrown exceptions are forwarded; a caught throw keeps the stream going."""
    received: list[Any] = []

    @instrument_llm(model="m")
    def chatty(prompt: str) -> Iterator[str]:
        try:
            got = yield "first"
            received.append(got)
        except KeyError:
            received.append("caught")
        yield "second"
        return "done"

    gen = chatty("x")
    assert next(gen) == "first"
    assert gen.throw(KeyError("k")) == "second"
    with pytest.raises(StopIteration) as stop:
        gen.send(None)
    assert stop.value.value == "done" and received == ["caught"]
    rec.assert_types(["llm.start", "llm.token", "llm.token", "llm.end"])


def test_token_handler_abort_stops_the_stream(rec: RecordingCallbacks) -> None:
    """A token handler raising ``Abort`` stops the stream and closes the wrapped generator."""
    from llmhooks import Callbacks
    from llmhooks.errors import Abort

    closed: list[bool] = []

    class StopAfterOne(Callbacks):
        def on_llm_token(self, event: LLMTokenEvent) -> None:
            raise Abort("enough")

    @instrument_llm(model="m", callbacks=StopAfterOne())
    def stream(prompt: str) -> Iterator[str]:
        try:
            yield "a"
            yield "b"
        finally:
            closed.append(True)

    with pytest.raises(Abort):
        list(stream("x"))
    assert closed == [True]
    rec.assert_terminated()
    assert rec.types()[-1] == "llm.error"
