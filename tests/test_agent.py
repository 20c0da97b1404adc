"""Agent: the tool loop over our LLM, every step reported and linked."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Iterator

import pytest
from tests.llm._wire import FastWireServer
from tests.servers.llm_wire import LLMWireServer

from llmhooks import (
    LLM,
    Agent,
    AgentEndEvent,
    AgentErrorEvent,
    AgentStartEvent,
    LLMEndEvent,
    LLMStartEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)
from llmhooks.agent import MaxStepsExceeded
from llmhooks.testing import RecordingCallbacks


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first addend.
        b: second addend.
    """
    return a + b


def lookup_capital(country: str) -> str:
    """The capital city of a country."""
    return {"France": "Paris", "Italy": "Rome"}.get(country, "unknown")


async def slow_square(x: int) -> int:
    """Square a number, asynchronously."""
    await asyncio.sleep(0.01)
    return x * x


def broken(city: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"service down for {city}")


@pytest.fixture
def wire() -> Iterator[LLMWireServer]:
    with FastWireServer() as srv:
        yield srv


def test_event_order_matches_seed_000() -> None:
    """LLM start/end, tool start/end, LLM start/end, inside agent start/end, all linked."""
    rec = RecordingCallbacks()
    result = Agent(tools=[add], callbacks=rec).run("Use add to compute 2 and 3")
    assert result.output == "The result of add is 5." and result.steps == 2
    assert rec.types() == [
        "agent.start",
        "llm.start", "llm.end",
        "tool.start", "tool.end",
        "agent.step",
        "llm.start", "llm.end",
        "agent.step",
        "agent.end",
    ]  # fmt: skip
    agent_id = rec.events[0].run_id
    assert all(
        e.parent_run_id == agent_id
        for e in rec.events
        if e.type.endswith(".start") and e is not rec.events[0]
    )
    tool_start = rec.of_type(ToolStartEvent)[0]
    first_end = rec.of_type(LLMEndEvent)[0]
    assert tool_start.arguments == {"a": 2, "b": 3}
    assert tool_start.tool_call_id == first_end.tool_calls[0]["id"]
    assert rec.events[-1].result == "The result of add is 5."
    assert not any(e.type == "llm.token" for e in rec.events)  # tool output is never a token
    rec.assert_terminated()


def test_several_tool_calls_run_in_parallel_and_each_is_reported() -> None:
    """Two tools asked for in one turn: two tool runs, both answered, then the final answer."""
    rec = RecordingCallbacks()
    result = Agent(tools=[add, lookup_capital], callbacks=rec).run(
        "Use lookup_capital for France and add 4 and 5"
    )
    names = sorted(e.tool_name for e in rec.of_type(ToolStartEvent))
    assert names == ["add", "lookup_capital"]
    assert "add: 9" in result.output and "lookup_capital" in result.output
    assert len([m for m in result.messages if m["role"] == "tool"]) == 2


def test_bad_arguments_become_a_tool_error_the_model_sees() -> None:
    """A tool that raises gives a tool error event; the model gets the error text and the run goes on."""
    rec = RecordingCallbacks()
    result = Agent(tools=[broken], callbacks=rec).run("Use broken for Paris")
    [err] = rec.of_type(ToolErrorEvent)
    assert err.error_type == "RuntimeError" and "service down" in err.error_message
    assert err.arguments == {"city": "Paris"} and err.tool_call_id is not None
    tool_message = next(m for m in result.messages if m["role"] == "tool")
    assert "service down for Paris" in tool_message["content"]
    assert rec.types()[-1] == "agent.end"


async def test_unknown_tool_and_bad_arguments_are_tool_errors_in_run_and_arun(wire: LLMWireServer) -> None:
    """A model calling a tool the agent lacks, or with bad arguments: tool.start then tool.error."""
    from llmhooks import Callbacks

    seen: list[str] = []

    class Slow(Callbacks):
        async def on_tool_error_async(self, event: ToolErrorEvent) -> None:
            await asyncio.sleep(0)
            seen.append(f"{event.tool_name}:{event.error_type}")

    llm = LLM(provider="openai", model="gpt-4o-mini", api_key="test", base_url=wire.openai_base_url)
    for use_async in (False, True):
        wire.reply_tool_call("subtract", {"a": 1, "b": 2}, call_id="call_u")
        wire.reply("I cannot subtract.")
        rec = RecordingCallbacks()
        agent = Agent(tools=[add], llm=llm, callbacks=[rec, Slow()])
        result = await agent.arun("subtract") if use_async else agent.run("subtract")
        [err] = rec.of_type(ToolErrorEvent)
        assert (err.tool_name, err.error_type, err.arguments) == ("subtract", "LookupError", {"a": 1, "b": 2})
        assert "available tools: add" in next(m["content"] for m in result.messages if m["role"] == "tool")
        assert rec.types().index("tool.error") < rec.types().index("agent.step")
        rec.assert_terminated()
    assert seen[-1] == "subtract:LookupError"  # the async handler was awaited before arun went on
    wire.reply_tool_call("add", {"a": 1}, call_id="call_b")
    wire.reply("Missing b.")
    rec = RecordingCallbacks()
    await Agent(tools=[add], llm=llm, callbacks=rec).arun("add")
    [err] = rec.of_type(ToolErrorEvent)
    assert err.error_type == "ToolArgumentError" and err.arguments == {"a": 1}


async def test_arun_awaits_async_tools_and_handlers() -> None:
    """arun gathers async tools; async handlers see the same sequence."""
    rec = RecordingCallbacks()
    result = await Agent(tools=[slow_square], callbacks=rec).arun("Use slow_square on 7")
    assert "49" in result.output
    assert rec.types()[:5] == ["agent.start", "llm.start", "llm.end", "tool.start", "tool.end"]
    rec.assert_terminated()


async def test_sync_run_called_from_async_code_runs_async_tools() -> None:
    """``Agent.run`` inside a running loop (a Jupyter cell): an async tool still runs, in the agent's tree."""
    rec = RecordingCallbacks()
    result = Agent(tools=[slow_square], callbacks=rec).run("Use slow_square on 6")
    assert "36" in result.output
    [start] = rec.of_type(ToolStartEvent)
    assert start.parent_run_id == rec.events[0].run_id
    assert rec.of_type(ToolEndEvent)[0].result == 36
    rec.assert_terminated()


def test_stream_yields_the_final_answer_word_by_word() -> None:
    """Agent.stream yields the streamed text; LLM token events belong to the LLM runs."""
    rec = RecordingCallbacks()
    words = list(Agent(tools=[add], callbacks=rec).stream("Use add to compute 1 and 1"))
    assert "".join(words).strip().endswith("The result of add is 2.")
    tokens = [e for e in rec.events if e.type == "llm.token"]
    llm_ids = {e.run_id for e in rec.of_type(LLMStartEvent)}
    assert tokens and {t.run_id for t in tokens} <= llm_ids


def test_max_steps_bounds_the_loop() -> None:
    """A model that keeps calling tools stops at max_steps (or raises when asked to)."""

    llm = LLM(provider="offline")
    agent = Agent(tools=[add], llm=llm, max_steps=1, raise_on_max_steps=True)
    with pytest.raises(MaxStepsExceeded, match="max_steps=1"):
        agent.run("Use add to compute 2 and 3")
    with pytest.raises(ValueError, match="max_steps must be >= 1, got 0"):
        Agent(tools=[add], max_steps=0)


def test_agent_over_the_openai_sdk(wire: LLMWireServer) -> None:
    """The same loop over the official OpenAI SDK against the local wire server, usage exact."""
    wire.reply_tool_call(
        "lookup_capital", {"country": "Italy"}, call_id="call_it", input_tokens=30, output_tokens=7
    )
    wire.reply("The capital of Italy is Rome.", input_tokens=45, output_tokens=8)
    llm = LLM(
        provider="openai", model="gpt-4o-mini", api_key="test", base_url=wire.openai_base_url, max_retries=0
    )
    rec = RecordingCallbacks()
    result = Agent(tools=[lookup_capital], llm=llm, callbacks=rec).run("Capital of Italy?")
    assert result.output == "The capital of Italy is Rome."
    tool = rec.of_type(ToolStartEvent)[0]
    assert (tool.tool_name, tool.tool_call_id, tool.arguments) == (
        "lookup_capital",
        "call_it",
        {"country": "Italy"},
    )
    ends = rec.of_type(LLMEndEvent)
    assert [(e.input_tokens, e.output_tokens) for e in ends] == [(30, 7), (45, 8)]
    assert rec.types().index("tool.end") < rec.types().index("llm.start", 2)
    tool_message = wire.requests[-1].json["messages"][-1]
    assert (tool_message["role"], tool_message["tool_call_id"], tool_message["content"]) == (
        "tool",
        "call_it",
        "Rome",
    )


def scale(value: float, factor: int | None = None) -> float:
    """Scale a value by an optional factor."""
    return value * (factor if factor is not None else 1)


def test_null_for_an_optional_argument_is_accepted(wire: LLMWireServer) -> None:
    """A model sending ``null`` for ``factor: int | None`` gets the tool run, not a validation error."""
    wire.reply_tool_call("scale", {"value": 2.5, "factor": None}, call_id="call_s")
    wire.reply("It is 2.5.")
    llm = LLM(
        provider="openai", model="gpt-4o-mini", api_key="test", base_url=wire.openai_base_url, max_retries=0
    )
    rec = RecordingCallbacks()
    result = Agent(tools=[scale], llm=llm, callbacks=rec).run("Scale 2.5")
    assert result.output == "It is 2.5."
    assert rec.of_type(ToolErrorEvent) == []
    [end] = rec.of_type(ToolEndEvent)
    assert end.result == 2.5
    sent = wire.requests[0].json["tools"][0]["function"]["parameters"]["properties"]["factor"]
    assert sent == {"type": ["integer", "null"], "default": None}


async def test_mcp_tools_work_as_agent_tools() -> None:
    """A tool from the bundled MCP server is called by the agent; its one tool run carries the server."""
    pytest.importorskip("mcp")
    from llmhooks import MCPClient
    from llmhooks.demo_servers import demo_server_config

    rec = RecordingCallbacks()
    async with MCPClient([demo_server_config()], callbacks=rec) as client:
        agent = Agent(tools=[add, *client.tools()], callbacks=rec)
        result = await agent.arun("Use lookup_capital for France")
    assert "Paris" in result.output
    starts = [e for e in rec.of_type(ToolStartEvent) if e.tool_name == "lookup_capital"]
    assert len(starts) == 1 and starts[0].server_name == "demo-tools"
    assert starts[0].tool_call_id is not None
    assert sys.executable  # the server ran as a real subprocess of this interpreter


def test_abort_from_a_tool_handler_stops_the_agent() -> None:
    """A handler refusing a tool call (Abort) stops the whole agent run; the tool never runs."""
    from llmhooks import Abort, Callbacks

    ran: list[int] = []

    def guarded(a: int, b: int) -> int:
        """Add, guarded."""
        ran.append(a)
        return a + b

    class Guard(Callbacks):
        def on_tool_start(self, event: ToolStartEvent) -> None:
            raise Abort(f"tool {event.tool_name} not allowed")

    rec = RecordingCallbacks()
    with pytest.raises(Abort, match="tool guarded not allowed"):
        Agent(tools=[guarded], callbacks=[rec, Guard()]).run("Use guarded to compute 2 and 3")
    assert ran == []
    assert rec.types()[-1] == "agent.error"
    rec.assert_terminated()


def test_stream_consumer_runs_stay_outside_the_agent() -> None:
    """Runs the consumer starts while reading the stream are not children of the agent run."""
    from llmhooks import llm_run

    agent_rec, mine = RecordingCallbacks(), RecordingCallbacks()
    for _ in Agent(tools=[add], callbacks=agent_rec).stream("say hello"):
        with llm_run(model="mine", callbacks=mine):
            pass
    assert all(e.parent_run_id is None for e in mine.events)
    assert not any(e.model == "mine" for e in agent_rec.of_type(LLMStartEvent))


# -- early stop: every child run ends before its parent, one terminal event each -------------


def assert_children_end_first(rec: RecordingCallbacks) -> None:
    """Each run has one terminal event, and it comes before its parent's terminal event."""
    rec.assert_terminated()
    ends = {e.run_id: i for i, e in enumerate(rec.events) if e.type.endswith((".end", ".error"))}
    parents = {e.run_id: e.parent_run_id for e in rec.events if e.type.endswith(".start")}
    for run_id, parent in parents.items():
        if parent in ends:
            assert ends[run_id] < ends[parent], f"run {run_id} ended after its parent {parent}"


def agent_end(rec: RecordingCallbacks) -> AgentEndEvent:
    end = rec.events[-1]
    assert isinstance(end, AgentEndEvent), rec.types()
    return end


STORY = "Tell me a story"  # the offline model answers it without tools, word by word


def test_stream_closed_early_ends_the_llm_run_then_the_agent_incomplete() -> None:
    """``close()`` after a few words: llm.end then agent.end, both ``incomplete=True``, no error."""
    rec = RecordingCallbacks()
    stream = Agent(tools=[add], callbacks=rec).stream(STORY)
    words = [next(stream), next(stream)]
    stream.close()  # type: ignore[attr-defined]
    assert rec.types()[-2:] == ["llm.end", "agent.end"]
    llm_end = rec.of_type(LLMEndEvent)[-1]
    assert llm_end.incomplete is True and llm_end.response == "".join(words)
    end = agent_end(rec)
    assert end.incomplete is True and end.result == "".join(words) and end.steps == 0
    assert not any(e.type.endswith(".error") for e in rec.events)
    assert_children_end_first(rec)


def test_stream_dropped_after_break_ends_at_once_while_a_handler_keeps_the_events() -> None:
    """``break`` then dropping the stream: the runs end right away, child first, nothing kept open."""
    rec = RecordingCallbacks()
    agent = Agent(tools=[add], callbacks=rec)
    for _ in agent.stream("Use add to compute 1 and 1"):  # a tool step, then the final answer
        break
    assert_children_end_first(rec)
    assert agent_end(rec).incomplete is True
    assert rec.types() == [
        "agent.start",
        "llm.start", "llm.end",
        "tool.start", "tool.end",
        "agent.step",
        "llm.start", "llm.token", "llm.end",
        "agent.end",
    ]  # fmt: skip
    assert agent_end(rec).steps == 1


def test_stream_stopped_between_model_turns(wire: LLMWireServer) -> None:
    """Stopped at the separator after a turn that asked for a tool (OpenAI SDK): the tool never runs."""
    wire.reply_tool_call("add", {"a": 1, "b": 1}, call_id="call_1", text="Let me add.")
    llm = LLM(provider="openai", model="gpt-4o-mini", api_key="test", base_url=wire.openai_base_url)
    rec = RecordingCallbacks()
    stream = Agent(tools=[add], llm=llm, callbacks=rec).stream("add 1 and 1")
    received = []
    for delta in stream:
        received.append(delta)
        if delta == "\n":
            break
    del stream
    gc.collect()
    assert "".join(received) == "Let me add.\n"
    assert rec.types() == [
        "agent.start",
        "llm.start",
        "llm.token",
        "llm.token",
        "llm.token",
        "llm.end",
        "agent.end",
    ]
    assert rec.of_type(LLMEndEvent)[0].incomplete is False  # that turn was complete
    end = agent_end(rec)
    assert end.incomplete is True and end.result == "Let me add." and end.steps == 0
    assert_children_end_first(rec)


async def test_astream_aclose_ends_the_llm_run_then_the_agent_incomplete() -> None:
    """``await aclose()``: the same order and fields as the sync stream."""
    rec = RecordingCallbacks()
    stream = Agent(tools=[add], callbacks=rec).astream(STORY)
    first = await stream.__anext__()
    await stream.aclose()  # type: ignore[attr-defined]
    assert rec.types()[-2:] == ["llm.end", "agent.end"]
    assert rec.of_type(LLMEndEvent)[-1].incomplete is True
    end = agent_end(rec)
    assert end.incomplete is True and end.result == first
    assert_children_end_first(rec)


def test_astream_dropped_after_break_is_closed_by_the_event_loop() -> None:
    """An async stream dropped half-read is closed when its loop finalises it, child first."""
    rec = RecordingCallbacks()

    async def main() -> None:
        async for _ in Agent(tools=[add], callbacks=rec).astream(STORY):
            break

    asyncio.run(main())
    assert_children_end_first(rec)
    assert agent_end(rec).incomplete is True
    assert rec.of_type(LLMEndEvent)[-1].incomplete is True


async def test_astream_cancelled_while_tools_run_ends_them_before_the_agent() -> None:
    """Cancelling the consumer while tool calls are in flight: each tool run ends (cancelled) first."""
    started = asyncio.Event()

    async def wait_forever(x: int) -> int:
        """Never returns."""
        started.set()
        await asyncio.Event().wait()
        return x

    rec = RecordingCallbacks()
    agent = Agent(tools=[wait_forever, slow_square], callbacks=rec)

    async def consume() -> None:
        async for _ in agent.astream("Use wait_forever on 1 and slow_square on 2"):
            pass

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_children_end_first(rec)
    errors = {e.tool_name: e for e in rec.of_type(ToolErrorEvent)}
    assert errors["wait_forever"].cancelled is True and errors["wait_forever"].arguments == {"x": 1}
    last = rec.events[-1]
    assert isinstance(last, AgentErrorEvent) and last.cancelled is True


def test_a_goal_with_an_image_keeps_its_data_out_of_agent_events() -> None:
    """A goal given as messages with an inline image: agent events name the image, never hold its data."""
    import base64
    import json

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(992)).decode()
    goal = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
            ],
        }
    ]
    rec = RecordingCallbacks()
    Agent(tools=[add], callbacks=[rec]).run(goal)
    [start] = rec.of_type(AgentStartEvent)
    assert start.goal == "What is in this picture? <image/png: 1000 bytes>"
    assert png[:40] not in json.dumps([e.to_dict() for e in rec.events])
