"""MCPClient against a real MCP server over streamable HTTP (uvicorn, started by the test)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp.server.mcpserver", reason="needs the mcp SDK 2.x")
pytest.importorskip("uvicorn", reason="the HTTP test server needs uvicorn")

from llmhooks.events import (
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)
from llmhooks.integrations.mcp import MCPClient, MCPConnectionError
from llmhooks.testing import RecordingCallbacks

SERVER = Path(__file__).parent / "mcp_servers" / "tools_server.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(name: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "http", str(port), name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the HTTP MCP test server exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the HTTP MCP test server did not listen within 15s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    proc, url = _start_server("web")
    try:
        yield url
    finally:
        _stop(proc)


async def test_http_session_events_calls_progress_and_logs(http_url: str) -> None:
    """Over streamable HTTP: connect, a call with progress and a log, then disconnect."""
    rec = RecordingCallbacks()
    async with MCPClient([{"name": "web", "url": http_url}], callbacks=rec) as client:
        assert await client.call_tool("add", {"a": 20, "b": 22}) == "42"
        assert await client.call_tool("slow_progress", {"steps": 2}) == "counted to 2"
    (connect,) = rec.of_type(MCPConnectEvent)
    assert (connect.transport, connect.tools_count, connect.server_name) == ("streamable_http", 8, "web")
    assert [(p.progress, p.total) for p in rec.of_type(MCPProgressEvent)] == [(1, 2), (2, 2)]
    run_id = rec.of_type(ToolStartEvent)[1].run_id
    assert {p.run_id for p in rec.of_type(MCPProgressEvent)} == {run_id}
    assert [log.data for log in rec.of_type(MCPLoggingEvent)] == ["starting 2 steps"]
    assert [e.result for e in rec.of_type(ToolEndEvent)] == ["42", "counted to 2"]
    assert [d.reason for d in rec.of_type(MCPDisconnectEvent)] == ["closed by client"]
    rec.assert_terminated()


async def test_http_headers_from_the_config_reach_the_server(http_url: str) -> None:
    """The config's headers are sent with every request."""
    config = {"name": "web", "url": http_url, "headers": {"X-Tenant": "acme"}}
    async with MCPClient([config]) as client:
        assert await client.call_tool("header", {"name": "x-tenant"}) == "acme"


async def test_unreachable_url_gives_clear_error_and_disconnect() -> None:
    """Nothing listening: connect fails naming the server, with a disconnect event."""
    rec = RecordingCallbacks()
    client = MCPClient([{"name": "nowhere", "url": f"http://127.0.0.1:{_free_port()}/mcp"}], callbacks=rec)
    with pytest.raises(MCPConnectionError, match="nowhere"):
        await client.connect()
    (disconnect,) = rec.of_type(MCPDisconnectEvent)
    assert "connection failed" in (disconnect.reason or "")  # what failed, whatever the transport raised


async def test_http_server_death_mid_call_is_a_disconnect() -> None:
    """An HTTP server that dies mid-call: the call fails, then one disconnect event."""
    proc, url = _start_server("fragile")
    rec = RecordingCallbacks()
    try:
        async with MCPClient([{"name": "fragile", "url": url}], callbacks=rec, timeout=10) as client:
            with pytest.raises(MCPConnectionError, match="fragile"):
                await client.call_tool("crash")
            assert not client.is_connected("fragile")
    finally:
        _stop(proc)
    (disconnect,) = rec.of_type(MCPDisconnectEvent)
    assert disconnect.reason and disconnect.reason != "closed by client"
    assert [e.error_type for e in rec.of_type(ToolErrorEvent)] == ["MCPConnectionError"]
    rec.assert_terminated()
