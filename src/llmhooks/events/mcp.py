"""MCP session events: connect, disconnect, progress, logging."""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events.base import Event

__all__ = [
    "MCPConnectEvent",
    "MCPDisconnectEvent",
    "MCPEvent",
    "MCPLoggingEvent",
    "MCPProgressEvent",
]


class MCPEvent(Event):
    """Base of the MCP family."""

    server_name: str = ""


class MCPConnectEvent(MCPEvent):
    """A session with an MCP server was initialised."""

    type: ClassVar[str] = "mcp.connect"
    transport: str | None = None
    tools_count: int | None = None
    resources_count: int | None = None
    prompts_count: int | None = None


class MCPDisconnectEvent(MCPEvent):
    """A session ended: closed by us, or the server went away."""

    type: ClassVar[str] = "mcp.disconnect"
    terminal: ClassVar[bool] = True
    reason: str | None = None


class MCPProgressEvent(MCPEvent):
    """A progress notification for a running tool call (raw numbers, as sent)."""

    type: ClassVar[str] = "mcp.progress"
    tool_name: str | None = None
    progress: float = 0.0
    total: float | None = None
    message: str | None = None


class MCPLoggingEvent(MCPEvent):
    """A log message sent by an MCP server (``tool_name`` when sent during a tool call)."""

    type: ClassVar[str] = "mcp.logging"
    tool_name: str | None = None
    level: str = "info"
    data: Any = None
    logger_name: str | None = None
