"""MCPClient when servers fail: bad start, bad JSON, timeouts, crashes, bad configs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp.server.mcpserver", reason="needs the mcp SDK 2.x")

from llmhooks.events import MCPConnectEvent, MCPDisconnectEvent, ToolErrorEvent
from llmhooks.integrations.mcp import (
    MCPClient,
    MCPConfigError,
    MCPConnectionError,
    MCPTimeoutError,
    MCPToolError,
)
from llmhooks.testing import RecordingCallbacks

SERVERS = Path(__file__).parent / "mcp_servers"


def stdio_config(name: str = "tools") -> dict[str, Any]:
    return script_config(name, "tools_server.py", args=[str(SERVERS / "tools_server.py"), "stdio", "-", name])


def script_config(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "command": sys.executable, "args": [str(SERVERS / script)], **extra}


def disconnects(rec: RecordingCallbacks) -> dict[str, str | None]:
    return {e.server_name: e.reason for e in rec.of_type(MCPDisconnectEvent)}


async def test_command_that_does_not_exist_gives_clear_error_and_disconnect() -> None:
    """A server that cannot be spawned raises naming the command, with a disconnect event."""
    rec = RecordingCallbacks()
    client = MCPClient([{"name": "ghost", "command": "/no/such/mcp-server", "args": ["--x"]}], callbacks=rec)
    with pytest.raises(MCPConnectionError, match="ghost") as info:
        await client.connect()
    assert "/no/such/mcp-server --x" in str(info.value)
    assert "could not start" in disconnects(rec)["ghost"]
    assert rec.of_type(MCPConnectEvent) == []
    assert not client.is_connected("ghost")


async def test_start_error_quoting_an_api_key_never_shows_it(caplog: pytest.LogCaptureFixture) -> None:
    """The command line in a start error has its --api-key replaced: in str(), args, reason,
    the events and the log, for the server that failed and the summary error alike."""
    import json
    import logging

    secret = "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"
    rec = RecordingCallbacks()
    config = {"name": "keyed", "command": "/no/such/mcp-server", "args": ["--api-key", secret, "--x"]}
    client = MCPClient([config], callbacks=rec)
    with caplog.at_level(logging.DEBUG), pytest.raises(MCPConnectionError) as info:
        await client.connect()
    err = info.value
    assert "/no/such/mcp-server --api-key" in str(err)  # still says what could not start
    seen = [str(err), repr(err.args), str(getattr(err, "reason", "")), caplog.text]
    for link in (err.__cause__, err.__context__):
        if link is not None:
            seen += [str(link), repr(link.args), str(getattr(link, "reason", ""))]
    seen += [json.dumps(e.to_dict(), default=str) for e in rec.events]
    seen.append(str(disconnects(rec)))
    assert [text for text in seen if secret in text] == []


async def test_server_that_exits_at_once_and_one_that_prints_garbage() -> None:
    """A server that exits or writes non-JSON during the handshake fails with the reason."""
    rec = RecordingCallbacks()
    client = MCPClient(
        [
            {"name": "quitter", "command": sys.executable, "args": ["-c", "pass"]},
            script_config("noisy", "garbage_server.py"),
        ],
        callbacks=rec,
    )
    with pytest.raises(MCPConnectionError, match="no MCP server could be connected"):
        await client.connect()
    reasons = disconnects(rec)
    assert "closed the connection" in reasons["quitter"]
    assert "not JSON" in reasons["noisy"] and "Server starting" in reasons["noisy"]
    assert set(client.errors) == {"quitter", "noisy"}
    assert "Server starting" in str(client.errors["noisy"])


async def test_handshake_timeout_is_reported_as_timeout() -> None:
    """A server that never answers the handshake times out (its own 'timeout' wins)."""
    rec = RecordingCallbacks()
    client = MCPClient([script_config("mute", "silent_server.py", timeout=0.5)], callbacks=rec, timeout=30)
    with pytest.raises(MCPConnectionError):
        await client.connect()
    assert isinstance(client.errors["mute"], MCPTimeoutError)
    assert disconnects(rec)["mute"] == "no answer to the MCP handshake within 0.5s"


async def test_crash_mid_call_fails_the_call_and_emits_one_disconnect() -> None:
    """A server process that dies mid-call: tool.error, one disconnect event, clear errors."""
    rec = RecordingCallbacks()
    async with MCPClient([stdio_config("doomed"), stdio_config("steady")], callbacks=rec) as client:
        with pytest.raises(MCPConnectionError, match=r"doomed.*closed the connection"):
            await client.call_tool("crash", server="doomed")
        assert disconnects(rec) == {
            "doomed": "the server closed the connection (the server process exited or closed its stdout; "
            "see its stderr)"
        }
        with pytest.raises(MCPConnectionError, match="not connected"):
            await client.call_tool("add", {"a": 1, "b": 2}, server="doomed")
        assert await client.call_tool("steady.add", {"a": 1, "b": 2}) == "3"
        assert set(client.errors) == {"doomed"}
        await client.connect()  # restarts the servers that are down
        assert await client.call_tool("add", {"a": 2, "b": 2}, server="doomed") == "4"
    errors = rec.of_type(ToolErrorEvent)
    assert [(e.server_name, e.error_type) for e in errors] == [
        ("doomed", "MCPConnectionError"),
        ("doomed", "MCPConnectionError"),
    ]
    assert [e.server_name for e in rec.of_type(MCPConnectEvent)].count("doomed") == 2
    rec.assert_terminated()


async def test_invalid_json_mid_session_disconnects_with_the_reason() -> None:
    """A stray non-JSON line on a stdio server's stdout ends the session, saying what it was."""
    rec = RecordingCallbacks()
    async with MCPClient([script_config("printer", "raw_server.py")], callbacks=rec) as client:
        with pytest.raises(MCPConnectionError, match="this is not JSON"):
            await client.call_tool("corrupt")
    assert "debug: this is not JSON" in disconnects(rec)["printer"]


async def test_other_servers_keep_working_when_one_fails_to_start() -> None:
    """connect() succeeds with the servers that started; the failed one is in errors."""
    rec = RecordingCallbacks()
    configs = [stdio_config("good"), {"name": "bad", "command": "/no/such/server"}]
    async with MCPClient(configs, callbacks=rec) as client:
        assert client.is_connected("good") and not client.is_connected("bad")
        assert list(client.errors) == ["bad"]
        assert await client.call_tool("add", {"a": 1, "b": 2}) == "3"
        with pytest.raises(MCPConnectionError, match="'bad' is not connected"):
            await client.call_tool("add", {"a": 1, "b": 2}, server="bad")
    assert disconnects(rec)["good"] == "closed by client"


async def test_same_tool_on_two_servers_must_be_qualified() -> None:
    """Two servers offering 'add': the bare name is ambiguous; qualified names work."""
    async with MCPClient([stdio_config("left"), stdio_config("right")]) as client:
        with pytest.raises(MCPToolError, match=r"'left\.add', 'right\.add'"):
            await client.call_tool("add", {"a": 1, "b": 2})
        assert await client.call_tool("left.add", {"a": 1, "b": 2}) == "3"
        assert await client.call_tool("right__add", {"a": 2, "b": 2}) == "4"
        names = {t.__name__ for t in client.tools()}
        assert {"left__add", "right__add", "left__shout"} <= names
        with pytest.raises(MCPToolError, match="no connected MCP server has a tool named 'nope'"):
            await client.call_tool("nope")


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        ([], "at least one server"),
        ("python server.py", "list of server config dicts"),
        ([{"name": "x"}], "either 'command'"),
        ([{"command": "python", "url": "http://h/mcp"}], "either 'command'"),
        ([{"command": "python", "headers": {}}], r"unknown key\(s\) \['headers'\]"),
        ([{"url": "ftp://h/mcp"}], "http\\(s\\) URL"),
        ([{"command": "python", "args": "server.py"}], "'args' must be a list"),
        ([{"command": "python", "timeout": 0}], "'timeout' must be a positive"),
        ([{"name": "a", "command": "x"}, {"name": "a", "url": "http://h/mcp"}], "two MCP servers are named"),
        ([{"command": "python", "transport": "streamable_http"}], "does not match"),
    ],
)
def test_bad_configs_are_rejected_at_construction(configs: Any, message: str) -> None:
    """A malformed config raises MCPConfigError naming the problem before anything starts."""
    with pytest.raises(MCPConfigError, match=message):
        MCPClient(configs)


def test_config_names_default_from_script_or_host() -> None:
    """Without 'name', a server is named after its script or URL host."""
    client = MCPClient(
        [{"command": "python", "args": ["-u", "weather_server.py"]}, {"url": "http://search.local/mcp"}]
    )
    assert client.server_names == ["weather_server", "search.local"]
