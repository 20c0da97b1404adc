"""Seed 000's examples (ai-infra's event-object callbacks), renamed to llmhooks, run as written.

Each test is one example of the reference document with ``ai_infra`` replaced by
``llmhooks``; where the document elides something (``tools=[...]``, ``[config]``),
the smallest real thing stands in: local functions, the bundled MCP server.
"""

from __future__ import annotations

import asyncio

import pytest

from llmhooks import (
    LLM,
    Agent,
    CallbackManager,
    Callbacks,
    LLMEndEvent,
    LLMStartEvent,
    LoggingCallbacks,
    MCPClient,
    MetricsCallbacks,
    PrintCallbacks,
    ToolStartEvent,
)
from llmhooks.demo_servers import demo_server_config


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class MyCallbacks(Callbacks):
    """The quick start's handler, verbatim apart from the import."""

    def on_llm_start(self, event):
        print(f" Starting {event.provider}/{event.model}")

    def on_llm_end(self, event):
        print(f"[OK] Done in {event.latency_ms:.0f}ms, {event.total_tokens} tokens")

    def on_tool_start(self, event):
        print(f" Running {event.tool_name}")

    def on_tool_end(self, event):
        print(f"[OK] Tool done: {event.result[:50]}...")


def text_add(a: int, b: int) -> str:
    """Add two integers and say so (the quick start slices the result as text)."""
    return f"{a} + {b} = {a + b}"


def test_quick_start_with_agent_llm_and_mcp(capsys: pytest.CaptureFixture[str]) -> None:
    """The quick start: the same handler on an Agent, an LLM and an MCPClient."""
    agent = Agent(tools=[text_add], callbacks=MyCallbacks())
    agent.run("Hello! Use text_add with 2 and 3")
    llm = LLM(callbacks=MyCallbacks())
    llm.chat("What is 2+2?")

    async def with_mcp() -> None:
        async with MCPClient([demo_server_config()], callbacks=MyCallbacks()) as mcp:
            await mcp.call_tool("lookup_capital", {"country": "France"})

    asyncio.run(with_mcp())
    out = capsys.readouterr().out.splitlines()
    assert out[0] == " Starting offline/llmhooks-offline"
    assert " Running text_add" in out and "[OK] Tool done: 2 + 3 = 5..." in out
    assert sum(line.startswith("[OK] Done in ") for line in out) == 3
    assert " Running lookup_capital" in out and "[OK] Tool done: Paris..." in out


def test_custom_callbacks_count_calls_and_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    """'Creating Custom Callbacks': instance state across calls, typed events."""

    class Counting(Callbacks):
        def __init__(self):
            self.call_count = 0
            self.total_tokens = 0

        def on_llm_start(self, event: LLMStartEvent) -> None:
            self.call_count += 1
            print(f"Call #{self.call_count}: {event.provider}/{event.model}")

        def on_llm_end(self, event: LLMEndEvent) -> None:
            if event.total_tokens:
                self.total_tokens += event.total_tokens
            print(f"Response: {event.response[:100]}...")

        def on_tool_start(self, event: ToolStartEvent) -> None:
            print(f"Tool: {event.tool_name}({event.arguments})")

    cb = Counting()
    llm = LLM(callbacks=cb)
    llm.chat("What is 2+2?")
    llm.chat("Hello there")
    assert cb.call_count == 2 and cb.total_tokens > 0
    out = capsys.readouterr().out
    assert "Call #2: offline/llmhooks-offline" in out and "Response: 4..." in out


def test_manager_with_builtins_and_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    """'Multiple Callbacks' and 'MetricsCallbacks': totals after an agent run."""
    metrics = MetricsCallbacks()
    manager = CallbackManager([LoggingCallbacks(), metrics, MyCallbacks()])
    agent = Agent(tools=[text_add], callbacks=manager)
    agent.run("Use text_add with 1 and 1")
    print(f"Total calls: {metrics.total_calls}")
    print(f"Total tokens: {metrics.total_tokens}")
    out = capsys.readouterr().out
    assert "Total calls: 2" in out
    assert metrics.total_tokens > 0 and f"Total tokens: {metrics.total_tokens}" in out


def test_print_callbacks_on_an_agent(capsys: pytest.CaptureFixture[str]) -> None:
    """'PrintCallbacks': the agent's calls are printed."""
    Agent(tools=[add], callbacks=PrintCallbacks()).run("Use add with 2 and 2")
    out = capsys.readouterr().out
    assert "agent" in out and "tool add" in out and "llm offline" in out


def test_cost_callbacks_example() -> None:
    """'Cost Tracking': a price table keyed by model, fed by end events."""

    class CostCallbacks(Callbacks):
        COSTS = {"llmhooks-offline": {"input": 0.0025, "output": 0.01}}  # noqa: RUF012 - as in the seed

        def __init__(self):
            self.total_cost = 0.0

        def on_llm_end(self, event):
            if event.model in self.COSTS:
                cost = self.COSTS[event.model]
                self.total_cost += (event.input_tokens or 0) * cost["input"] / 1000 + (
                    event.output_tokens or 0
                ) * cost["output"] / 1000

    cb = CostCallbacks()
    LLM(callbacks=cb).chat("What is 2+2?")
    assert cb.total_cost > 0


def test_async_progress_and_token_callbacks(capsys: pytest.CaptureFixture[str]) -> None:
    """'Async Callbacks' and 'Progress Reporting': awaited MCP progress and streamed tokens."""
    streamed: list[str] = []

    class MyAsyncCallbacks(Callbacks):
        async def on_mcp_progress_async(self, event):
            if event.total:
                percentage = event.progress / event.total * 100
                print(f"[{event.server_name}] {percentage:.0f}% - {event.message}")

        async def on_llm_token_async(self, event):
            await asyncio.sleep(0)
            streamed.append(event.token)

    async def main() -> None:
        cb = MyAsyncCallbacks()
        async with MCPClient([demo_server_config()], callbacks=cb) as mcp:
            await mcp.call_tool("unit_convert", {"value": 1, "from_unit": "km", "to_unit": "m"})
        async for _ in LLM(callbacks=cb).stream("Tell me a story"):
            pass

    asyncio.run(main())
    out = capsys.readouterr().out
    assert "[demo-tools] 0% - checking units" in out and "[demo-tools] 100% - done" in out
    assert len(streamed) > 5
