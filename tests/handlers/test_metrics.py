"""MetricsCallbacks: counts, tokens by kind, cost, percentiles by model, tool, server and node."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from llmhooks import (
    CostTracker,
    MCPConnectEvent,
    MCPProgressEvent,
    MetricsCallbacks,
    callbacks_context,
    node_run,
    tool_run,
)
from llmhooks.handlers.metrics import OTHER

from .calls import allm_call, in_tasks, in_threads, llm_call


def test_counts_calls_errors_and_tokens_by_kind() -> None:
    """total_calls, total_errors, total_tokens, and input/output/cached/reasoning tokens."""
    metrics = MetricsCallbacks()
    llm_call(metrics, input_tokens=100, output_tokens=40, cached=30, reasoning=10)
    llm_call(metrics, input_tokens=50, output_tokens=10)

    def fail() -> None:
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        llm_call(metrics, body=fail)
    assert (metrics.total_calls, metrics.total_errors, metrics.total_tokens) == (3, 1, 200)
    snap = metrics.snapshot()
    assert snap["tokens"] == {"input": 150, "output": 50, "cached": 30, "reasoning": 10, "total": 200}
    assert snap["errors_by_type"] == {"TimeoutError": 1}
    assert snap["models"]["openai/gpt-4o"]["calls"] == 3
    assert snap["models"]["openai/gpt-4o"]["errors"] == 1


def test_latency_and_ttft_percentiles_overall_and_per_model() -> None:
    """Latency and time-to-first-token percentiles, overall and per provider/model."""
    metrics = MetricsCallbacks()
    for ms in range(1, 101):
        llm_call(metrics, model="gpt-4o", latency_ms=float(ms), time_to_first_token_ms=ms / 10)
    for _ in range(10):
        llm_call(metrics, provider="anthropic", model="claude-3-5-haiku", latency_ms=1000.0)
    snap = metrics.snapshot()
    gpt = snap["models"]["openai/gpt-4o"]
    assert gpt["latency_ms"]["p50"] == pytest.approx(50, rel=0.01)
    assert gpt["latency_ms"]["p95"] == pytest.approx(95, rel=0.01)
    assert gpt["latency_ms"]["p99"] == pytest.approx(99, rel=0.01)
    assert gpt["ttft_ms"]["p50"] == pytest.approx(5, rel=0.01)
    assert snap["models"]["anthropic/claude-3-5-haiku"]["latency_ms"]["p50"] == pytest.approx(1000, rel=0.01)
    assert snap["latency_ms"]["count"] == 110
    assert snap["latency_ms"]["p99"] == pytest.approx(1000, rel=0.01)


def test_streamed_call_records_time_to_first_token() -> None:
    """A streamed call's TTFT comes from the run itself."""
    metrics = MetricsCallbacks()
    llm_call(metrics, tokens=["a", "b"])
    assert metrics.snapshot()["ttft_ms"]["count"] == 1


def test_per_tool_mcp_server_and_graph_node() -> None:
    """Tools, MCP servers (tool calls and session events) and graph nodes each get a table."""
    metrics = MetricsCallbacks()
    with callbacks_context([metrics]):
        with tool_run("search") as run:
            run.finish(result="ok", latency_ms=12.0)
        with tool_run("read_file", server_name="fs") as run:
            run.finish(result="...", latency_ms=30.0)
        with pytest.raises(OSError), tool_run("read_file", server_name="fs"):
            raise OSError("nope")
        with node_run("plan") as run:
            run.finish(outputs={}, latency_ms=5.0)
    metrics.on_mcp_connect(MCPConnectEvent(server_name="fs", transport="stdio", tools_count=3))
    metrics.on_mcp_progress(MCPProgressEvent(server_name="fs", progress=1, total=2))
    snap = metrics.snapshot()
    assert snap["tools"]["search"]["latency_ms"]["p50"] == pytest.approx(12, rel=0.01)
    assert snap["tools"]["read_file"] == {**snap["tools"]["read_file"], "calls": 2, "errors": 1}
    fs = snap["mcp_servers"]["fs"]
    assert (fs["calls"], fs["errors"], fs["connects"], fs["progress"]) == (2, 1, 1, 1)
    assert snap["graph_nodes"]["plan"]["latency_ms"]["p50"] == pytest.approx(5, rel=0.01)
    assert snap["errors_by_type"] == {"OSError": 1}


def test_cost_summed_when_a_cost_tracker_runs_first() -> None:
    """With CostTracker registered before it, metrics sum event.cost."""
    pytest.importorskip("genai_prices")
    tracker, metrics = CostTracker(), MetricsCallbacks()
    llm_call([tracker, metrics], input_tokens=1_000, output_tokens=100)
    assert metrics.total_cost == pytest.approx(tracker.total_cost)
    assert MetricsCallbacks().total_cost is None


def test_snapshot_is_json_serialisable() -> None:
    """snapshot() survives json.dumps with every table filled."""
    metrics = MetricsCallbacks()
    llm_call(metrics, latency_ms=3.0)
    with callbacks_context([metrics]), tool_run("t", server_name="s") as run:
        run.finish(result=1)
    snap = metrics.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    assert snap["tools"]["t"]["calls"] == 1 and snap["mcp_servers"]["s"]["calls"] == 1


def test_reset_forgets_everything() -> None:
    """reset() brings every figure back to zero."""
    metrics = MetricsCallbacks()
    llm_call(metrics)
    metrics.reset()
    assert (metrics.total_calls, metrics.total_tokens, metrics.snapshot()["models"]) == (0, 0, {})


def test_names_beyond_max_keys_are_merged_into_other() -> None:
    """More distinct models than max_keys: the rest are counted under '(other)'."""
    metrics = MetricsCallbacks(max_keys=3)
    for i in range(10):
        llm_call(metrics, model=f"m{i}", latency_ms=1.0)
    models = metrics.snapshot()["models"]
    assert len(models) == 4
    assert models[OTHER]["calls"] == 7
    assert metrics.total_calls == 10


def test_memory_stays_bounded_over_many_calls() -> None:
    """100,000 calls with varied latencies keep every histogram within its bucket bound."""
    metrics = MetricsCallbacks(max_keys=5)
    rng = random.Random(0)
    from llmhooks import LLMEndEvent

    for i in range(100_000):
        metrics.on_llm_end(
            LLMEndEvent(
                provider="p",
                model=f"m{i % 50}",
                input_tokens=10,
                output_tokens=5,
                latency_ms=rng.lognormvariate(5, 2),
                time_to_first_token_ms=rng.lognormvariate(3, 1),
            )
        )
    assert len(metrics._models) == 6
    assert all(row.latency.bucket_count <= 1_400 for row in metrics._models.values())
    assert metrics.total_tokens == 1_500_000


def test_50_concurrent_calls_in_threads() -> None:
    """50 overlapping calls in threads are all counted, tokens exact."""
    metrics = MetricsCallbacks()
    in_threads(50, lambda i: llm_call(metrics, input_tokens=i, output_tokens=1, latency_ms=float(i + 1)))
    assert metrics.total_calls == 50
    assert metrics.total_tokens == sum(range(50)) + 50
    assert metrics.snapshot()["latency_ms"]["count"] == 50


async def test_50_concurrent_calls_in_tasks() -> None:
    """50 overlapping calls as tasks are all counted, tokens exact."""
    metrics = MetricsCallbacks()
    await in_tasks(
        50, lambda i: allm_call(metrics, input_tokens=i, output_tokens=1, body=lambda: asyncio.sleep(0.001))
    )
    assert metrics.total_calls == 50
    assert metrics.total_tokens == sum(range(50)) + 50


def test_bad_max_keys_raises() -> None:
    """max_keys below 1 is refused at construction."""
    with pytest.raises(ValueError, match="max_keys must be >= 1, got 0"):
        MetricsCallbacks(max_keys=0)


def test_ai_infra_names_and_get_summary() -> None:
    """Seed 000's MetricsCallbacks names: llm_calls, tool_calls... and get_summary()."""
    metrics = MetricsCallbacks()
    llm_call(metrics, input_tokens=100, output_tokens=20, latency_ms=300.0)
    llm_call(metrics, input_tokens=50, output_tokens=30, latency_ms=500.0)

    def fail() -> None:
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        llm_call(metrics, body=fail)
    for ms in (10.0, 20.0):
        with tool_run("search", callbacks=[metrics]) as run:
            run.finish(result="ok", latency_ms=ms)
    with pytest.raises(KeyError), tool_run("lookup", callbacks=[metrics]):
        raise KeyError("x")
    assert (metrics.llm_calls, metrics.llm_errors) == (2, 1)
    assert (metrics.tool_calls, metrics.tool_errors) == (2, 1)
    assert metrics.total_latency_ms >= 800.0 and metrics.tool_latency_ms >= 30.0
    summary = metrics.get_summary()
    assert set(summary) == {"llm", "tools"}
    assert summary["llm"]["calls"] == 2 and summary["llm"]["errors"] == 1
    assert summary["llm"]["total_tokens"] == 200 == metrics.total_tokens
    assert summary["llm"]["avg_latency_ms"] == pytest.approx(metrics.total_latency_ms / 3)
    assert summary["tools"] == {
        "calls": 2,
        "errors": 1,
        "avg_latency_ms": pytest.approx(metrics.tool_latency_ms / 3),
    }
    json.dumps(summary)
    metrics.reset()
    assert metrics.get_summary()["llm"] == {"calls": 0, "errors": 0, "total_tokens": 0, "avg_latency_ms": 0.0}


def test_bad_max_keys_type_is_named() -> None:
    """A string where a number belongs gets a clear error, not a comparison TypeError."""
    with pytest.raises(TypeError, match=r"max_keys must be an integer, got '10' \(str\)"):
        MetricsCallbacks(max_keys="10")  # type: ignore[arg-type]
