"""``instrument_anthropic``: events from a user's own ``anthropic`` client, against the local wire server."""

from __future__ import annotations

import gc
import inspect
from typing import Any

import anthropic
import pytest
from anthropic.lib.streaming import MessageStream, MessageStreamManager
from anthropic.types import Message
from tests._raised import raised
from tests.llm._wire import FastWireServer
from tests.servers.llm_wire import Reply, ToolCall

from llmhooks import (
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    LLMTokenEvent,
    chain_run,
    current_run,
    instrument_anthropic,
    uninstrument_anthropic,
)
from llmhooks.testing import RecordingCallbacks

MSGS: list[Any] = [{"role": "user", "content": "hi there"}]


def client(server: FastWireServer, rec: RecordingCallbacks | None, **kwargs: Any) -> anthropic.Anthropic:
    kwargs.setdefault("max_retries", 0)
    return instrument_anthropic(
        anthropic.Anthropic(base_url=server.base_url, api_key="k", **kwargs), callbacks=rec
    )


def aclient(server: FastWireServer, rec: RecordingCallbacks | None) -> anthropic.AsyncAnthropic:
    return instrument_anthropic(
        anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k", max_retries=0), callbacks=rec
    )


def end_of(rec: RecordingCallbacks) -> LLMEndEvent:
    rec.assert_terminated()
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent)
    return end


def test_create_returns_the_message(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``messages.create``: the usual ``Message``; system joins the start messages; usage normalised."""
    llm_server.reply("Hello", input_tokens=10, output_tokens=1, cached_tokens=6, cache_creation_tokens=2)
    result = client(llm_server, rec).messages.create(
        model="claude-x", max_tokens=64, system="be brief", messages=MSGS, stop_sequences=["END"]
    )
    assert type(result) is Message and result.content[0].text == "Hello"  # type: ignore[union-attr]
    start = rec.events[0]
    assert isinstance(start, LLMStartEvent)
    assert start.messages == [{"role": "system", "content": "be brief"}, *MSGS]
    assert (start.provider, start.model, start.max_tokens) == ("anthropic", "claude-x", 64)
    assert start.params == {"stop_sequences": ["END"]}
    end = end_of(rec)
    assert (end.input_tokens, end.output_tokens, end.cached_input_tokens, end.total_tokens) == (18, 1, 6, 19)
    assert (end.response, end.finish_reason, end.usage_estimated) == ("Hello", "stop", False)


async def test_async_create(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``AsyncAnthropic``: the same answer object and events."""
    llm_server.reply("Hi", input_tokens=2, output_tokens=1)
    result = await aclient(llm_server, rec).messages.create(model="c", max_tokens=9, messages=MSGS)
    assert type(result) is Message
    rec.assert_types(["llm.start", "llm.end"])


def test_stream_true_stays_an_sdk_stream(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``stream=True`` returns an ``anthropic.Stream``; tokens per text delta, usage from start and delta."""
    llm_server.reply("a b c", input_tokens=7, output_tokens=3, reasoning_tokens=1)
    stream = client(llm_server, rec).messages.create(model="c", max_tokens=9, messages=MSGS, stream=True)
    assert isinstance(stream, anthropic.Stream)
    kinds = [e.type for e in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert [t.token for t in rec.of_type(LLMTokenEvent)] == ["a", " b", " c"]
    end = end_of(rec)
    assert (end.input_tokens, end.output_tokens, end.reasoning_tokens, end.usage_estimated) == (
        7,
        3,
        1,
        False,
    )


async def test_async_stream_true(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """An async ``stream=True`` is an ``anthropic.AsyncStream`` with the same events."""
    llm_server.reply("x y", input_tokens=3, output_tokens=2)
    stream = await aclient(llm_server, rec).messages.create(
        model="c", max_tokens=9, messages=MSGS, stream=True
    )
    assert isinstance(stream, anthropic.AsyncStream)
    assert len([e async for e in stream]) > 4
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.end"]


def test_messages_stream_helper(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``messages.stream(...)`` (not built on ``create``) is reported; it stays a ``MessageStream``."""
    llm_server.reply("one two", input_tokens=5, output_tokens=2)
    manager = client(llm_server, rec).messages.stream(model="c", max_tokens=9, messages=MSGS)
    assert isinstance(manager, MessageStreamManager)
    with manager as stream:
        assert isinstance(stream, MessageStream)
        assert "".join(stream.text_stream) == "one two"
        assert stream.get_final_message().usage.output_tokens == 2
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.end"]
    assert rec.events[0].streaming is True  # type: ignore[attr-defined]
    assert end_of(rec).total_tokens == 7


def test_messages_stream_helper_early_exit(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Leaving ``with client.messages.stream(...)`` early ends the run incomplete, with the text so far."""
    llm_server.reply("one two three four")
    with client(llm_server, rec).messages.stream(model="c", max_tokens=9, messages=MSGS) as stream:
        first = next(iter(stream.text_stream))
    end = end_of(rec)
    assert end.incomplete is True and end.response == first == "one"


async def test_async_messages_stream_helper_early_exit(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """Leaving ``async with client.messages.stream(...)`` early ends the run incomplete."""
    llm_server.reply("one two three four")
    async with aclient(llm_server, rec).messages.stream(model="c", max_tokens=9, messages=MSGS) as stream:
        async for text in stream.text_stream:
            assert text == "one"
            break
    end = end_of(rec)
    assert end.incomplete is True and end.response == "one"


def test_tool_use_streamed_and_not(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``tool_use`` blocks become the end event's tool calls, whole or from ``input_json`` deltas."""
    call = ToolCall("add", {"a": 1, "b": 22}, call_id="toolu_3")
    llm_server.script(Reply(text="", tool_calls=(call,)), times=2)
    an = client(llm_server, rec)
    an.messages.create(model="c", max_tokens=9, messages=MSGS)
    list(an.messages.create(model="c", max_tokens=9, messages=MSGS, stream=True))
    calls = [e.tool_calls for e in rec.of_type(LLMEndEvent)]
    assert calls == [[{"id": "toolu_3", "name": "add", "arguments": {"a": 1, "b": 22}}]] * 2
    assert {e.finish_reason for e in rec.of_type(LLMEndEvent)} == {"tool_calls"}


def test_errors_are_the_sdk_exceptions(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """429 and 529 raise the SDK's own exceptions unchanged; both recoverable."""
    llm_server.fail(429)
    llm_server.fail(529)
    an = client(llm_server, rec)
    first = raised(lambda: an.messages.create(model="c", max_tokens=9, messages=MSGS))

    def enter_helper() -> None:
        with an.messages.stream(model="c", max_tokens=9, messages=MSGS):
            pass

    second = raised(enter_helper)
    errors = rec.of_type(LLMErrorEvent)
    assert [e.error for e in errors] == [first, second]
    assert [(e.error_code, e.is_recoverable) for e in errors] == [("429", True), ("529", True)]
    rec.assert_terminated()


def test_cut_stream_is_recoverable(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A cut stream: the SDK's error reaches the caller unchanged; the event calls it recoverable."""
    llm_server.cut_stream(after_chunks=4, reply=Reply("a b c"))
    an = client(llm_server, rec)
    caught = raised(lambda: list(an.messages.create(model="c", max_tokens=9, messages=MSGS, stream=True)))
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.is_recoverable is True
    assert error.error is caught and error.error_type == type(caught).__name__
    rec.assert_terminated()


def test_break_then_drop_ends_incomplete(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Dropping a half-read stream ends the run with ``incomplete=True``."""
    llm_server.reply("one two three")
    stream = client(llm_server, rec).messages.create(model="c", max_tokens=9, messages=MSGS, stream=True)
    for event in stream:
        if event.type == "content_block_delta":
            break
    del stream, event
    gc.collect()
    end = end_of(rec)
    assert end.incomplete is True and end.response == "one"


def test_instrument_twice_and_uninstrument(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Twice is once; ``uninstrument_anthropic`` restores every method, ``stream`` included."""
    llm_server.reply("x", times=3)
    an = client(llm_server, rec)
    instrument_anthropic(an, callbacks=rec)
    an.messages.create(model="c", max_tokens=9, messages=MSGS)
    rec.assert_types(["llm.start", "llm.end"])
    assert uninstrument_anthropic(an) is True
    assert not {"create", "stream", "parse"} & set(vars(an.messages))
    an.messages.create(model="c", max_tokens=9, messages=MSGS)
    with an.messages.stream(model="c", max_tokens=9, messages=MSGS) as stream:
        stream.until_done()
    assert len(rec.events) == 2


def test_signature_kept(llm_server: FastWireServer) -> None:
    """The wrapped ``create`` and ``stream`` keep the SDK's signatures."""
    plain = anthropic.Anthropic(base_url=llm_server.base_url, api_key="k")
    wrapped = client(llm_server, None)
    assert inspect.signature(wrapped.messages.create) == inspect.signature(plain.messages.create)
    assert inspect.signature(wrapped.messages.stream) == inspect.signature(plain.messages.stream)


def test_stream_run_is_a_child_and_does_not_leak(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A stream's run is a child of the caller's run, which stays current meanwhile."""
    llm_server.reply("a b")
    an = client(llm_server, rec)
    with chain_run("outer", callbacks=rec) as outer:
        with an.messages.stream(model="c", max_tokens=9, messages=MSGS) as stream:
            assert current_run() is outer
            stream.until_done()
        assert current_run() is outer
    assert rec.of_type(LLMStartEvent)[0].parent_run_id == outer.run_id


def test_not_a_client_is_refused() -> None:
    """Anything but an ``Anthropic``/``AsyncAnthropic`` client is a ``TypeError``."""
    with pytest.raises(TypeError, match=r"anthropic\.Anthropic"):
        instrument_anthropic("client")


def test_temperature_sent_in_extra_body_reaches_the_start_event(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """anthropic 2.x takes temperature through extra_body; the start event still reports it."""
    llm_server.reply("ok")
    client(llm_server, rec).messages.create(
        model="claude-x", max_tokens=8, messages=MSGS, extra_body={"temperature": 0.3}
    )
    assert rec.of_type(LLMStartEvent)[0].temperature == 0.3
    assert llm_server.last_request.json["temperature"] == 0.3


def test_client_level_raw_response_view_made_before_instrumenting_is_reported(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """client.with_raw_response cached before instrument_anthropic still goes through it."""
    llm_server.reply("raw")
    sdk = anthropic.Anthropic(base_url=llm_server.base_url, api_key="k", max_retries=0)
    _ = sdk.with_raw_response  # the SDK caches this view on first use
    instrument_anthropic(sdk, callbacks=rec)
    sdk.with_raw_response.messages.create(model="claude-x", max_tokens=8, messages=MSGS)
    assert rec.types() == ["llm.start", "llm.end"]
