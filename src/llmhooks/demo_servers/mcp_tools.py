"""A small MCP server for demos and tests: capitals and unit conversion, over stdio.

    python -m llmhooks.demo_servers.mcp_tools          # serves on stdin/stdout

    from llmhooks import MCPClient
    from llmhooks.demo_servers import demo_server_config

    async with MCPClient([demo_server_config()]) as client:
        await client.call_tool("lookup_capital", {"country": "France"})   # "Paris"

``unit_convert`` reports progress and sends a log message, so a demo shows
``mcp.progress`` and ``mcp.logging`` events.
"""

from __future__ import annotations

import warnings
from typing import Any

from llmhooks.demo_servers import SERVER_NAME, demo_server_config
from llmhooks.errors import MissingExtraError

try:
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.shared.exceptions import MCPDeprecationWarning
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "the demo MCP server needs 'mcp' (version 2 or later): pip install 'llmhooks[mcp]'"
    ) from None

__all__ = ["CAPITALS", "build_server", "convert", "demo_server_config", "main"]

CAPITALS: dict[str, str] = {
    "australia": "Canberra",
    "brazil": "Brasília",
    "canada": "Ottawa",
    "china": "Beijing",
    "egypt": "Cairo",
    "france": "Paris",
    "germany": "Berlin",
    "india": "New Delhi",
    "italy": "Rome",
    "japan": "Tokyo",
    "kenya": "Nairobi",
    "mexico": "Mexico City",
    "nigeria": "Abuja",
    "spain": "Madrid",
    "united kingdom": "London",
    "united states": "Washington, D.C.",
}

# factor to the base unit of each dimension (metre, kilogram)
_LENGTH = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048, "mi": 1609.344}
_MASS = {"g": 0.001, "kg": 1.0, "lb": 0.45359237, "oz": 0.028349523125}
_TEMPERATURE = ("c", "f", "k")


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` between length, mass or temperature units.

    Raises:
        ValueError: an unknown unit, or units of different kinds.
    """
    src, dst = from_unit.strip().lower(), to_unit.strip().lower()
    for table in (_LENGTH, _MASS):
        if src in table and dst in table:
            return value * table[src] / table[dst]
    if src in _TEMPERATURE and dst in _TEMPERATURE:
        kelvin = {"c": value + 273.15, "f": (value - 32.0) * 5.0 / 9.0 + 273.15, "k": value}[src]
        return {"c": kelvin - 273.15, "f": (kelvin - 273.15) * 9.0 / 5.0 + 32.0, "k": kelvin}[dst]
    known = ", ".join([*_LENGTH, *_MASS, *_TEMPERATURE])
    raise ValueError(f"cannot convert {from_unit!r} to {to_unit!r}; known units: {known}")


def build_server() -> Any:
    """Build the demo ``MCPServer``."""
    # server logging is deprecated in the newest protocol revision but still what
    # clients negotiating 2025-11-25 receive; the demo shows it on purpose
    warnings.filterwarnings("ignore", category=MCPDeprecationWarning)
    server = MCPServer(SERVER_NAME, log_level="WARNING")

    @server.tool()
    def lookup_capital(country: str) -> str:
        """Return the capital city of ``country`` (a small built-in table)."""
        capital = CAPITALS.get(country.strip().lower())
        if capital is None:
            raise ToolError(f"unknown country {country!r}; try one of: {', '.join(sorted(CAPITALS))}")
        return capital

    @server.tool()
    async def unit_convert(value: float, from_unit: str, to_unit: str, ctx: Context) -> str:
        """Convert ``value`` from one unit to another (length, mass or temperature)."""
        await ctx.report_progress(0, 2, "checking units")
        try:
            result = convert(value, from_unit, to_unit)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        await ctx.info(f"converted {value} {from_unit} to {to_unit}", logger_name="unit_convert")
        await ctx.report_progress(2, 2, "done")
        return f"{result:.6g} {to_unit}"

    @server.resource("demo://capitals", description="The capitals the demo server knows")
    def capitals() -> str:
        return "\n".join(f"{k.title()}: {v}" for k, v in sorted(CAPITALS.items()))

    @server.prompt()
    def trip_plan(country: str) -> str:
        """Ask for a one-day plan in the capital of ``country``."""
        return f"Plan one day in the capital of {country}."

    return server


def main() -> None:
    """Serve over stdio until stdin closes."""
    build_server().run()


if __name__ == "__main__":
    main()
