"""Exceptions of the MCP client (defined in ``llmhooks.errors``, with the rest of the tree)."""

from __future__ import annotations

from llmhooks.errors import MCPClientError, MCPConfigError, MCPConnectionError, MCPTimeoutError, MCPToolError

__all__ = ["MCPClientError", "MCPConfigError", "MCPConnectionError", "MCPTimeoutError", "MCPToolError"]
