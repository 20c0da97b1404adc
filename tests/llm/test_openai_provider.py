"""``LLM(provider="openai")``: the official SDK against the local wire server (nothing mocked)."""

from __future__ import annotations

import gc
import json
from typing import Any

import openai
import pytest
from tests._raised import raised
from tests.llm._wire import FastWireServer
from tests.servers.llm_wire import Reply, ToolCall

from llmhooks import LLMEndEvent, LLMErrorEvent, LLMHooksError, LLMStartEvent, LLMTokenEvent
from llmhooks.llm import LLM
from llmhooks.testing import RecordingCallbacks
from llmhooks.tools import Tool

ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
    },
}


def make(server: FastWireServer, rec: RecordingCallbacks, **kwargs: Any) -> LLM:
    kwargs.setdefault("max_retries", 0)
    return LLM(provider="openai", model="gpt-test", base_url=server.openai_base_url, callbacks=rec, **kwargs)


def test_chat_exact_usage_and_request(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A chat call: text, finish reason and the server's exact counts, cached and reasoning included."""
    llm_server.reply("Hello world", input_tokens=12, output_tokens=3, cached_tokens=2, reasoning_tokens=1)
    resp = make(llm_server, rec, temperature=0.5, max_tokens=20).chat("hi there")
    assert (resp.text, resp.finish_reason, resp.model, resp.provider) == (
        "Hello world",
        "stop",
        "gpt-test",
        "openai",
    )
    u = resp.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (12, 3, 15)
    assert (u.cached_input_tokens, u.reasoning_tokens, u.estimated) == (2, 1, False)
    assert isinstance(resp.raw, openai.types.chat.ChatCompletion)
    sent = llm_server.last_request.json
    assert sent["messages"] == [{"role": "user", "content": "hi there"}]
    assert (sent["model"], sent["temperature"], sent["max_tokens"]) == ("gpt-test", 0.5, 20)
    rec.assert_types(["llm.start", "llm.end"])
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent)
    assert (end.input_tokens, end.output_tokens, end.cached_input_tokens, end.reasoning_tokens) == (
        12,
        3,
        2,
        1,
    )
    assert end.response == "Hello world" and end.provider == "openai"


async def test_achat(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``achat`` goes through the async client with the same events."""
    llm_server.reply("async hello", input_tokens=4, output_tokens=2)
    resp = await make(llm_server, rec).achat("hi")
    assert resp.text == "async hello"
    rec.assert_types(["llm.start", "llm.end"])
    assert rec.events[-1].total_tokens == 6  # type: ignore[attr-defined]


def test_stream_asks_for_usage_and_reports_it_exactly(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """Streams send ``include_usage``; tokens per delta, exact counts from the last chunk."""
    llm_server.reply("one two three", input_tokens=9, output_tokens=3, cached_tokens=4)
    stream = make(llm_server, rec).stream("count")
    assert list(stream) == ["one", " two", " three"]
    assert llm_server.last_request.json["stream_options"] == {"include_usage": True}
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.token", "llm.end"]
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent)
    assert (end.input_tokens, end.output_tokens, end.cached_input_tokens) == (9, 3, 4)
    assert end.usage_estimated is False and end.finish_reason == "stop"
    assert end.time_to_first_token_ms is not None and end.time_to_first_token_ms <= end.latency_ms  # type: ignore[operator]


async def test_async_stream(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``async for`` over an OpenAI stream: same events, exact counts."""
    llm_server.reply("a b", input_tokens=5, output_tokens=2)
    assert [d async for d in make(llm_server, rec).stream("x")] == ["a", " b"]
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.end"]
    assert rec.events[-1].total_tokens == 7  # type: ignore[attr-defined]


def test_reading_a_finished_stream_again_keeps_what_was_recorded(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """A stream read to the end yields nothing more, as an SDK stream does; its response stays."""
    llm_server.reply("one two", input_tokens=4, output_tokens=2)
    stream = make(llm_server, rec).stream("count")
    assert list(stream) == ["one", " two"]
    response = stream.response
    assert response is not None and response.usage.output_tokens == 2
    assert list(stream) == [] and next(iter(stream), None) is None
    assert stream.response is response and stream.text == "one two"
    assert len(llm_server.requests) == 1  # no second request
    rec.assert_types(["llm.start", "llm.token", "llm.token", "llm.end"])


async def test_reading_a_finished_async_stream_again_keeps_what_was_recorded(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """The same for ``async for``: nothing more, the response kept, one terminal event."""
    llm_server.reply("a b", input_tokens=5, output_tokens=2)
    stream = make(llm_server, rec).stream("x")
    assert [d async for d in stream] == ["a", " b"]
    response = stream.response
    assert [d async for d in stream] == []
    assert stream.response is response is not None and response.text == "a b"
    rec.assert_terminated()
    assert rec.types().count("llm.end") == 1


def _sse(*deltas: str) -> str:
    chunks = [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {"content": d}, "finish_reason": None}]}
        for d in deltas
    ]  # fmt: skip
    chunks.append(
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    )  # fmt: skip
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def test_server_without_stream_usage_gives_estimated_counts(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """A compatible server that ignores ``include_usage``: counts are estimated and marked so."""
    llm_server.fail(200, body=_sse("Hello", " there"), headers={"Content-Type": "text/event-stream"})
    assert "".join(make(llm_server, rec).stream("hi")) == "Hello there"
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent)
    assert end.usage_estimated is True
    assert end.input_tokens and end.output_tokens and end.total_tokens == end.input_tokens + end.output_tokens


def test_tool_calls_non_stream_and_stream(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Tool definitions go out in OpenAI form; calls come back parsed, streamed fragments joined."""
    call = ToolCall("add", {"a": 2, "b": 3}, call_id="call_9")
    llm_server.script(Reply(text="", tool_calls=(call,)), times=2)
    llm = make(llm_server, rec)
    resp = llm.chat("add", tools=[ADD])
    assert llm_server.last_request.json["tools"] == [ADD]
    assert resp.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in resp.tool_calls] == [("call_9", "add", {"a": 2, "b": 3})]
    stream = llm.stream("add", tools=[ADD], tool_choice="required")
    assert list(stream) == []
    assert llm_server.last_request.json["tool_choice"] == "required"
    assert stream.response is not None and stream.response.tool_calls == resp.tool_calls
    ends = rec.of_type(LLMEndEvent)
    assert [e.tool_calls for e in ends] == [
        [{"id": "call_9", "name": "add", "arguments": {"a": 2, "b": 3}}]
    ] * 2
    assert rec.of_type(LLMStartEvent)[1].params == {"tool_choice": "required"}


def add_numbers(a: float, b: float = 0) -> float:
    """Add two numbers.

    Args:
        a: the first number.
        b: the second number.
    """
    return a + b


def test_tools_may_be_plain_functions_and_tool_objects(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """``tools=`` takes functions and ``Tool`` objects as ``Agent`` does, described from the signature."""

    async def lookup(city: str) -> str:
        """Look a city up."""
        return city

    call = ToolCall("add_numbers", {"a": 2, "b": 3}, call_id="call_f")
    llm_server.script(Reply(text="", tool_calls=(call,)), times=2)
    llm = make(llm_server, rec)
    resp = llm.chat("add", tools=[add_numbers, Tool.from_function(lookup, name="find"), ADD])
    sent = llm_server.last_request.json["tools"]
    assert [t["function"]["name"] for t in sent] == ["add_numbers", "find", "add"]
    assert sent[0]["function"]["description"] == "Add two numbers."
    assert sent[0]["function"]["parameters"] == Tool.from_function(add_numbers).parameters
    a = sent[0]["function"]["parameters"]["properties"]["a"]
    assert a == {"type": "number", "description": "the first number."}
    assert rec.of_type(LLMStartEvent)[0].tools == sent
    assert resp.tool_calls[0].arguments == {"a": 2, "b": 3}
    assert list(llm.stream("add", tools=[add_numbers])) == []
    assert [t["function"]["name"] for t in llm_server.last_request.json["tools"]] == ["add_numbers"]
    with pytest.raises(ValueError, match="two tools are named 'add_numbers'"):
        llm.chat("add", tools=[add_numbers, add_numbers])
    with pytest.raises(TypeError, match=r"tools\[0\] must be a function, a Tool or a dict"):
        llm.chat("add", tools=[42])  # type: ignore[list-item]


def test_tool_result_conversation_goes_out_as_sent(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """Assistant tool calls and tool results are sent in OpenAI form."""
    llm_server.reply_tool_call("add", {"a": 1, "b": 1}, call_id="call_1")
    llm_server.reply("2")
    llm = make(llm_server, rec)
    messages: list[Any] = [{"role": "user", "content": "1+1 with add"}]
    first = llm.chat(messages, tools=[ADD])
    messages += [first, first.tool_calls[0].result_message(2)]
    assert llm.chat(messages, tools=[ADD]).text == "2"
    sent = llm_server.last_request.json["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 1, "b": 1}'}
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "name": "add", "content": "2"}


@pytest.mark.parametrize(
    ("status", "recoverable"),
    [(429, True), (500, True), (503, True), (400, False), (401, False)],
)
def test_http_errors_reach_the_caller_unchanged(
    llm_server: FastWireServer, rec: RecordingCallbacks, status: int, recoverable: bool
) -> None:
    """The SDK's own exception is raised (not wrapped); the error event has it, its status and
    recoverability, and names its class."""
    llm_server.fail(status, message="scripted")
    caught = raised(lambda: make(llm_server, rec).chat("hi"))
    assert not isinstance(caught, LLMHooksError) and "scripted" in str(caught)
    rec.assert_types(["llm.start", "llm.error"])
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent)
    assert error.error is caught
    assert (error.error_code, error.is_recoverable, error.error_type) == (
        str(status),
        recoverable,
        type(caught).__name__,
    )


def test_retries_are_one_run(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Two 429s (retry-after honoured by the SDK) then an answer: three requests, one run."""
    llm_server.fail(429, retry_after_ms=5, times=2)
    llm_server.reply("finally", input_tokens=3, output_tokens=1)
    assert make(llm_server, rec, max_retries=2).chat("hi").text == "finally"
    assert len(llm_server.requests) == 3
    rec.assert_types(["llm.start", "llm.end"])


def test_malformed_json_is_the_runs_error(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A 200 with broken JSON: whatever the SDK raises reaches the caller and is the run's error."""
    llm_server.malformed_json()
    caught = raised(lambda: make(llm_server, rec).chat("hi"))
    assert rec.types() == ["llm.start", "llm.error"]
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.error is caught
    assert error.error_type == type(caught).__name__


def test_cut_stream_is_a_recoverable_error(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A stream cut mid-way raises the SDK's error after the first tokens; recoverable."""
    llm_server.cut_stream(after_chunks=3, reply=Reply("a b c d e f"))
    received: list[str] = []
    caught = raised(lambda: received.extend(make(llm_server, rec).stream("x")))
    assert received == ["a", " b"]
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.error"]
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.is_recoverable is True
    assert error.error is caught and error.error_type == type(caught).__name__


def test_read_timeout_is_a_recoverable_error(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A stream slower than the client's timeout fails with the SDK's error, a recoverable one."""
    llm_server.reply("slow words here", chunk_delay=1.0)
    caught = raised(lambda: list(make(llm_server, rec, timeout=0.2).stream("x")))
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.error is caught
    assert (error.error_type, error.is_recoverable, error.error_code) == (type(caught).__name__, True, None)


def test_in_stream_error_event(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """An error chunk in the stream raises the SDK's error and ends the run with it."""
    llm_server.stream_error(after_chunks=2, message="boom", error_type="server_error")
    caught = raised(lambda: list(make(llm_server, rec).stream("x")))
    assert "boom" in str(caught) and rec.events[-1].error is caught  # type: ignore[attr-defined]
    assert rec.types()[-1] == "llm.error"
    error = rec.events[-1]
    assert (error.error_code, error.is_recoverable) == ("server_error", True)
    rec.assert_terminated()


def test_early_stop_closes_the_http_stream(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Breaking out of a slow stream ends the run at once, incomplete, and frees the connection."""
    llm_server.reply(" ".join(["w"] * 50), chunk_delay=0.01)
    llm_server.reply("next")
    llm = make(llm_server, rec)
    stream = llm.stream("slow")
    for _ in stream:
        break
    del stream
    gc.collect()
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent) and end.incomplete is True and end.response == "w"
    assert llm.chat("again").text == "next"  # the client is usable straight away
    rec.assert_terminated()


def test_token_events_carry_deltas_not_chunks(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """The role chunk (empty content) makes no token event; each text delta makes one."""
    llm_server.reply("x y")
    list(make(llm_server, rec).stream("x"))
    assert [t.token for t in rec.of_type(LLMTokenEvent)] == ["x", " y"]


def test_official_openai_url_gets_max_completion_tokens() -> None:
    """Without a custom ``base_url`` the limit is sent as ``max_completion_tokens``."""
    from llmhooks.integrations.openai.provider import OpenAIProvider
    from llmhooks.llm.providers.base import ChatRequest

    request = ChatRequest(model="m", messages=[{"role": "user", "content": "x"}], max_tokens=7)
    assert OpenAIProvider(api_key="k").params(request)["max_completion_tokens"] == 7
    assert OpenAIProvider(base_url="http://localhost:1/v1").params(request)["max_tokens"] == 7


def test_own_client_is_used(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``client=`` uses a ready SDK client (e.g. an Azure one) and picks the provider from it."""
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="mine", max_retries=0)
    llm_server.reply("from my client")
    llm = LLM(client=client, callbacks=rec)
    assert llm.provider == "openai"
    assert llm.chat("hi").text == "from my client"
    assert llm_server.last_request.headers["authorization"] == "Bearer mine"
