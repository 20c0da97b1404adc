"""Not an MCP server: never answers the handshake; exits when stdin closes."""

from __future__ import annotations

import sys

sys.stdin.read()
