"""``llmhooks demo``: a tour of what llmhooks reports, with no network and no API key.

An ``Agent`` on the offline provider (a deterministic stand-in, not a real model) gets
two local tools and one tool from the bundled MCP server, started over stdio. Its
answer is streamed and printed live by ``PrintCallbacks``; ``MetricsCallbacks`` and
``CostTracker`` (with an illustrative price for the offline model) give the summary.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from llmhooks.core.context import callbacks_context, run_context

__all__ = ["run_demo"]

GOAL = 'Use lookup_capital for France, add 19 and 23, and word_count on "the quick brown fox"'

# An illustrative price so the summary shows cost; real models are priced from genai-prices.
DEMO_PRICES = {"offline*": {"input": 0.15, "output": 0.60, "source": "llmhooks demo (illustrative)"}}


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first addend.
        b: second addend.
    """
    return a + b


def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: the text to count.
    """
    return len(text.split())


async def _tour(handlers: list[Any]) -> str:
    from llmhooks.agent import Agent
    from llmhooks.demo_servers import demo_server_config
    from llmhooks.integrations.mcp import MCPClient
    from llmhooks.llm import LLM

    llm = LLM(provider="offline", model="offline-1", token_delay=0.02)
    with callbacks_context(handlers), run_context(user_id="demo-user", tags=["demo"]):
        async with MCPClient([demo_server_config()]) as mcp:
            agent = Agent(tools=[add, word_count, *mcp.tools()], llm=llm, name="demo-agent")
            answer = [delta async for delta in agent.astream(GOAL)]
    return "".join(answer).strip()


def run_demo(quiet: bool = False) -> int:
    """Run the tour; returns the process exit code."""
    from llmhooks.handlers.cost import CostTracker
    from llmhooks.handlers.metrics import MetricsCallbacks
    from llmhooks.handlers.printing import PrintCallbacks

    cost = CostTracker(prices=DEMO_PRICES, use_genai_prices=False)
    metrics = MetricsCallbacks()
    handlers: list[Any] = [cost, metrics] if quiet else [cost, PrintCallbacks(), metrics]
    print("llmhooks demo: an agent on the offline stand-in provider (no network, no API key)")
    print(f"goal: {GOAL}\n")
    try:
        answer = asyncio.run(_tour(handlers))
    except Exception as exc:  # the demo must say what went wrong, not dump a traceback
        print(f"\ndemo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"\nanswer: {answer}\n")
    print(_summary(metrics.snapshot(), cost))
    return 0


def _ms(summary: dict[str, Any] | None) -> str:
    if not summary or not summary.get("count"):
        return "-"
    return f"p50 {summary['p50']:.0f} ms, p95 {summary['p95']:.0f} ms"


def _summary(snap: dict[str, Any], cost: Any) -> str:
    tokens = snap["tokens"]
    lines = [
        "summary",
        f"  LLM calls      {snap['total_calls']} ({snap['total_errors']} errors), "
        f"latency {_ms(snap['latency_ms'])}, time to first token {_ms(snap['ttft_ms'])}",
        f"  tokens         {tokens['input']} in, {tokens['output']} out, {tokens['cached']} cached, "
        f"{tokens['reasoning']} reasoning",
        f"  cost           ${cost.total_cost:.6f} over {cost.request_count} calls (illustrative demo price)",
    ]
    for name, row in snap.get("tools", {}).items():
        lines.append(f"  tool {name:<14} {row['calls']} call(s), {row['errors']} error(s)")
    for name, row in snap.get("mcp_servers", {}).items():
        lines.append(f"  mcp {name:<15} {row.get('calls', 0)} call(s), {row.get('errors', 0)} error(s)")
    return "\n".join(lines)
