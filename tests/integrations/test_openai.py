"""``instrument_openai``: events from a user's own ``openai`` client, against the local wire server."""

from __future__ import annotations

import gc
import inspect
from typing import Any

import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamManager
from openai.types.chat import ChatCompletion
from openai.types.responses import Response
from tests._raised import araised, raised
from tests.llm._wire import FastWireServer
from tests.servers.llm_wire import Reply, ToolCall

from llmhooks import (
    Abort,
    Callbacks,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    LLMTokenEvent,
    chain_run,
    current_run,
    instrument_openai,
    set_global_callbacks,
    uninstrument_openai,
)
from llmhooks.llm import LLM
from llmhooks.testing import RecordingCallbacks

MSGS: list[Any] = [{"role": "user", "content": "hi there"}]
USAGE = {"stream_options": {"include_usage": True}}


def client(server: FastWireServer, rec: RecordingCallbacks | None, **kwargs: Any) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    return instrument_openai(
        openai.OpenAI(base_url=server.openai_base_url, api_key="k", **kwargs), callbacks=rec
    )


def aclient(server: FastWireServer, rec: RecordingCallbacks | None) -> openai.AsyncOpenAI:
    return instrument_openai(
        openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0), callbacks=rec
    )


def end_of(rec: RecordingCallbacks) -> LLMEndEvent:
    rec.assert_terminated()
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent)
    return end


# -- call shapes -----------------------------------------------------------------------------


def test_create_returns_the_sdk_answer_and_fires_start_end(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """A plain ``create``: the usual ``ChatCompletion`` back; start with the request, end with usage."""
    llm_server.reply("Hello", input_tokens=12, output_tokens=1, cached_tokens=4, reasoning_tokens=1)
    result = client(llm_server, rec).chat.completions.create(
        model="gpt-x", messages=MSGS, temperature=0.3, seed=7
    )
    assert type(result) is ChatCompletion and result.choices[0].message.content == "Hello"
    start = rec.events[0]
    assert isinstance(start, LLMStartEvent)
    assert (start.provider, start.model, start.messages, start.temperature) == ("openai", "gpt-x", MSGS, 0.3)
    assert start.streaming is False and start.params == {"seed": 7}
    end = end_of(rec)
    assert (end.response, end.finish_reason) == ("Hello", "stop")
    assert (end.input_tokens, end.output_tokens, end.total_tokens) == (12, 1, 13)
    assert (end.cached_input_tokens, end.reasoning_tokens, end.usage_estimated) == (4, 1, False)


async def test_async_create(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``AsyncOpenAI``: the same answer object and events."""
    llm_server.reply("Hi", input_tokens=2, output_tokens=1)
    result = await aclient(llm_server, rec).chat.completions.create(model="m", messages=MSGS)
    assert type(result) is ChatCompletion
    rec.assert_types(["llm.start", "llm.end"])
    assert end_of(rec).total_tokens == 3


def test_stream_stays_an_sdk_stream(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``stream=True`` returns an ``openai.Stream`` yielding the same chunks."""
    llm_server.reply("a b c", input_tokens=6, output_tokens=3)
    stream = client(llm_server, rec).chat.completions.create(model="m", messages=MSGS, stream=True, **USAGE)
    assert isinstance(stream, openai.Stream)
    chunks = list(stream)
    texts = [c.choices[0].delta.content for c in chunks if c.choices]
    assert texts == ["", "a", " b", " c", None]
    assert chunks[-1].usage is not None  # the usage chunk the user asked for
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.token", "llm.end"]
    assert [t.token for t in rec.of_type(LLMTokenEvent)] == ["a", " b", " c"]
    end = end_of(rec)
    assert (end.input_tokens, end.output_tokens, end.usage_estimated, end.response) == (6, 3, False, "a b c")
    assert rec.events[0].streaming is True  # type: ignore[attr-defined]


def test_end_only_handler_still_gets_time_to_first_token(llm_server: FastWireServer) -> None:
    """A handler taking only end events gets no token events, yet the time to first token is there."""

    class EndOnly(Callbacks):
        def __init__(self) -> None:
            self.ends: list[LLMEndEvent] = []

        def on_llm_end(self, event: LLMEndEvent) -> None:
            self.ends.append(event)

    handler = EndOnly()
    llm_server.reply("a b c")
    oa = instrument_openai(openai.OpenAI(base_url=llm_server.openai_base_url, api_key="k"), callbacks=handler)
    list(oa.chat.completions.create(model="m", messages=MSGS, stream=True))
    [end] = handler.ends
    assert end.time_to_first_token_ms is not None and end.response == "a b c"


def test_request_is_never_altered(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Without ``include_usage`` nothing is added to the request; counts are estimated and marked."""
    llm_server.reply("a b c")
    chunks = list(client(llm_server, rec).chat.completions.create(model="m", messages=MSGS, stream=True))
    assert "stream_options" not in llm_server.last_request.json
    assert all(c.choices for c in chunks)  # no extra usage chunk with empty choices
    end = end_of(rec)
    assert end.usage_estimated is True and end.input_tokens and end.output_tokens


async def test_async_stream(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """An async stream is an ``openai.AsyncStream`` and reports tokens and exact usage."""
    llm_server.reply("x y", input_tokens=3, output_tokens=2)
    stream = await aclient(llm_server, rec).chat.completions.create(
        model="m", messages=MSGS, stream=True, **USAGE
    )
    assert isinstance(stream, openai.AsyncStream)
    async with stream:
        chunks = [c async for c in stream]
    assert len(chunks) == 5
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.end"]
    assert end_of(rec).total_tokens == 5


def test_streamed_tool_call(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Tool-call fragments are joined into the end event's tool calls."""
    call = ToolCall("lookup", {"query": "a long enough query"}, call_id="call_5")
    llm_server.script(Reply(text="", tool_calls=(call,)))
    list(client(llm_server, rec).chat.completions.create(model="m", messages=MSGS, stream=True))
    end = end_of(rec)
    assert end.finish_reason == "tool_calls"
    assert end.tool_calls == [
        {"id": "call_5", "name": "lookup", "arguments": {"query": "a long enough query"}}
    ]
    assert rec.of_type(LLMTokenEvent) == []


def test_error_is_the_sdk_exception(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A 429 raises the SDK's own exception as is; the error event says 429, recoverable."""
    llm_server.fail(429, retry_after=0)
    caught = raised(
        lambda: client(llm_server, rec).chat.completions.create(model="m", messages=MSGS, stream=True)
    )
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.error is caught
    assert (error.error_code, error.is_recoverable) == ("429", True)
    rec.assert_terminated()


def test_cut_stream_error(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A stream cut mid-way raises the SDK's error; tokens so far, then a recoverable error."""
    llm_server.cut_stream(after_chunks=3, reply=Reply("a b c d"))
    caught = raised(
        lambda: list(client(llm_server, rec).chat.completions.create(model="m", messages=MSGS, stream=True))
    )
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.error"]
    assert rec.events[-1].is_recoverable is True  # type: ignore[attr-defined]
    assert rec.events[-1].error is caught  # type: ignore[attr-defined]


async def test_async_errors(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Async clients: a failed ``create`` and a cut stream each end their run with the error."""
    llm_server.fail(500)
    llm_server.cut_stream(after_chunks=2, reply=Reply("a b c"))
    oa = aclient(llm_server, rec)
    failed = await araised(lambda: oa.chat.completions.create(model="m", messages=MSGS))
    stream = await oa.chat.completions.create(model="m", messages=MSGS, stream=True)

    async def consume() -> None:
        async for _ in stream:
            pass

    cut = await araised(consume)
    errors = rec.of_type(LLMErrorEvent)
    assert [(e.error, e.error_type, e.is_recoverable) for e in errors] == [
        (failed, type(failed).__name__, True),
        (cut, type(cut).__name__, True),
    ]
    assert errors[0].error_code == "500"
    rec.assert_terminated()


def test_retries_are_one_run(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """The SDK's own retries (429 with retry-after, twice) stay inside one run."""
    llm_server.fail(429, retry_after_ms=5, times=2)
    llm_server.reply("ok")
    client(llm_server, rec, max_retries=2).chat.completions.create(model="m", messages=MSGS)
    assert len(llm_server.requests) == 3
    rec.assert_types(["llm.start", "llm.end"])


# -- early stop ------------------------------------------------------------------------------


def test_break_then_drop_ends_incomplete(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Breaking out and dropping the stream: end event with ``incomplete=True`` and the text so far."""
    llm_server.reply("one two three four")
    stream = client(llm_server, rec).chat.completions.create(model="m", messages=MSGS, stream=True)
    for chunk in stream:
        if chunk.choices[0].delta.content == " two":
            break
    del stream, chunk
    gc.collect()
    end = end_of(rec)
    assert end.incomplete is True and end.response == "one two" and end.finish_reason is None


def test_with_block_and_close_end_incomplete(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Leaving ``with stream:`` early, or ``close()``, ends the run once, incomplete."""
    llm_server.reply("one two three", times=2)
    oa = client(llm_server, rec)
    with oa.chat.completions.create(model="m", messages=MSGS, stream=True) as stream:
        next(stream)
    assert end_of(rec).incomplete is True
    rec.clear()
    stream = oa.chat.completions.create(model="m", messages=MSGS, stream=True)
    next(stream)
    stream.close()
    stream.close()
    assert end_of(rec).incomplete is True and len(rec.events) == 2


async def test_async_chat_stream_helper_early_exit(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """Leaving ``async with client.chat.completions.stream(...)`` early ends the run at once."""
    llm_server.reply("one two three")
    async with aclient(llm_server, rec).chat.completions.stream(model="m", messages=MSGS) as stream:
        async for event in stream:
            if event.type == "content.delta":
                break
    assert end_of(rec).incomplete is True


async def test_async_early_stop(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``await stream.close()`` after a ``break`` ends the run incomplete."""
    llm_server.reply("one two three")
    stream = await aclient(llm_server, rec).chat.completions.create(model="m", messages=MSGS, stream=True)
    async for _ in stream:
        break
    await stream.close()
    assert end_of(rec).incomplete is True


# -- helpers and the Responses API --------------------------------------------------------


def test_chat_stream_helper(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``chat.completions.stream(...)`` goes through ``create``; leaving its block early ends the run."""
    llm_server.reply("a b c", input_tokens=4, output_tokens=3, times=2)
    oa = client(llm_server, rec)
    with oa.chat.completions.stream(model="m", messages=MSGS, **USAGE) as stream:
        assert stream.get_final_completion().choices[0].message.content == "a b c"
    assert end_of(rec).total_tokens == 7 and len(rec.of_type(LLMTokenEvent)) == 3
    rec.clear()
    manager = oa.chat.completions.stream(model="m", messages=MSGS)
    assert isinstance(manager, ChatCompletionStreamManager)
    with manager as stream:
        for event in stream:
            if event.type == "content.delta":
                break
    assert end_of(rec).incomplete is True


def test_responses_create_and_stream(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``responses.create``, plain and streamed, with ``input``/``instructions`` as messages."""
    llm_server.reply("hello you", input_tokens=5, output_tokens=2, cached_tokens=1, times=2)
    oa = client(llm_server, rec)
    result = oa.responses.create(model="m", input="hi", instructions="be nice")
    assert type(result) is Response
    start = rec.events[0]
    assert isinstance(start, LLMStartEvent)
    assert start.messages == [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}]
    end = end_of(rec)
    assert (end.response, end.input_tokens, end.cached_input_tokens, end.finish_reason) == (
        "hello you",
        5,
        1,
        "stop",
    )
    rec.clear()
    events = list(oa.responses.create(model="m", input="hi", stream=True))
    assert events[-1].type == "response.completed"
    assert [t.token for t in rec.of_type(LLMTokenEvent)] == ["hello", " you"]
    assert end_of(rec).total_tokens == 7


async def test_responses_stream_chunks_carry_the_protocols_positions(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """Each delta's ``item_id``, ``output_index``, ``content_index`` and ``sequence_number``, as sent.

    These are seed 004's ``LLMResponseChunkEvent`` fields, which come from this protocol.
    """
    llm_server.reply("hello you")
    events = list(client(llm_server, rec).responses.create(model="m", input="hi", stream=True))
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    chunks = rec.of_type(LLMTokenEvent)
    assert [c.token for c in chunks] == [d.delta for d in deltas] == ["hello", " you"]
    assert [(c.item_id, c.output_index, c.content_index, c.sequence_number) for c in chunks] == [
        (d.item_id, d.output_index, d.content_index, d.sequence_number) for d in deltas
    ]
    assert chunks[0].sequence_number is not None and chunks[0].item_id
    rec.clear()
    aclient = instrument_openai(
        openai.AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="k"), callbacks=rec
    )
    llm_server.reply("hello you")
    async with aclient.responses.stream(model="m", input="hi") as astream:
        async for _ in astream:
            pass
    assert [c.sequence_number for c in rec.of_type(LLMTokenEvent)] == [d.sequence_number for d in deltas]


def test_responses_stream_helper_and_tool_call(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``responses.stream(...)`` is reported; function calls come from the final response."""
    llm_server.reply_tool_call("add", {"a": 1}, call_id="call_r")
    with client(llm_server, rec).responses.stream(model="m", input="x") as stream:
        final = stream.get_final_response()
    assert final.output[0].type == "function_call"
    end = end_of(rec)
    assert end.tool_calls == [{"id": "call_r", "name": "add", "arguments": {"a": 1}}]
    assert end.finish_reason == "tool_calls"


def test_responses_in_stream_error_event(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """An in-band ``error`` event (the SDK yields it, no exception) ends the run with an error event."""
    llm_server.stream_error(after_chunks=3, message="boom")
    events = list(client(llm_server, rec).responses.create(model="m", input="x", stream=True))
    assert events[-1].type == "error"
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.error == "boom"
    rec.assert_terminated()


def test_parse_and_raw_response(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``parse`` is reported with usage; ``with_raw_response`` still works and is one run."""
    llm_server.reply("{}", input_tokens=2, output_tokens=1, times=2)
    oa = client(llm_server, rec)
    oa.chat.completions.parse(model="m", messages=MSGS)
    assert end_of(rec).total_tokens == 3
    rec.clear()
    raw = oa.chat.completions.with_raw_response.create(model="m", messages=MSGS)
    assert raw.parse().choices[0].message.content == "{}"
    rec.assert_types(["llm.start", "llm.end"])


# -- instrumenting -------------------------------------------------------------------------


def test_signature_and_names_are_kept(llm_server: FastWireServer) -> None:
    """The wrapped method keeps the SDK's name, docstring and signature."""
    plain = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="k")
    wrapped = client(llm_server, None)
    assert inspect.signature(wrapped.chat.completions.create) == inspect.signature(
        plain.chat.completions.create
    )
    assert wrapped.chat.completions.create.__name__ == "create"
    assert wrapped.chat.completions.create.__doc__ == plain.chat.completions.create.__doc__


def test_instrumenting_twice_is_harmless(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A second ``instrument_openai`` changes nothing: one run per call, not two."""
    llm_server.reply("x")
    oa = client(llm_server, rec)
    assert instrument_openai(oa, callbacks=rec) is oa
    oa.chat.completions.create(model="m", messages=MSGS)
    rec.assert_types(["llm.start", "llm.end"])


def test_uninstrument_restores_the_client(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``uninstrument_openai`` puts the SDK's methods back: no events, plain streams."""
    llm_server.reply("x", times=3)
    oa = client(llm_server, rec)
    raw_view = oa.chat.completions.with_raw_response
    assert uninstrument_openai(oa) is True
    assert uninstrument_openai(oa) is False
    assert "create" not in vars(oa.chat.completions)
    oa.chat.completions.create(model="m", messages=MSGS)
    raw_view.create(model="m", messages=MSGS)  # a view cached while instrumented goes quiet too
    assert type(oa.chat.completions.create(model="m", messages=MSGS, stream=True)) is openai.Stream
    assert rec.events == []


def test_global_handlers_hear_instrumented_clients(llm_server: FastWireServer) -> None:
    """With no ``callbacks=``, global handlers receive the events; with none at all, nothing changes."""
    llm_server.reply("x", times=2)
    oa = client(llm_server, None)
    stream = oa.chat.completions.create(model="m", messages=MSGS, stream=True)
    assert type(stream) is openai.Stream  # nobody listens: the SDK's stream untouched
    list(stream)
    rec = RecordingCallbacks()
    set_global_callbacks([rec])
    oa.chat.completions.create(model="m", messages=MSGS)
    rec.assert_types(["llm.start", "llm.end"])


def test_start_abort_prevents_the_request(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """An ``Abort`` from a start handler stops the call before any HTTP request."""

    class Refuse(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise Abort("no")

    oa = instrument_openai(
        openai.OpenAI(base_url=llm_server.openai_base_url, api_key="k"), callbacks=[rec, Refuse()]
    )
    with pytest.raises(Abort):
        oa.chat.completions.create(model="m", messages=MSGS)
    with pytest.raises(Abort):
        oa.chat.completions.create(model="m", messages=MSGS, stream=True)
    assert llm_server.requests == []
    assert rec.types() == ["llm.start", "llm.error"] * 2


def test_facade_on_an_instrumented_client_reports_once(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """``LLM(client=instrumented)`` gives one run per call, not one from each layer."""
    llm_server.reply("x y", times=2)
    llm = LLM(client=client(llm_server, rec), callbacks=rec)
    llm.chat("hi")
    list(llm.stream("hi"))
    assert [e.type for e in rec.events if e.type != "llm.token"] == ["llm.start", "llm.end"] * 2


def test_stream_run_is_a_child_and_does_not_leak(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A stream's run is a child of the caller's run, which stays current meanwhile."""
    llm_server.reply("a b")
    oa = client(llm_server, rec)
    with chain_run("outer", callbacks=rec) as outer:
        stream = oa.chat.completions.create(model="m", messages=MSGS, stream=True)
        assert current_run() is outer
        list(stream)
        assert current_run() is outer
    assert rec.of_type(LLMStartEvent)[0].parent_run_id == outer.run_id


def test_not_a_client_is_refused() -> None:
    """Anything but an ``OpenAI``/``AsyncOpenAI`` client is a ``TypeError``."""
    with pytest.raises(TypeError, match=r"openai\.OpenAI"):
        instrument_openai(object())
