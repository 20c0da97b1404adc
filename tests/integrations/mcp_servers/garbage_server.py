"""Not an MCP server: prints a non-JSON line on stdout, then waits for stdin to close."""

from __future__ import annotations

import sys

print("Server starting... (this line is not JSON-RPC)", flush=True)
sys.stdin.read()
