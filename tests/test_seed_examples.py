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


# --- seed 001: ai-infra's keyword style, on the plain ``Callbacks`` base as the seed writes it ---
#
# Verbatim apart from ``ai_infra`` -> ``llmhooks``, in tests/seed_001.py (shared with
# tests/compat/test_keyword_style.py, which runs them on ``KeywordCallbacks``).
# ``LLM(provider="openai")`` talks to the local wire server through the official SDK;
# ``Agent(persona=..., tools=...)`` has our own tools.

from collections.abc import Iterator  # noqa: E402
from time import time  # noqa: E402
from typing import Any  # noqa: E402

from tests.llm._wire import FastWireServer  # noqa: E402
from tests.seed_001 import examples  # noqa: E402

from llmhooks import (  # noqa: E402
    CostTracker,
    StreamingProgress,
    TokenCounter,
    chain_run,
    llm_run,
    retrieval_run,
    run_context,
    set_global_callbacks,
    tool_run,
)


@pytest.fixture(scope="module")
def _wire() -> Iterator[FastWireServer]:
    with FastWireServer() as server:
        yield server


@pytest.fixture
def openai_env(_wire: FastWireServer, monkeypatch: pytest.MonkeyPatch) -> FastWireServer:
    """``LLM(provider="openai")`` reaches the local wire server, as the seed's examples assume."""
    _wire.reset()
    monkeypatch.setenv("OPENAI_BASE_URL", _wire.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-seed-001-test")
    return _wire


_seed = examples(Callbacks)
KeywordQuickStart = _seed.MyCallbacks
ContextAwareCallbacks = _seed.ContextAwareCallbacks
SeedCostLimiter = _seed.CostLimiter
AuditCallback = _seed.AuditCallback
SeedRateLimiter = _seed.RateLimiter
ProgressReporter = _seed.ProgressReporter


class FullCallbacks(Callbacks):
    """Seed 001's "All Callback Methods", each recording what it got."""

    def __init__(self) -> None:
        self.got: list[tuple[Any, ...]] = []

    # LLM callbacks
    async def on_llm_start(self, prompt, **kwargs):
        self.got.append(("llm_start", prompt, kwargs["provider"]))

    async def on_llm_end(self, response, **kwargs):
        self.got.append(("llm_end", str(response), response.token_count))

    async def on_llm_error(self, error, **kwargs):
        self.got.append(("llm_error", type(error).__name__))

    async def on_llm_stream_chunk(self, chunk, **kwargs):
        self.got.append(("chunk", chunk))

    # Agent callbacks
    async def on_agent_start(self, goal, **kwargs):
        self.got.append(("agent_start", goal))

    async def on_agent_end(self, result, **kwargs):
        self.got.append(("agent_end", result))

    async def on_agent_error(self, error, **kwargs):
        self.got.append(("agent_error", type(error).__name__))

    async def on_agent_step(self, step, **kwargs):
        self.got.append(("agent_step", step.action))

    # Tool callbacks
    async def on_tool_start(self, tool_name, args, **kwargs):
        self.got.append(("tool_start", tool_name, args))

    async def on_tool_end(self, tool_name, result, **kwargs):
        self.got.append(("tool_end", tool_name, result))

    async def on_tool_error(self, tool_name, error, **kwargs):
        self.got.append(("tool_error", tool_name, type(error).__name__))

    # Chain callbacks
    async def on_chain_start(self, chain_name, **kwargs):
        self.got.append(("chain_start", chain_name))

    async def on_chain_end(self, result, **kwargs):
        self.got.append(("chain_end", result))

    # Retrieval callbacks
    async def on_retrieval_start(self, query, **kwargs):
        self.got.append(("retrieval_start", query))

    async def on_retrieval_end(self, documents, **kwargs):
        self.got.append(("retrieval_end", documents))


def _no_handler_failures(caplog: pytest.LogCaptureFixture) -> None:
    failures = [r.getMessage() for r in caplog.records if "failed on" in r.getMessage()]
    assert failures == [], failures


async def test_seed_001_quick_start(
    openai_env: FastWireServer, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The quick start on ``Callbacks``: the prompt and ``response.token_count``, no quiet failure."""
    llm = LLM(provider="openai", callbacks=[KeywordQuickStart()])
    response = await llm.generate("Hello")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Starting LLM call with prompt: Hello...",
        f"LLM complete: {response.usage.total_tokens} tokens",
    ]
    assert response.usage.total_tokens > 0
    _no_handler_failures(caplog)


async def test_seed_001_context_kwargs(
    openai_env: FastWireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """'Callback Context': provider, model, request id, tokens, cost and duration as keywords."""
    llm = LLM(provider="openai", callbacks=[CostTracker(), ContextAwareCallbacks()])
    await llm.generate("What is 2+2?")
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("[") and first.endswith(f"] openai/{llm.model}: What is 2+2?...")
    assert second.startswith("Completed in ") and " tokens, $0.0000" in second


async def test_seed_001_builtins(openai_env: FastWireServer, capsys: pytest.CaptureFixture[str]) -> None:
    """'Built-in Callbacks': CostTracker, TokenCounter and StreamingProgress as the seed uses them."""
    tracker = CostTracker()
    llm = LLM(provider="openai", callbacks=[tracker])
    await llm.generate("Hello")
    await llm.generate("World")
    print(f"Total cost: ${tracker.total_cost:.4f}")
    print(f"Total tokens: {tracker.total_tokens}")
    print(f"Requests: {tracker.request_count}")

    counter = TokenCounter()
    llm = LLM(provider="openai", callbacks=[counter])
    await llm.generate("Hello")
    print(f"Prompt tokens: {counter.prompt_tokens}")
    print(f"Completion tokens: {counter.completion_tokens}")

    progress = StreamingProgress(
        on_chunk=lambda chunk: print(chunk, end="", flush=True),
        on_complete=lambda: print("\nDone!"),
    )
    llm = LLM(provider="openai", callbacks=[progress])
    async for _chunk in llm.stream("Tell me a story"):
        pass
    out = capsys.readouterr().out
    assert tracker.request_count == 2 and tracker.total_cost > 0 and "Requests: 2" in out
    assert counter.prompt_tokens > 0 and f"Prompt tokens: {counter.prompt_tokens}" in out
    assert out.endswith("Tell me a story\nDone!\n")


async def test_seed_001_cost_limiter_stops_spending(openai_env: FastWireServer) -> None:
    """'Cost Limiting' on ``Callbacks``: its exception reaches the caller once the budget is spent.

    The cost is what llmhooks knows of the call: a ``CostTracker`` before the limiter prices it.
    """
    tracker = CostTracker()
    limiter = SeedCostLimiter(max_cost=1.0)
    llm = LLM(provider="openai", callbacks=[tracker, limiter])
    await llm.generate("Hello")
    per_call = tracker.total_cost
    assert per_call > 0 and limiter.total_cost == pytest.approx(per_call)
    limiter.max_cost = per_call * 3.5  # a budget of three and a half calls
    calls = 1
    with pytest.raises(Exception, match=r"Cost limit \$[0-9.e-]+ exceeded"):
        for _ in range(10):
            await llm.generate("Hello")
            calls += 1
    assert calls == 3  # the fourth call crossed the limit and raised


def test_seed_001_cost_limiter_in_sync_code() -> None:
    """The same limiter stops a sync caller too (its async method is run to completion)."""
    limiter = SeedCostLimiter(max_cost=0.05)
    with pytest.raises(Exception, match=r"Cost limit \$0.05 exceeded"):
        for _ in range(10):
            with llm_run(provider="openai", model="gpt-4o", prompt="hi", callbacks=[limiter]) as run:
                run.finish(response="ok", input_tokens=1, output_tokens=1, cost=0.02)
    assert limiter.total_cost == pytest.approx(0.06)


async def test_seed_001_audit_logging_records_llm_and_tool_calls() -> None:
    """'Audit Logging': the prompt preview, user id, and a tool's name and arguments (offline agent)."""

    class AuditLog:
        def __init__(self) -> None:
            self.entries: list[dict[str, Any]] = []

        def record(self, entry: dict[str, Any]) -> None:
            self.entries.append(entry)

    log = AuditLog()
    agent = Agent(tools=[text_add], callbacks=[AuditCallback(log)])
    with run_context(user_id="u-42"):
        await agent.arun("Use text_add with 2 and 3")
    llm_entries = [e for e in log.entries if e["event"] == "llm_request"]
    tool_entries = [e for e in log.entries if e["event"] == "tool_call"]
    assert llm_entries and llm_entries[0]["user_id"] == "u-42"
    assert llm_entries[0]["prompt_preview"] == "Use text_add with 2 and 3"
    assert tool_entries == [
        {
            "event": "tool_call",
            "timestamp": tool_entries[0]["timestamp"],
            "tool": "text_add",
            "args": {"a": 2, "b": 3},
        }
    ]


async def test_seed_001_rate_limiter_waits(openai_env: FastWireServer) -> None:
    """'Rate Limiting': at the limit, the handler's sleep delays the call before it is made."""
    limiter = SeedRateLimiter(requests_per_minute=1)
    limiter.timestamps.append(time() - 59.95)  # the window frees up in about 50 ms
    llm = LLM(provider="openai", callbacks=[limiter])
    t0 = time()
    await llm.generate("Hello")
    assert time() - t0 >= 0.04
    assert len(limiter.timestamps) == 2


async def test_seed_001_progress_reporting_from_an_agent() -> None:
    """'Progress Reporting': each agent step's action, then the result."""
    import json

    sent: list[str] = []
    reporter = ProgressReporter(on_progress=lambda p: sent.append(json.dumps(p)))
    agent = Agent(tools=[text_add], callbacks=[reporter])
    result = await agent.arun("Use text_add with 1 and 1")
    progress = [json.loads(s) for s in sent]
    assert progress[-1] == {"step": reporter.step, "status": "complete", "result": result.output}
    assert reporter.step >= 1 and progress[0]["status"] == "in_progress" and progress[0]["action"]


async def test_seed_001_every_method_is_delivered_its_way(
    openai_env: FastWireServer, caplog: pytest.LogCaptureFixture
) -> None:
    """'All Callback Methods' on ``Callbacks``: each gets the seed's arguments, none fails quietly."""
    cb = FullCallbacks()
    with pytest.raises(ZeroDivisionError), tool_run("div", arguments={"a": 1, "b": 0}, callbacks=[cb]):
        raise ZeroDivisionError("b is 0")
    async with chain_run("summarise", callbacks=[cb]) as chain:
        await chain.afinish(result="done")
    async with retrieval_run(query="capital of France", callbacks=[cb]) as r:
        await r.afinish(documents=["Paris is the capital of France."])
    async for _ in LLM(provider="openai", callbacks=[cb]).stream("Tell me a story"):
        pass
    await Agent(tools=[text_add], llm=LLM(provider="offline"), callbacks=[cb]).arun(
        "Use text_add with 2 and 2"
    )
    kinds = {g[0] for g in cb.got}
    assert kinds == {
        "tool_error",
        "chain_start",
        "chain_end",
        "retrieval_start",
        "retrieval_end",
        "llm_start",
        "chunk",
        "llm_end",
        "agent_start",
        "agent_step",
        "tool_start",
        "tool_end",
        "agent_end",
    }
    assert ("tool_error", "div", "ZeroDivisionError") in cb.got
    assert ("retrieval_start", "capital of France") in cb.got
    assert [g[1] for g in cb.got if g[0] == "chunk"][:4] == ["Tell", " me", " a", " story"]
    assert ("tool_start", "text_add", {"a": 2, "b": 2}) in cb.got
    _no_handler_failures(caplog)


async def test_seed_001_global_callbacks_and_chaining(
    openai_env: FastWireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """'Global Callbacks' and 'Callback Chaining': keyword handlers set globally run in order."""
    set_global_callbacks([KeywordQuickStart(), ContextAwareCallbacks()])
    await LLM(provider="openai").generate("Hello")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Starting LLM call with prompt: Hello..."
    assert out[1].endswith(": Hello...") and out[2].startswith("LLM complete: ")
    assert out[3].startswith("Completed in ")


async def test_seed_001_cost_limiter_alone_stops_spending(openai_env: FastWireServer) -> None:
    """'Cost Limiting' exactly as the seed registers it, with no CostTracker: ``kwargs["cost"]``
    is still the call's price (from genai-prices), so the limiter stops the fourth call."""
    pytest.importorskip("genai_prices")
    limiter = SeedCostLimiter(max_cost=1.0)
    llm = LLM(provider="openai", model="gpt-4o", callbacks=[limiter])
    await llm.generate("Hello")
    per_call = limiter.total_cost
    assert per_call > 0
    limiter.max_cost = per_call * 3.5  # a budget of three and a half calls
    calls = 1
    with pytest.raises(Exception, match=r"Cost limit \$[0-9.e-]+ exceeded"):
        for _ in range(10):
            await llm.generate("Hello")
            calls += 1
    assert calls == 3


def test_seed_001_unpriced_model_costs_zero_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    """A model in no price table: ``cost`` is 0.0 (the seed's ``kwargs.get("cost", 0)`` works),
    and a warning names the model, once."""
    import logging

    limiter = SeedCostLimiter(max_cost=1.0)
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        for _ in range(3):
            with llm_run(provider="acme", model="acme-unpriced-9", prompt="hi", callbacks=[limiter]) as run:
                run.finish(response="ok", input_tokens=10, output_tokens=5)
    assert limiter.total_cost == 0.0
    assert caplog.text.count("no price for acme/acme-unpriced-9") == 1
