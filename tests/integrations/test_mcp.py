"""MCPClient against a real MCP server process (mcp SDK ``MCPServer``) over stdio."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp.server.mcpserver", reason="needs the mcp SDK 2.x")

from llmhooks import Callbacks
from llmhooks.events import (
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)
from llmhooks.integrations.mcp import MCPClient, MCPTimeoutError, MCPToolError
from llmhooks.testing import RecordingCallbacks

SERVER = Path(__file__).parent / "mcp_servers" / "tools_server.py"


def stdio_config(name: str = "tools") -> dict[str, Any]:
    return {"name": name, "command": sys.executable, "args": [str(SERVER), "stdio", "-", name]}


async def test_connect_and_close_emit_one_event_each_with_counts() -> None:
    """Connecting reports transport and tool/resource/prompt counts; closing reports why."""
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        assert client.is_connected("tools")
    (connect,) = rec.of_type(MCPConnectEvent)
    (disconnect,) = rec.of_type(MCPDisconnectEvent)
    assert (connect.server_name, connect.transport) == ("tools", "stdio")
    assert (connect.tools_count, connect.resources_count, connect.prompts_count) == (8, 1, 1)
    assert disconnect.reason == "closed by client"
    assert disconnect.run_id == connect.run_id and disconnect.trace_id == connect.trace_id
    assert client.errors == {}


async def test_tool_call_emits_start_and_end_with_server_name() -> None:
    """A call is a tool run: start with the arguments, end with the text result."""
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        assert await client.call_tool("add", {"a": 2, "b": 3}, tool_call_id="call-1") == "5"
    start, end = rec.of_type(ToolStartEvent)[0], rec.of_type(ToolEndEvent)[0]
    assert (start.tool_name, start.server_name, start.arguments, start.tool_call_id) == (
        "add",
        "tools",
        {"a": 2, "b": 3},
        "call-1",
    )
    assert (end.run_id, end.result, end.success, end.server_name) == (start.run_id, "5", True, "tools")
    assert end.latency_ms is not None and end.latency_ms >= 0
    rec.assert_terminated()


async def test_progress_events_belong_to_the_call_and_async_handlers_are_awaited() -> None:
    """Progress notifications become MCPProgressEvents of the call's run, before its end."""
    seen: list[tuple[float, float | None, str | None]] = []

    class Progress(Callbacks):
        async def on_mcp_progress_async(self, event: MCPProgressEvent) -> None:
            await asyncio.sleep(0.01)
            seen.append((event.progress, event.total, event.message))

    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=[rec, Progress()]) as client:
        assert await client.call_tool("slow_progress", {"steps": 3}) == "counted to 3"
    start = rec.of_type(ToolStartEvent)[0]
    types = [e.type for e in rec.for_run(start.run_id)]
    assert types == ["tool.start", "mcp.progress", "mcp.progress", "mcp.progress", "tool.end"]
    progress = rec.of_type(MCPProgressEvent)
    assert [(p.progress, p.total) for p in progress] == [(1, 3), (2, 3), (3, 3)]
    assert {(p.tool_name, p.server_name, p.trace_id) for p in progress} == {
        ("slow_progress", "tools", start.trace_id)
    }
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


async def test_server_log_messages_become_logging_events() -> None:
    """A log message sent by the server arrives with level, data and logger name."""
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        assert await client.call_tool("shout", {"text": "hi"}) == "HI"
    (log,) = rec.of_type(MCPLoggingEvent)
    assert (log.server_name, log.level, log.logger_name) == ("tools", "warning", "shouter")
    assert log.data == {"text": "hi"}


async def test_secrets_in_server_logs_and_tool_arguments_are_redacted() -> None:
    """A provider key sent through a real MCP call reaches no handler: not in arguments or server log."""
    canary = "sk-proj-CANARY0123456789abcdefghijklmnop"
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        await client.call_tool("shout", {"text": canary})
    dumped = json.dumps([e.to_dict() for e in rec.events])
    assert rec.of_type(MCPLoggingEvent) and canary not in dumped


async def test_result_flagged_as_error_is_a_tool_error_not_a_success() -> None:
    """A result the server flags is_error raises MCPToolError and emits tool.error only."""
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        with pytest.raises(MCPToolError, match="failed on purpose: disk full") as info:
            await client.call_tool("fail", {"reason": "disk full"})
        assert info.value.result.is_error and info.value.tool_name == "fail"
        assert client.is_connected("tools")
    assert "tool.end" not in rec.types()  # a ToolErrorEvent is a ToolEndEvent (seed 004), not a tool.end
    (error,) = rec.of_type(ToolErrorEvent)
    assert error.error_type == "MCPToolError" and "disk full" in error.error_message
    assert error.server_name == "tools"


async def test_call_timeout_is_a_tool_error_and_the_session_survives() -> None:
    """A call without an answer in time raises MCPTimeoutError; the server stays usable."""
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config()], callbacks=rec) as client:
        with pytest.raises(MCPTimeoutError, match=r"within 0\.2s"):
            await client.call_tool("sleep", {"seconds": 5}, timeout=0.2)
        assert await client.call_tool("add", {"a": 1, "b": 1}) == "2"
    assert [e.error_type for e in rec.of_type(ToolErrorEvent)] == ["MCPTimeoutError"]


async def test_stdio_server_starts_when_stderr_is_not_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under Jupyter or captured output sys.stderr has no file descriptor; servers still start."""
    import io
    import sys

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    async with MCPClient([stdio_config()]) as client:
        assert await client.call_tool("add", {"a": 1, "b": 2}) == "3"
