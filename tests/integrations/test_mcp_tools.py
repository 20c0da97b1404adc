"""MCPClient listings, agent tools and run-tree links, against a real stdio MCP server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp.server.mcpserver", reason="needs the mcp SDK 2.x")

from llmhooks import Abort, Callbacks, chain_run
from llmhooks.events import MCPConnectEvent, MCPProgressEvent, ToolErrorEvent, ToolStartEvent
from llmhooks.integrations.mcp import MCPClient, MCPTool
from llmhooks.testing import RecordingCallbacks

SERVER = Path(__file__).parent / "mcp_servers" / "tools_server.py"


def stdio_config(name: str = "tools") -> dict[str, Any]:
    return {"name": name, "command": sys.executable, "args": [str(SERVER), "stdio", "-", name]}


async def test_listings_resources_and_prompts() -> None:
    """Tools, resources and prompts are listed; a resource is read and a prompt rendered."""
    async with MCPClient(stdio_config()) as client:
        tools = await client.list_tools()
        resources = await client.list_resources()
        prompts = await client.list_prompts()
        assert {t.name for t in tools} >= {"add", "slow_progress", "fail", "crash"}
        assert [(r.server_name, r.uri) for r in resources] == [("tools", "memo://greeting")]
        assert [(p.name, p.arguments[0]["name"]) for p in prompts] == [("review", "code")]
        assert await client.read_resource("memo://greeting") == "hello from the test server"
        messages = await client.get_prompt("review", {"code": "x = 1"})
        assert messages == [{"role": "user", "content": "Please review:\nx = 1"}]


async def test_tools_are_async_callables_with_the_server_schema() -> None:
    """client.tools() gives callables an agent can use: name, doc, JSON schema, call."""
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        add = next(t for t in client.tools() if t.__name__ == "add")
        assert isinstance(add, MCPTool) and add.server_name == "tools"
        assert add.__doc__ == "Add two integers."
        assert add.parameters["required"] == ["a", "b"]
        assert add.parameters["properties"]["a"]["type"] == "integer"
        assert await add(a=4, b=5) == "9"
        assert await add.ainvoke({"a": 1, "b": 2}, tool_call_id="tc-7") == "3"
    assert [e.tool_call_id for e in rec.of_type(ToolStartEvent)] == [None, "tc-7"]


async def test_calls_inside_a_run_are_its_children() -> None:
    """Connect and tool events made inside a run take its trace and parent."""
    rec = RecordingCallbacks()
    client = MCPClient([stdio_config()], callbacks=rec)
    async with chain_run("outer", callbacks=rec) as outer, client:
        await client.call_tool("add", {"a": 1, "b": 2})
    connect = rec.of_type(MCPConnectEvent)[0]
    start = rec.of_type(ToolStartEvent)[0]
    assert connect.parent_run_id == outer.run_id and start.parent_run_id == outer.run_id
    assert connect.trace_id == start.trace_id == outer.trace_id


async def test_abort_from_a_progress_handler_cancels_the_call() -> None:
    """A handler raising Abort on progress stops the call; the run ends in tool.error."""

    class StopEarly(Callbacks):
        def on_mcp_progress(self, event: MCPProgressEvent) -> None:
            raise Abort("enough")

    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=[rec, StopEarly()]) as client:
        with pytest.raises(Abort, match="enough"):
            await client.call_tool("slow_progress", {"steps": 3})
        assert await client.call_tool("add", {"a": 1, "b": 2}) == "3"
    assert [e.error_type for e in rec.of_type(ToolErrorEvent)] == ["Abort"]
    rec.assert_terminated()


async def test_concurrent_calls_keep_their_own_progress() -> None:
    """Two calls in flight at once: each progress event carries its own call's run id."""
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        results = await asyncio.gather(
            client.call_tool("slow_progress", {"steps": 2}),
            client.call_tool("slow_progress", {"steps": 3}),
        )
    assert results == ["counted to 2", "counted to 3"]
    totals = {s.run_id: s.arguments["steps"] for s in rec.of_type(ToolStartEvent)}
    progress = rec.of_type(MCPProgressEvent)
    assert len(progress) == 5
    assert all(p.total == totals[p.run_id] for p in progress)
    rec.assert_terminated()
