"""Small servers shipped for demos and tests.

    from llmhooks.demo_servers import demo_server_config
    MCPClient([demo_server_config()])      # runs python -m llmhooks.demo_servers.mcp_tools

This package imports no SDK; ``llmhooks.demo_servers.mcp_tools`` (the server) needs ``mcp``,
and ``llmhooks.demo_servers.realtime`` (a Realtime protocol websocket server) ``websockets``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["SERVER_NAME", "demo_server_config"]

SERVER_NAME = "demo-tools"


def demo_server_config(name: str = SERVER_NAME) -> dict[str, Any]:
    """The ``MCPClient`` config that starts the demo MCP server with the running interpreter.

    The server process gets only a minimal environment (the SDK's default), so the
    directory this copy of llmhooks was imported from is passed on ``PYTHONPATH``.
    """
    here = str(Path(__file__).resolve().parents[2])
    paths = [here, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != here]]
    return {
        "name": name,
        "command": sys.executable,
        "args": ["-m", "llmhooks.demo_servers.mcp_tools"],
        "env": {"PYTHONPATH": os.pathsep.join(paths)},
    }
