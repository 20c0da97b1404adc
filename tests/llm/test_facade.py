"""The ``LLM`` facade: provider choice, validation, and the events of every call shape (offline)."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
from typing import Any

import pytest

import llmhooks
from llmhooks import (
    Abort,
    Callbacks,
    InvalidHandlerError,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    LLMTokenEvent,
    callbacks_context,
    chain_run,
    current_run,
    set_global_callbacks,
)
from llmhooks.llm import LLM, ChatRequest, ChatResponse, ChatStream, Provider, Usage
from llmhooks.llm.facade import choose_provider
from llmhooks.testing import RecordingCallbacks

ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
    },
}


# -- construction --------------------------------------------------------------------------


def test_public_name_resolves() -> None:
    """``from llmhooks import LLM`` gives the facade."""
    assert llmhooks.LLM is LLM


def test_default_is_offline_without_keys() -> None:
    """With no provider, key, URL or client, the offline stand-in is used."""
    llm = LLM()
    assert (llm.provider, llm.model) == ("offline", "llmhooks-offline")


def test_provider_choice_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Explicit provider, then api_key/base_url, then OPENAI_API_KEY, then ANTHROPIC_API_KEY."""
    assert choose_provider("anthropic") == "anthropic"
    assert choose_provider(None, api_key="k") == "openai"
    assert choose_provider(None, api_key="k", model="claude-sonnet-5") == "anthropic"
    assert choose_provider(None, base_url="http://localhost:11434/v1") == "openai"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "a")
    assert choose_provider(None) == "anthropic"
    monkeypatch.setenv("OPENAI_API_KEY", "o")
    assert choose_provider(None) == "openai"
    assert LLM().provider == "openai"


def test_unknown_provider_lists_known_ones() -> None:
    """An unknown provider name is refused at construction, naming the known ones."""
    with pytest.raises(ValueError, match="anthropic, offline, openai"):
        LLM(provider="gemini")


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_missing_sdk_names_the_install_command(sdk: str) -> None:
    """Without the provider's SDK, construction fails with the exact pip command."""
    code = (
        f"import sys; sys.modules[{sdk!r}] = None\n"
        "from llmhooks import LLM, MissingExtraError\n"
        "try:\n"
        f"    LLM(provider={sdk!r})\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert f"pip install 'llmhooks[{sdk}]'" in out.stdout, out.stderr


def test_malformed_handler_is_refused_at_construction() -> None:
    """A bad ``callbacks`` entry fails when the LLM is made, not at the first call."""
    with pytest.raises(InvalidHandlerError):
        LLM(callbacks=[object()])  # type: ignore[list-item]


def test_bad_messages_and_tools_are_refused_before_any_event() -> None:
    """Malformed messages or tools raise before a run starts."""
    rec = RecordingCallbacks()
    llm = LLM(callbacks=rec)
    with pytest.raises(ValueError, match="role"):
        llm.chat([{"role": "robot", "content": "x"}])
    with pytest.raises(TypeError, match="messages"):
        llm.chat(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tools"):
        llm.chat("x", tools=["add"])  # type: ignore[list-item]
    assert rec.events == []


def test_custom_provider_instance() -> None:
    """A ``Provider`` instance can stand in for the built-in ones."""

    class Upper(Provider):
        name = "upper"
        default_model = "u1"

        def complete(self, request: ChatRequest) -> ChatResponse:
            return ChatResponse(text=request.messages[-1]["content"].upper(), usage=Usage(1, 1, 2))

    rec = RecordingCallbacks()
    resp = LLM(provider=Upper(), callbacks=rec).chat("hi")
    assert resp.text == "HI"
    assert rec.of_type(LLMEndEvent)[0].provider == "upper"


# -- chat ------------------------------------------------------------------------------------


def test_chat_fires_start_and_end_with_request_and_usage() -> None:
    """``chat`` is one run: start (provider, model, messages, settings, tools) and end (usage)."""
    rec = RecordingCallbacks()
    llm = LLM(callbacks=rec, temperature=0.2, max_tokens=50)
    resp = llm.chat("What is 2+2?", tools=[ADD], top_p=0.9)
    assert str(resp) == resp.text == resp.content == "4"
    rec.assert_types(["llm.start", "llm.end"])
    start, end = rec.events
    assert isinstance(start, LLMStartEvent) and isinstance(end, LLMEndEvent)
    assert (start.provider, start.model, start.streaming) == ("offline", "llmhooks-offline", False)
    assert start.messages == [{"role": "user", "content": "What is 2+2?"}]
    assert (start.temperature, start.max_tokens) == (0.2, 50)
    assert start.tools == [ADD] and start.params == {"top_p": 0.9}
    assert (end.response, end.finish_reason, end.incomplete) == ("4", "stop", False)
    assert (end.input_tokens, end.output_tokens, end.total_tokens) == (3, 1, 4)
    assert end.usage_estimated is False and end.latency_ms is not None
    assert end.run_id == start.run_id


def test_tool_calls_reach_the_end_event() -> None:
    """The end event lists the tool calls as ``{"id", "name", "arguments"}`` dicts."""
    rec = RecordingCallbacks()
    LLM(callbacks=rec).chat("add 2 and 5", tools=[ADD])
    end = rec.of_type(LLMEndEvent)[0]
    assert end.finish_reason == "tool_calls"
    assert end.tool_calls == [{"id": "call_1_0", "name": "add", "arguments": {"a": 2, "b": 5}}]


async def test_achat_and_generate_await_async_handlers() -> None:
    """``achat`` and ``generate`` are runs whose async handlers are awaited."""
    seen: list[str] = []

    class Async(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            await asyncio.sleep(0)
            seen.append("start")

        async def on_llm_end(self, event: LLMEndEvent) -> None:
            await asyncio.sleep(0)
            seen.append(event.response)

    llm = LLM(callbacks=[Async()])
    assert (await llm.achat("What is 3*3?")).text == "9"
    assert (await llm.generate("What is 1+1?")).text == "2"
    assert seen == ["start", "9", "start", "2"]


def test_global_scoped_and_call_callbacks_all_hear_the_call() -> None:
    """Global, scoped, object and per-call handlers each get the events once."""
    g, s, o, c = (RecordingCallbacks() for _ in range(4))
    set_global_callbacks([g])
    llm = LLM(callbacks=o)
    with callbacks_context([s]):
        llm.chat("hi", callbacks=c)
    assert [len(r.events) for r in (g, s, o, c)] == [2, 2, 2, 2]


def test_start_handler_abort_stops_the_call() -> None:
    """An ``Abort`` from a start handler reaches the caller; the run ends with its error."""

    class Refuse(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise Abort("over budget")

    rec = RecordingCallbacks()
    with pytest.raises(Abort, match="over budget"):
        LLM(callbacks=[rec, Refuse()]).chat("hi")
    rec.assert_types(["llm.start", "llm.error"])


# -- streams ---------------------------------------------------------------------------------


def test_stream_sync_events() -> None:
    """A read-out stream: start, one token per word (TTFT on the first), end with exact usage."""
    rec = RecordingCallbacks()
    stream = LLM(callbacks=rec).stream("Hello")
    assert isinstance(stream, ChatStream) and rec.events == []  # nothing happens until read
    deltas = list(stream)
    tokens = rec.of_type(LLMTokenEvent)
    assert [t.token for t in tokens] == deltas
    assert tokens[0].is_first and tokens[0].time_to_first_token_ms is not None
    assert [t.index for t in tokens] == list(range(len(deltas)))
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent)
    assert end.response == "".join(deltas) == stream.text
    assert end.output_tokens == len(deltas) and end.usage_estimated is False
    assert end.time_to_first_token_ms == tokens[0].time_to_first_token_ms
    assert rec.of_type(LLMStartEvent)[0].streaming is True
    assert stream.response is not None and stream.response.usage.output_tokens == len(deltas)
    rec.assert_terminated()


def test_end_only_handler_still_gets_time_to_first_token() -> None:
    """Without token handlers a stream still reports its time to first token and whole text."""

    class EndOnly(Callbacks):
        def __init__(self) -> None:
            self.ends: list[LLMEndEvent] = []

        def on_llm_end(self, event: LLMEndEvent) -> None:
            self.ends.append(event)

    handler = EndOnly()
    deltas = list(LLM(callbacks=handler).stream("Tell me a story"))
    [end] = handler.ends
    assert end.time_to_first_token_ms is not None and end.response == "".join(deltas)


async def test_stream_async_events() -> None:
    """``async for`` gives the same event sequence as ``for``."""
    rec = RecordingCallbacks()
    deltas = [d async for d in LLM(callbacks=rec).stream("Hello")]
    assert rec.types() == ["llm.start"] + ["llm.token"] * len(deltas) + ["llm.end"]


async def test_async_stream_awaits_async_handlers() -> None:
    """Async handlers of a stream's start, tokens and end are awaited, in order, inside the run."""
    seen: list[Any] = []

    class Slow(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            await asyncio.sleep(0.001)
            run = current_run()
            seen.append(("start", run.run_id if run else None, event.run_id))

        async def on_llm_token(self, event: LLMTokenEvent) -> None:
            await asyncio.sleep(0)
            seen.append(event.token)

        async def on_llm_end(self, event: LLMEndEvent) -> None:
            await asyncio.sleep(0)
            seen.append("end")

    deltas = [d async for d in LLM(callbacks=[Slow()]).stream("What is 2+3?")]
    assert deltas == ["5"]
    kind, current, run_id = seen[0]
    assert kind == "start" and current == run_id  # the run is current while its start is handled
    assert seen[1:] == ["5", "end"]
    assert current_run() is None


def test_stream_tool_call_in_response() -> None:
    """A streamed tool call has no text; the call is on ``stream.response`` and the end event."""
    rec = RecordingCallbacks()
    stream = LLM(callbacks=rec).stream("add 1 and 2", tools=[ADD])
    assert list(stream) == []
    assert stream.response is not None and stream.response.tool_calls[0].arguments == {"a": 1, "b": 2}
    rec.assert_types(["llm.start", "llm.end"])
    assert rec.events[-1].tool_calls[0]["name"] == "add"  # type: ignore[attr-defined]


def _stopped(rec: RecordingCallbacks) -> LLMEndEvent:
    rec.assert_terminated()
    end = rec.events[-1]
    assert isinstance(end, LLMEndEvent) and end.incomplete is True
    return end


def test_stream_break_then_drop_ends_incomplete() -> None:
    """``break`` and dropping the stream end the run with ``incomplete=True`` and the text so far."""
    rec = RecordingCallbacks()
    stream = LLM(callbacks=rec).stream("Tell me a story")
    for i, _ in enumerate(stream):
        if i == 2:
            break
    del stream
    gc.collect()
    end = _stopped(rec)
    assert end.response == "Once upon a"
    assert end.usage_estimated is True and end.output_tokens is not None


def test_stream_close_and_with_block_end_incomplete() -> None:
    """``close()`` and leaving a ``with`` block stop the stream; later closes do nothing."""
    rec = RecordingCallbacks()
    llm = LLM(callbacks=rec)
    stream = llm.stream("Tell me a story")
    next(stream)
    stream.close()
    stream.close()
    _stopped(rec)
    rec.clear()
    with llm.stream("Tell me a story") as stream:
        next(stream)
    _stopped(rec)
    assert list(stream) == []


async def test_stream_aclose_and_async_with_end_incomplete() -> None:
    """``await aclose()`` and ``async with`` stop an async stream with one terminal event."""
    rec = RecordingCallbacks()
    llm = LLM(callbacks=rec)
    stream = llm.stream("Tell me a story")
    async for _ in stream:
        break
    await stream.aclose()
    _stopped(rec)
    rec.clear()
    async with llm.stream("Tell me a story") as stream:
        await stream.__anext__()
    _stopped(rec)


def test_unread_stream_fires_nothing() -> None:
    """A stream never iterated makes no call and no event, even when dropped."""
    rec = RecordingCallbacks()
    stream = LLM(callbacks=rec).stream("hi")
    del stream
    gc.collect()
    assert rec.events == []


def test_stream_cannot_be_read_both_ways() -> None:
    """Mixing ``for`` and ``async for`` on one stream is an error."""
    stream = LLM().stream("Tell me a story")
    next(stream)

    async def read() -> None:
        async for _ in stream:
            pass

    with pytest.raises(TypeError, match="async for"):
        asyncio.run(read())
    stream.close()


def test_token_handler_abort_stops_the_stream() -> None:
    """An ``Abort`` from a token handler stops the stream: the run ends with its error."""

    class Stop(Callbacks):
        def on_llm_token(self, event: LLMTokenEvent) -> None:
            if event.index == 1:
                raise Abort("enough")

    rec = RecordingCallbacks()
    stream = LLM(callbacks=[rec, Stop()]).stream("Tell me a story")
    with pytest.raises(Abort):
        list(stream)
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.error"]
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.cancelled is False
    assert list(stream) == []


async def test_cancelled_stream_reports_cancelled() -> None:
    """Cancelling a task reading a stream ends the run with ``cancelled=True``."""
    rec = RecordingCallbacks()
    started = asyncio.Event()

    async def read() -> None:
        async for _ in LLM(callbacks=rec, token_delay=0.05).stream("Tell me a story"):
            started.set()

    task = asyncio.create_task(read())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    error = rec.events[-1]
    assert isinstance(error, LLMErrorEvent) and error.cancelled is True
    rec.assert_terminated()


# -- the run tree ----------------------------------------------------------------------------


def test_stream_run_is_child_of_callers_run_and_does_not_leak() -> None:
    """A stream's run has the caller's run as parent and never becomes the caller's current run."""
    rec = RecordingCallbacks()
    llm = LLM(callbacks=rec)
    with chain_run("outer", callbacks=rec) as outer:
        stream = llm.stream("Tell me a story")
        next(stream)
        assert current_run() is outer
        llm.chat("hi")
        for _ in stream:
            pass
        assert current_run() is outer
    starts = rec.of_type(LLMStartEvent)
    assert [s.parent_run_id for s in starts] == [outer.run_id, outer.run_id]
    rec.assert_terminated()


async def test_async_stream_run_is_child_and_does_not_leak() -> None:
    """The same holds for ``async for`` and a stream dropped half-read."""
    rec = RecordingCallbacks()
    llm = LLM(callbacks=rec)
    with chain_run("outer", callbacks=rec) as outer:
        stream = llm.stream("Tell me a story")
        async for _ in stream:
            break
        assert current_run() is outer
        del stream
        gc.collect()
        assert current_run() is outer
        await llm.achat("hi")
    assert {s.parent_run_id for s in rec.of_type(LLMStartEvent)} == {outer.run_id}
    rec.assert_terminated()


def test_no_handlers_no_events_and_same_answers() -> None:
    """With nobody listening the facade still answers (and records nothing anywhere)."""
    llm = LLM()
    assert llm.chat("What is 5-3?").text == "2"
    assert "".join(llm.stream("What is 5-3?")) == "2"


def test_agent_style_loop_runs_to_a_final_answer() -> None:
    """Tool call, tool result, final answer: the offline loop an agent drives."""
    llm = LLM()
    messages: list[Any] = [{"role": "user", "content": "add 20 and 22"}]
    for _ in range(3):
        resp = llm.chat(messages, tools=[ADD])
        if not resp.tool_calls:
            break
        messages.append(resp)
        messages += [c.result_message(sum(c.arguments.values())) for c in resp.tool_calls]
    assert resp.text == "The result of add is 42."


def test_transport_settings_stay_out_of_the_start_event() -> None:
    """Headers and timeouts passed to a call are not reported as request params."""
    rec = RecordingCallbacks()
    LLM(provider="offline", callbacks=rec).chat(
        "hello", extra_headers={"X-Custom-Auth": "opaque-value-1234"}, timeout=5, seed=7
    )
    start = rec.of_type(LLMStartEvent)[0]
    assert start.params == {"seed": 7}


def test_provider_failing_to_open_its_stream_ends_the_run_with_an_error() -> None:
    """A provider whose stream() raises at once: the run ends with llm.error, not a silent end."""
    from llmhooks.llm import OfflineProvider

    class Down(OfflineProvider):
        name = "down"

        def stream(self, request: Any) -> Any:
            raise ConnectionError("no route to model")

    rec = RecordingCallbacks()
    stream = LLM(provider=Down(), callbacks=rec).stream("hi")
    with pytest.raises(ConnectionError):
        next(iter(stream))
    assert rec.types() == ["llm.start", "llm.error"]
    assert list(stream) == []
