"""``LLM(provider="anthropic")``: the official SDK against the local wire server (nothing mocked)."""

from __future__ import annotations

from typing import Any

import pytest
from tests._raised import raised
from tests.llm._wire import FastWireServer
from tests.servers.llm_wire import Reply, ToolCall

from llmhooks import LLMEndEvent, LLMErrorEvent, LLMHooksError, LLMStartEvent
from llmhooks.integrations.anthropic.parse import to_anthropic
from llmhooks.integrations.anthropic.provider import DEFAULT_MAX_TOKENS
from llmhooks.llm import LLM
from llmhooks.testing import RecordingCallbacks

ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
    },
}


def make(server: FastWireServer, rec: RecordingCallbacks, **kwargs: Any) -> LLM:
    kwargs.setdefault("max_retries", 0)
    return LLM(
        provider="anthropic",
        model="claude-test",
        base_url=server.base_url,
        callbacks=rec,
        api_key="k",
        **kwargs,
    )


def test_chat_system_separated_and_usage_normalised(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """System messages go to ``system``; input counts include cache reads and writes."""
    llm_server.reply("Bonjour", input_tokens=10, output_tokens=2, cached_tokens=30, cache_creation_tokens=5)
    resp = make(llm_server, rec).chat(
        [{"role": "system", "content": "Answer in French"}, {"role": "user", "content": "Hello"}]
    )
    assert (resp.text, resp.finish_reason, resp.provider) == ("Bonjour", "stop", "anthropic")
    sent = llm_server.last_request.json
    assert sent["system"] == "Answer in French"
    assert sent["messages"] == [{"role": "user", "content": "Hello"}]
    assert sent["max_tokens"] == DEFAULT_MAX_TOKENS
    u = resp.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (45, 2, 47)
    assert (u.cached_input_tokens, u.cache_write_tokens, u.estimated) == (30, 5, False)
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent) and (end.input_tokens, end.cached_input_tokens) == (45, 30)
    start = rec.events[0]
    assert isinstance(start, LLMStartEvent) and start.messages[0]["role"] == "system"  # type: ignore[index]


def test_temperature_is_sent(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A temperature reaches the API (in ``extra_body`` when the SDK has no such argument)."""
    llm_server.reply("ok")
    make(llm_server, rec, temperature=0.25).chat("x")
    assert llm_server.last_request.json["temperature"] == 0.25
    assert rec.events[0].temperature == 0.25  # type: ignore[attr-defined]


async def test_achat(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``achat`` uses the async client."""
    llm_server.reply("hi", input_tokens=3, output_tokens=1)
    assert (await make(llm_server, rec).achat("x")).usage.total_tokens == 4
    rec.assert_types(["llm.start", "llm.end"])


def test_stream_usage_from_start_and_delta(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Streamed text deltas are tokens; usage is message_start's input and message_delta's output."""
    llm_server.reply("one two three", input_tokens=8, output_tokens=3, cached_tokens=2, reasoning_tokens=1)
    assert list(make(llm_server, rec).stream("count")) == ["one", " two", " three"]
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.token", "llm.end"]
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent)
    assert (end.input_tokens, end.output_tokens, end.cached_input_tokens, end.reasoning_tokens) == (
        10,
        3,
        2,
        1,
    )
    assert end.usage_estimated is False and end.finish_reason == "stop"


async def test_async_stream(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``async for`` over an Anthropic stream."""
    llm_server.reply("a b", input_tokens=4, output_tokens=2)
    assert [d async for d in make(llm_server, rec).stream("x")] == ["a", " b"]
    assert rec.events[-1].total_tokens == 6  # type: ignore[attr-defined]


def test_tools_and_tool_use_blocks(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """Tools go out as ``input_schema``; ``tool_use`` blocks come back as tool calls, streamed or not."""
    call = ToolCall("add", {"a": 4, "b": 5}, call_id="toolu_1")
    llm_server.script(Reply(text="", tool_calls=(call,)), times=2)
    llm = make(llm_server, rec)
    resp = llm.chat("add", tools=[ADD], tool_choice="required")
    sent = llm_server.last_request.json
    assert sent["tools"] == [
        {"name": "add", "description": "Add", "input_schema": ADD["function"]["parameters"]}
    ]
    assert sent["tool_choice"] == {"type": "any"}
    assert resp.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in resp.tool_calls] == [("toolu_1", "add", {"a": 4, "b": 5})]
    stream = llm.stream("add", tools=[ADD])
    assert list(stream) == []
    assert stream.response is not None and stream.response.tool_calls == resp.tool_calls
    assert rec.events[-1].tool_calls == [{"id": "toolu_1", "name": "add", "arguments": {"a": 4, "b": 5}}]  # type: ignore[attr-defined]


def test_function_tools_go_out_as_input_schema(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A plain function in ``tools=`` reaches Anthropic as a tool with its signature's schema."""

    def add(a: int, b: int | None = None) -> int:
        """Add two integers."""
        return a + (b or 0)

    llm_server.reply_tool_call("add", {"a": 1, "b": None}, call_id="toolu_2")
    resp = make(llm_server, rec).chat("add 1", tools=[add])
    [tool] = llm_server.last_request.json["tools"]
    assert (tool["name"], tool["description"]) == ("add", "Add two integers.")
    assert tool["input_schema"]["properties"]["b"] == {"type": ["integer", "null"], "default": None}
    assert tool["input_schema"]["required"] == ["a"]
    assert resp.tool_calls[0].arguments == {"a": 1, "b": None}


def test_tool_results_become_tool_result_blocks(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """An OpenAI-style tool loop is sent as ``tool_use`` and ``tool_result`` blocks."""
    llm_server.reply_tool_call("add", {"a": 1, "b": 2}, call_id="toolu_7")
    llm_server.reply("3")
    llm = make(llm_server, rec)
    messages: list[Any] = [{"role": "user", "content": "add 1 and 2"}]
    first = llm.chat(messages, tools=[ADD])
    messages += [first, first.tool_calls[0].result_message(3)]
    assert llm.chat(messages, tools=[ADD]).text == "3"
    sent = llm_server.last_request.json["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_7", "name": "add", "input": {"a": 1, "b": 2}}],
    }
    assert sent[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_7", "content": "3"}],
    }


def test_message_translation() -> None:
    """Consecutive tool results merge; image URLs become image blocks; developer joins system."""
    system, messages = to_anthropic(
        [
            {"role": "system", "content": "a"},
            {"role": "developer", "content": "b"},
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "1"},
            {"role": "tool", "tool_call_id": "t2", "content": "2"},
        ]
    )
    assert system == "a\n\nb"
    assert messages[0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}
    ]
    assert [b["tool_use_id"] for b in messages[1]["content"]] == ["t1", "t2"]


@pytest.mark.parametrize(("status", "recoverable"), [(429, True), (529, True), (500, True), (400, False)])
def test_http_errors_reach_the_caller_unchanged(
    llm_server: FastWireServer, rec: RecordingCallbacks, status: int, recoverable: bool
) -> None:
    """The SDK's own exception is raised (not wrapped); the error event has the status and recoverability."""
    llm_server.fail(status)
    caught = raised(lambda: make(llm_server, rec).chat("x"))
    assert not isinstance(caught, LLMHooksError)
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.error is caught
    assert (error.error_code, error.is_recoverable) == (str(status), recoverable)


def test_cut_stream_is_a_recoverable_error(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A cut stream: the SDK's own error reaches the caller unchanged; the event calls it recoverable."""
    llm_server.cut_stream(after_chunks=4, reply=Reply("a b c d e"))
    received: list[str] = []
    caught = raised(lambda: received.extend(make(llm_server, rec).stream("x")))
    assert received == ["a"]
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.is_recoverable is True
    assert error.error is caught and error.error_type == type(caught).__name__
    rec.assert_terminated()


def test_in_stream_error_event(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """An ``event: error`` in the stream raises the SDK's error; the run ends with it."""
    llm_server.stream_error(after_chunks=4, message="Overloaded", error_type="overloaded_error")
    caught = raised(lambda: list(make(llm_server, rec).stream("x")))
    assert "Overloaded" in str(caught) and rec.events[-1].error is caught  # type: ignore[attr-defined]
    assert rec.types()[-1] == "llm.error"
    error = rec.events[-1]
    assert (error.error_code, error.is_recoverable) == ("overloaded_error", True)  # not the stream's 200


def test_early_stop_ends_incomplete_with_estimates(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """A stream closed early: incomplete, the text so far, counts estimated."""
    llm_server.reply("alpha beta gamma delta", input_tokens=11, output_tokens=4)
    stream = make(llm_server, rec).stream("x")
    assert next(stream) == "alpha"
    stream.close()
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent) and end.incomplete is True
    assert end.response == "alpha" and end.usage_estimated is True and end.output_tokens
