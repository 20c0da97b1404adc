"""MCP tools in agents and sync code, against a real stdio MCP server: the same events as local tools."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp.server.mcpserver", reason="needs the mcp SDK 2.x")

from llmhooks import Abort, Agent, Callbacks
from llmhooks.events import (
    AgentErrorEvent,
    Event,
    MCPDisconnectEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)
from llmhooks.integrations.mcp import MCPClient
from llmhooks.testing import RecordingCallbacks
from llmhooks.tools import Tool, ToolArgumentError

SERVER = Path(__file__).parent / "mcp_servers" / "tools_server.py"
AGENT_TYPES = [
    "agent.start",
    "llm.start", "llm.end",
    "tool.start", "tool.end",
    "agent.step",
    "llm.start", "llm.end",
    "agent.step",
    "agent.end",
]  # fmt: skip


def stdio_config(name: str = "tools") -> dict[str, Any]:
    return {"name": name, "command": sys.executable, "args": [str(SERVER), "stdio", "-", name]}


def agent_types(rec: RecordingCallbacks) -> list[str]:
    return [t for t in rec.types() if not t.startswith("mcp.")]


def check_tool_run(rec: RecordingCallbacks, name: str = "add") -> ToolStartEvent:
    """The agent's MCP tool run: one start and end, with the server, call id and the agent as parent."""
    [start] = [e for e in rec.of_type(ToolStartEvent) if e.tool_name == name and e.tool_call_id]
    [end] = [e for e in rec.of_type(ToolEndEvent) if e.run_id == start.run_id]
    agent_id = rec.events[[e.type for e in rec.events].index("agent.start")].run_id
    assert start.server_name == "tools" and start.tool_call_id and start.parent_run_id == agent_id
    assert end.success is True
    rec.assert_terminated()
    return start


async def test_sync_agent_run_called_from_async_code_uses_mcp_tools() -> None:
    """``Agent.run`` inside a running loop (a Jupyter cell, async code): MCP tools work, events as usual."""
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        result = Agent(tools=client.tools(), callbacks=rec).run("Use add to compute 2 and 3")
        assert await client.call_tool("add", {"a": 1, "b": 1}) == "2"  # still usable from async code
    assert result.output == "The result of add is 5."
    assert agent_types(rec)[: len(AGENT_TYPES)] == AGENT_TYPES
    check_tool_run(rec)


def test_sync_client_and_agent_in_plain_sync_code() -> None:
    """``with MCPClient(...)`` from sync code: connect, parallel tool calls from a sync agent, close."""
    rec = RecordingCallbacks()
    with MCPClient([stdio_config()], callbacks=rec) as client:
        assert client.is_connected("tools")
        result = Agent(tools=client.tools(), callbacks=rec).run('Use add to compute 2 and 3, then shout "hi"')
    assert result.output == "Results: add: 5; shout: HI."
    assert rec.types()[0] == "mcp.connect" and rec.types()[-1] == "mcp.disconnect"
    assert sorted(e.tool_name for e in rec.of_type(ToolEndEvent)) == ["add", "shout"]
    check_tool_run(rec)
    assert not client.is_connected("tools")


async def test_arun_and_run_give_the_same_events() -> None:
    """The same MCP tool through ``arun`` and ``run``: the same event sequence."""
    sequences = []
    async with MCPClient([stdio_config()]) as client:
        for use_async in (True, False):
            rec = RecordingCallbacks()
            agent = Agent(tools=client.tools(), callbacks=rec)
            goal = "Use add to compute 4 and 5"
            result = await agent.arun(goal) if use_async else agent.run(goal)
            assert result.output == "The result of add is 9."
            check_tool_run(rec)
            sequences.append(rec.types())
    assert sequences[0] == sequences[1]


def test_handlers_run_in_the_callers_thread_for_sync_calls() -> None:
    """Sync calls: tool and progress handlers run in the calling thread, not the client's loop thread."""
    threads: dict[str, set[int]] = {}

    class Where(Callbacks):
        def on_event(self, event: Event) -> None:
            threads.setdefault(event.type, set()).add(threading.get_ident())

    with MCPClient([stdio_config()], callbacks=Where()) as client:
        slow = next(t for t in client.tools() if t.__name__ == "slow_progress")
        assert slow.invoke({"steps": 2}) == "counted to 2"
    me = threading.get_ident()
    for kind in ("tool.start", "mcp.progress", "mcp.logging", "tool.end", "mcp.connect", "mcp.disconnect"):
        assert threads[kind] == {me}, kind


async def test_async_handlers_are_awaited_on_the_callers_loop() -> None:
    """Async calls: async handlers are awaited on the caller's loop (loop-bound objects work in them)."""
    loops: dict[str, set[int]] = {}
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)  # bound to this loop once it waits

    class Where(Callbacks):
        async def on_event(self, event: Event) -> None:
            loops.setdefault(event.type, set()).add(id(asyncio.get_running_loop()))
            await queue.put(event.type)  # waits for the consumer below: fails on another loop

    received: list[str] = []

    async def consume() -> None:
        while True:
            received.append(await queue.get())

    consumer = asyncio.create_task(consume())
    async with MCPClient([stdio_config()], callbacks=Where()) as client:
        assert await client.call_tool("slow_progress", {"steps": 2}) == "counted to 2"
    await asyncio.sleep(0)
    consumer.cancel()
    here = {id(asyncio.get_running_loop())}
    assert loops and all(seen == here for seen in loops.values()), loops
    assert received == [
        "mcp.connect",
        "tool.start",
        "mcp.logging",
        "mcp.progress",
        "mcp.progress",
        "tool.end",
        "mcp.disconnect",
    ]


async def test_mcp_tool_with_bad_arguments_gives_the_same_events_as_a_local_tool() -> None:
    """A model calling an MCP tool with a wrong argument: tool.start then tool.error, as for a local tool.

    Tool error events carry the arguments, for these and for a call the server failed.
    """

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    def tool_events(events: list[Event]) -> list[tuple[str, Any, Any]]:
        return [
            (e.type, getattr(e, "arguments", None), getattr(e, "error_type", None))
            for e in events
            if e.type.startswith("tool.")
        ]

    goal = "Use add with a=2"  # the offline model finds no value for b
    local = RecordingCallbacks()
    await Agent(tools=[add], callbacks=local).arun(goal)
    remote, failed_call = RecordingCallbacks(), RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=remote) as client:  # the client's handlers hear it
        tools = [t for t in client.tools() if t.__name__ == "add"]
        result = await Agent(tools=tools).arun(goal)
        remote.assert_terminated()
        refused = list(remote.events)
        fail = [t for t in client.tools() if t.__name__ == "fail"]
        await Agent(tools=fail, callbacks=failed_call).arun('Use fail with reason="disk full"')
    assert tool_events(refused) == tool_events(local.events)
    [error] = [e for e in refused if isinstance(e, ToolErrorEvent)]
    assert error.error_type == "ToolArgumentError" and error.server_name == "tools"
    assert error.tool_call_id is not None and "missing required argument(s) b" in error.error_message
    assert error.arguments == next(e for e in refused if isinstance(e, ToolStartEvent)).arguments
    assert "ToolArgumentError" in next(m["content"] for m in result.messages if m["role"] == "tool")
    [failed] = failed_call.of_type(ToolErrorEvent)  # a call the server failed
    assert failed.arguments == {"reason": "disk full"} and failed.error_type == "MCPToolError"
    with pytest.raises(ToolArgumentError):  # called directly, the Tool still refuses them
        Tool.from_function(tools[0]).invoke({"a": 1})


async def test_server_logs_during_a_call_name_the_tool_and_come_before_its_end() -> None:
    """A log sent during a call carries ``tool_name`` and reaches handlers before ``tool.end``.

    Logs name no request: with two different tools in flight on one server, ``tool_name`` is None.
    """
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        assert await client.call_tool("shout", {"text": "hi"}) == "HI"
        assert await client.call_tool("slow_progress", {"steps": 1}) == "counted to 1"
        logs = rec.of_type(MCPLoggingEvent)
        assert [(log.tool_name, log.logger_name) for log in logs] == [
            ("shout", "shouter"),
            ("slow_progress", "counter"),
        ]
        types = [t for t in rec.types() if t.startswith(("tool.", "mcp.logging"))]
        assert types == ["tool.start", "mcp.logging", "tool.end"] * 2
        rec.clear()
        await asyncio.gather(
            client.call_tool("shout", {"text": "a"}), client.call_tool("sleep", {"seconds": 0.3})
        )
    [log] = rec.of_type(MCPLoggingEvent)
    assert log.tool_name is None


def test_abort_from_a_progress_handler_stops_a_sync_call() -> None:
    """In sync code too, a handler raising Abort on progress stops the call; the client stays usable."""

    class StopEarly(Callbacks):
        def on_mcp_progress(self, event: MCPProgressEvent) -> None:
            raise Abort("enough")

    rec = RecordingCallbacks()
    with MCPClient([stdio_config()], callbacks=[rec, StopEarly()]) as client:
        tools = {t.__name__: t for t in client.tools()}
        with pytest.raises(Abort, match="enough"):
            tools["slow_progress"].invoke({"steps": 3})
        assert tools["add"].invoke({"a": 1, "b": 2}) == "3"
    assert [e.error_type for e in rec.of_type(ToolErrorEvent)] == ["Abort"]
    rec.assert_terminated()


async def test_astream_cancelled_while_an_mcp_tool_runs() -> None:
    """Cancelling an agent stream during an MCP call: the tool run ends (cancelled) before the agent."""
    started = asyncio.Event()

    class Started(Callbacks):
        async def on_tool_start_async(self, event: ToolStartEvent) -> None:
            started.set()

    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=[rec, Started()]) as client:
        tools = [t for t in client.tools() if t.__name__ == "sleep"]

        async def consume() -> None:
            async for _ in Agent(tools=tools, callbacks=rec).astream("Use sleep for 30 seconds"):
                pass

        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await client.call_tool("add", {"a": 1, "b": 2}) == "3"  # the session survived
    [error] = rec.of_type(ToolErrorEvent)
    assert error.cancelled is True and error.tool_name == "sleep"
    types = rec.types()
    assert types.index("tool.error") < types.index("agent.error")
    agent_error = rec.of_type(AgentErrorEvent)[0]
    assert agent_error.cancelled is True
    rec.assert_terminated()


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_interrupted_sync_call_ends_its_tool_run_and_the_session_survives() -> None:
    """Ctrl-C while a sync agent waits on an MCP call: tool.error (cancelled), then agent.error."""
    main = threading.get_ident()

    class Interrupt(Callbacks):
        def on_tool_start(self, event: ToolStartEvent) -> None:
            if event.tool_name == "sleep":  # interrupt once the call is on its way
                threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT)).start()

    rec = RecordingCallbacks()
    with MCPClient([stdio_config()], callbacks=rec) as client:
        tools = {t.__name__: t for t in client.tools()}
        with pytest.raises(KeyboardInterrupt):
            Agent(tools=[tools["sleep"]], callbacks=[rec, Interrupt()]).run("Use sleep for 30 seconds")
        assert tools["add"].invoke({"a": 1, "b": 2}) == "3"
    [error] = rec.of_type(ToolErrorEvent)
    assert error.cancelled is True
    assert rec.types().index("tool.error") < rec.types().index("agent.error")
    rec.assert_terminated()


def mcp_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("llmhooks-mcp-")]


def test_sessions_outlive_the_loop_that_connected_them_and_close_when_dropped() -> None:
    """``asyncio.run(client.connect())``, then sync calls; a client dropped unclosed closes its sessions."""
    rec = RecordingCallbacks()
    client = MCPClient([stdio_config("kept")], callbacks=rec)
    asyncio.run(client.connect())
    add = next(t for t in client.tools() if t.__name__ == "add")
    assert add.invoke({"a": 20, "b": 22}) == "42"
    assert any(t.name == "llmhooks-mcp-kept" for t in mcp_threads())
    del client, add
    gc.collect()
    assert [e.reason for e in rec.of_type(MCPDisconnectEvent)] == ["closed by client"]
    assert not any(t.name == "llmhooks-mcp-kept" for t in mcp_threads())
    rec.assert_terminated()


async def test_close_ends_the_clients_thread_and_connect_starts_it_again() -> None:
    """No thread is left behind by a closed client; reconnecting works."""
    client = MCPClient([stdio_config("again")])
    for _ in range(2):
        async with client:
            assert await client.call_tool("add", {"a": 1, "b": 1}) == "2"
            assert any(t.name == "llmhooks-mcp-again" for t in mcp_threads())
        assert not any(t.name == "llmhooks-mcp-again" for t in mcp_threads())
