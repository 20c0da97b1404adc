"""MCP client on the official ``mcp`` SDK (2.x): stdio and streamable HTTP servers.

    from llmhooks import MCPClient

    async with MCPClient(
        [{"name": "calc", "command": "python", "args": ["calc_server.py"]},
         {"name": "search", "url": "http://127.0.0.1:8000/mcp", "headers": {"Authorization": "Bearer ..."}}],
        callbacks=PrintCallbacks(),
    ) as client:
        print(await client.call_tool("add", {"a": 1, "b": 2}))
        agent_tools = client.tools()      # async callables with a JSON schema

Every call is a tool run (``tool.start``/``tool.end``/``tool.error`` with ``server_name``);
sessions emit ``mcp.connect``/``mcp.disconnect``; progress and server logs emit
``mcp.progress``/``mcp.logging``. See docs/mcp.md.
"""

from __future__ import annotations

from llmhooks.errors import MissingExtraError

try:
    import mcp  # noqa: F401
    from mcp.client.streamable_http import streamable_http_client  # noqa: F401  (mcp >= 2)
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "MCPClient needs 'mcp' (version 2 or later): pip install 'llmhooks[mcp]'"
    ) from None

from llmhooks.integrations.mcp._client import MCPClient
from llmhooks.integrations.mcp._errors import (
    MCPClientError,
    MCPConfigError,
    MCPConnectionError,
    MCPTimeoutError,
    MCPToolError,
)
from llmhooks.integrations.mcp._tool import MCPPromptInfo, MCPResourceInfo, MCPTool

__all__ = [
    "MCPClient",
    "MCPClientError",
    "MCPConfigError",
    "MCPConnectionError",
    "MCPPromptInfo",
    "MCPResourceInfo",
    "MCPTimeoutError",
    "MCPTool",
    "MCPToolError",
]
