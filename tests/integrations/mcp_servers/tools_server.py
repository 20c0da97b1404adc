"""A real MCP server for the MCPClient tests (mcp SDK 2.x ``MCPServer``, formerly FastMCP).

    python tools_server.py                      # stdio
    python tools_server.py http PORT [NAME]     # streamable HTTP on 127.0.0.1:PORT/mcp

Tools: ``add`` (sync), ``slow_progress`` (reports progress three times and logs),
``fail`` (a ToolError: the result is flagged ``is_error``), ``boom`` (a crash inside
the tool: the server answers with a generic error), ``crash`` (the process exits
mid-call), ``sleep`` (for timeouts), ``shout`` (log only), ``header`` (echoes an HTTP
request header). One resource, one prompt.
"""

from __future__ import annotations

import asyncio
import os
import sys
import warnings

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPDeprecationWarning

warnings.filterwarnings("ignore", category=MCPDeprecationWarning)  # server logging is what we test
name = sys.argv[3] if len(sys.argv) > 3 else "tools"
server = MCPServer(name, log_level="CRITICAL")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
async def slow_progress(steps: int, ctx: Context) -> str:
    """Count to ``steps``, reporting progress at each step and logging once."""
    await ctx.info(f"starting {steps} steps", logger_name="counter")
    for i in range(1, steps + 1):
        await ctx.report_progress(i, steps, f"step {i}")
        await asyncio.sleep(0)
    return f"counted to {steps}"


@server.tool()
def fail(reason: str) -> str:
    """Always fails with ``reason``."""
    raise ToolError(f"failed on purpose: {reason}")


@server.tool()
def boom() -> str:
    """Raises a plain exception (the SDK hides its text from the client)."""
    raise RuntimeError("secret internals")


@server.tool()
async def crash(ctx: Context) -> str:
    """Exits the server process in the middle of the call."""
    await ctx.report_progress(1, 2, "about to crash")
    await asyncio.sleep(0.05)
    os._exit(1)


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleeps ``seconds`` before answering."""
    await asyncio.sleep(seconds)
    return "slept"


@server.tool()
async def shout(text: str, ctx: Context) -> str:
    """Logs ``text`` at warning level and returns it upper-cased."""
    await ctx.warning({"text": text}, logger_name="shouter")
    return text.upper()


@server.tool()
def header(name: str, ctx: Context) -> str:
    """Returns the value of the HTTP request header ``name`` ('' when absent)."""
    headers = ctx.headers or {}
    return str({k.lower(): v for k, v in headers.items()}.get(name.lower(), ""))


@server.resource("memo://greeting", description="A fixed greeting")
def greeting() -> str:
    return "hello from the test server"


@server.prompt()
def review(code: str) -> str:
    """Ask for a code review."""
    return f"Please review:\n{code}"


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
