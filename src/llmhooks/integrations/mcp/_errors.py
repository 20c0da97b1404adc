"""Exceptions of the MCP client.

Tree::

    LLMHooksError
    └── MCPClientError
        ├── MCPConfigError       (also ValueError) a server config is malformed
        ├── MCPConnectionError   (also ConnectionError) a server failed to start, died or is closed
        ├── MCPTimeoutError      (also TimeoutError) a server did not answer in time
        └── MCPToolError         a tool call failed on the server (a result flagged is_error,
                                 or an error answer), or the tool is unknown
"""

from __future__ import annotations

from typing import Any

from llmhooks.errors import LLMHooksError

__all__ = ["MCPClientError", "MCPConfigError", "MCPConnectionError", "MCPTimeoutError", "MCPToolError"]


class MCPClientError(LLMHooksError):
    """Base of the MCP client's errors; ``server_name`` names the server when known."""

    def __init__(self, message: str, *, server_name: str | None = None) -> None:
        LLMHooksError.__init__(self, message)
        self.server_name = server_name


class MCPConfigError(MCPClientError, ValueError):
    """A server config is malformed; raised by ``MCPClient(...)``."""


class MCPConnectionError(MCPClientError, ConnectionError):
    """A server could not be reached, failed to start, died, sent invalid JSON or is closed.

    ``reason`` is the same text as the ``MCPDisconnectEvent``'s.
    """

    def __init__(self, message: str, *, server_name: str | None = None, reason: str | None = None) -> None:
        MCPClientError.__init__(self, message, server_name=server_name)
        self.reason = reason


class MCPTimeoutError(MCPClientError, TimeoutError):
    """A server did not complete the handshake, or answer a call, within the timeout."""


class MCPToolError(MCPClientError):
    """A tool call failed: the server flagged its result ``is_error`` or answered with an error.

    Attributes:
        tool_name: the tool as the server names it.
        result: the server's ``CallToolResult`` when there was one.
        code: the JSON-RPC error code for an error answer.
    """

    def __init__(
        self,
        message: str,
        *,
        server_name: str | None = None,
        tool_name: str | None = None,
        result: Any = None,
        code: int | None = None,
    ) -> None:
        MCPClientError.__init__(self, message, server_name=server_name)
        self.tool_name = tool_name
        self.result = result
        self.code = code
