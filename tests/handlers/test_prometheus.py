"""PrometheusCallbacks scraped over HTTP from prometheus-client's own server, parsed by its parser."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("prometheus_client", reason="needs the prometheus extra")

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from llmhooks import (
    Agent,
    CallbackManager,
    Callbacks,
    LLMEndEvent,
    configure_background,
    flush,
    llm_run,
    node_run,
    run_context,
    set_global_callbacks,
    tool_run,
)
from llmhooks.handlers.prometheus import LATENCY_BUCKETS, PrometheusCallbacks


class Scraper:
    """A registry served by ``start_http_server`` on a free port, and a scrape of it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.server, self.thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.url = f"http://127.0.0.1:{self.server.server_port}/metrics"

    def text(self) -> str:
        with urllib.request.urlopen(self.url, timeout=10) as answer:
            assert answer.status == 200
            return str(answer.read().decode())

    def samples(self, name: str) -> dict[tuple[tuple[str, str], ...], float]:
        """Samples called ``name`` (with its suffix: ``_total``, ``_bucket``...): labels -> value."""
        out: dict[tuple[tuple[str, str], ...], float] = {}
        for family in text_string_to_metric_families(self.text()):
            for sample in family.samples:
                if sample.name == name:
                    out[tuple(sorted(sample.labels.items()))] = sample.value
        return out

    def value(self, name: str, **labels: str) -> float:
        return self.samples(name)[tuple(sorted(labels.items()))]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def scraper() -> Iterator[Scraper]:
    """One server for the module; each test unregisters what it registered (``close()``)."""
    s = Scraper()
    yield s
    s.close()


@pytest.fixture
def prom(scraper: Scraper) -> Iterator[PrometheusCallbacks]:
    handler = PrometheusCallbacks(scraper.registry)
    yield handler
    handler.close()


def test_llm_calls_by_provider_model_and_outcome_with_tokens_by_kind(
    scraper: Scraper, prom: PrometheusCallbacks
) -> None:
    """Successes, an early-stopped stream and a failure; tokens by kind; cost when known."""
    for _ in range(3):
        with llm_run(provider="openai", model="gpt-x", callbacks=prom) as run:
            run.finish(input_tokens=10, output_tokens=4, cached_input_tokens=6, reasoning_tokens=1, cost=0.25)
    with llm_run(provider="openai", model="gpt-x", streaming=True, callbacks=prom) as run:
        run.token("par")
        run.finish(incomplete=True, input_tokens=5, output_tokens=1)
    with pytest.raises(TimeoutError), llm_run(provider="anthropic", model="claude", callbacks=prom):
        raise TimeoutError("slow")
    req = "llmhooks_llm_requests_total"
    assert scraper.samples(req) == {
        (("model", "gpt-x"), ("outcome", "success"), ("provider", "openai")): 3.0,
        (("model", "gpt-x"), ("outcome", "incomplete"), ("provider", "openai")): 1.0,
        (("model", "claude"), ("outcome", "error"), ("provider", "anthropic")): 1.0,
    }
    tokens = {dict(k)["kind"]: v for k, v in scraper.samples("llmhooks_llm_tokens_total").items()}
    assert tokens == {"input": 35.0, "output": 13.0, "cached_input": 18.0, "reasoning": 3.0}
    assert scraper.value("llmhooks_llm_cost_usd_total", provider="openai", model="gpt-x") == 0.75
    assert scraper.value(
        "llmhooks_llm_errors_total", provider="anthropic", model="claude", error_type="TimeoutError"
    )
    assert scraper.value("llmhooks_llm_request_duration_seconds_count", provider="openai", model="gpt-x") == 4
    assert (
        scraper.value("llmhooks_llm_time_to_first_token_seconds_count", provider="openai", model="gpt-x") == 1
    )


def test_latency_buckets_reach_minutes(scraper: Scraper, prom: PrometheusCallbacks) -> None:
    """A 95 s call lands under ``le="120.0"``, not only in ``+Inf`` as with the 10 s defaults."""
    with llm_run(provider="openai", model="slow", callbacks=prom) as run:
        run.finish(latency_ms=95_000.0)
    buckets = {
        dict(k)["le"]: v for k, v in scraper.samples("llmhooks_llm_request_duration_seconds_bucket").items()
    }
    assert buckets["60.0"] == 0 and buckets["120.0"] == 1 and buckets["+Inf"] == 1
    assert max(LATENCY_BUCKETS) >= 600


def test_tools_agents_and_graph_nodes(scraper: Scraper, prom: PrometheusCallbacks) -> None:
    """An offline Agent with a tool, a failing tool and graph nodes: calls, outcomes, durations."""

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    result = Agent(tools=[add], name="calc", callbacks=prom).run("Use add to compute 2 and 3")
    assert "5" in result.output
    with pytest.raises(KeyError), tool_run("lookup", callbacks=prom):
        raise KeyError("nope")
    with node_run("plan", callbacks=prom):
        pass
    with pytest.raises(ValueError), node_run("act", callbacks=prom):
        raise ValueError("bad")
    calls = scraper.samples("llmhooks_tool_calls_total")
    assert calls[(("outcome", "success"), ("server", ""), ("tool", "add"))] == 1
    assert calls[(("outcome", "error"), ("server", ""), ("tool", "lookup"))] == 1
    assert scraper.value("llmhooks_tool_duration_seconds_count", tool="add", server="") == 1
    assert scraper.value("llmhooks_agent_runs_total", agent="calc", outcome="success") == 1
    assert scraper.value("llmhooks_agent_steps_total", agent="calc") == 2
    nodes = scraper.samples("llmhooks_graph_node_runs_total")
    assert nodes == {
        (("node", "plan"), ("outcome", "success")): 1.0,
        (("node", "act"), ("outcome", "error")): 1.0,
    }


async def test_mcp_sessions_calls_and_logs_with_the_demo_server(
    scraper: Scraper, prom: PrometheusCallbacks
) -> None:
    """MCP tool calls count under their server; sessions open/close; server logs by level."""
    pytest.importorskip("mcp.server.mcpserver", reason="needs the mcp SDK 2.x")
    from llmhooks import MCPClient
    from llmhooks.demo_servers import demo_server_config

    async with MCPClient([demo_server_config()], callbacks=prom) as client:
        await client.call_tool("lookup_capital", {"country": "Japan"})
        await client.call_tool("unit_convert", {"value": 2, "from_unit": "km", "to_unit": "m"})
        sessions_open = scraper.samples("llmhooks_mcp_sessions")
    assert list(sessions_open.values()) == [1.0]
    (name,) = {dict(k)["server"] for k in sessions_open}
    assert (
        scraper.value("llmhooks_tool_calls_total", tool="lookup_capital", server=name, outcome="success") == 1
    )
    assert scraper.value("llmhooks_mcp_connections_total", server=name, transport="stdio") == 1
    assert scraper.value("llmhooks_mcp_disconnections_total", server=name) == 1
    assert scraper.value("llmhooks_mcp_sessions", server=name) == 0
    assert sum(scraper.samples("llmhooks_mcp_log_messages_total").values()) >= 1


# -- handler health ------------------------------------------------------------------------


class Failing(Callbacks):
    def on_llm_end(self, event: LLMEndEvent) -> None:
        raise RuntimeError("broken handler")


class Slow(Callbacks):
    """An async-only handler that outlives its timeout (run from sync code, it is bounded too)."""

    timeout = 0.01

    async def on_llm_end_async(self, event: LLMEndEvent) -> None:
        await asyncio.sleep(1)


class Backlog(Callbacks):
    """A background handler whose queue of 2 is held full while the test emits."""

    background = True
    background_queue_size = 2
    background_overflow = "drop_newest"
    gate = threading.Event()

    def on_llm_end(self, event: LLMEndEvent) -> None:
        self.gate.wait(10)


def test_handler_health_per_handler_as_seed_002_monitors_it(scraper: Scraper) -> None:
    """Executions by status, errors, timeouts, dropped events and active handlers, from stats()."""
    prom = PrometheusCallbacks(scraper.registry)
    configure_background(maxsize=2, policy="drop_newest")  # the queue a background handler gets
    backlog = Backlog()
    Backlog.gate.clear()
    try:
        set_global_callbacks([prom, Failing(), Slow(), backlog])
        for _ in range(10):
            with llm_run(provider="openai", model="m") as run:
                run.finish(input_tokens=1, output_tokens=1)
        Backlog.gate.set()
        flush(timeout=10)
        ex = "llmhooks_handler_executions_total"
        assert scraper.value(ex, handler="PrometheusCallbacks", status="success") == 10
        assert scraper.value(ex, handler="Failing", status="error") == 10
        assert scraper.value(ex, handler="Failing", status="success") == 0
        assert scraper.value("llmhooks_handler_errors_total", handler="Failing") == 10
        assert scraper.value("llmhooks_handler_timeouts_total", handler="Slow") == 10
        assert scraper.value(ex, handler="Slow", status="timeout") == 10
        dropped = scraper.value("llmhooks_handler_dropped_events_total", handler="Backlog")
        delivered = scraper.value(ex, handler="Backlog", status="success")
        assert dropped >= 1 and dropped + delivered == 10
        assert scraper.value(ex, handler="Backlog", status="dropped") == dropped
        assert scraper.value("llmhooks_active_handlers") == 4
        assert scraper.samples("llmhooks_handler_duration_p95_seconds")
    finally:
        Backlog.gate.set()
        set_global_callbacks([])
        flush(timeout=10)
        configure_background()
        prom.close()


def test_handler_health_of_managers_passed_in(scraper: Scraper) -> None:
    """``managers=[...]``: handlers of a manager given as ``callbacks=`` (nested ones too)."""
    inner = CallbackManager([Failing()])
    manager = CallbackManager([inner])
    prom = PrometheusCallbacks(scraper.registry, managers=[manager], namespace="app")
    try:
        with llm_run(provider="openai", model="m", callbacks=manager) as run:
            run.finish()
        assert scraper.value("app_handler_errors_total", handler="Failing") == 1
        assert scraper.value("app_active_handlers") == 1
    finally:
        prom.close()


# -- cardinality -------------------------------------------------------------------------------


def test_label_values_are_bounded(scraper: Scraper) -> None:
    """Past ``max_label_values`` distinct models, new ones count under ``__other__``."""
    prom = PrometheusCallbacks(scraper.registry, max_label_values=3)
    try:
        for i in range(10):
            with llm_run(provider="openai", model=f"model-{i}", callbacks=prom) as run:
                run.finish()
        models = {dict(k)["model"]: v for k, v in scraper.samples("llmhooks_llm_requests_total").items()}
        assert models == {"model-0": 1, "model-1": 1, "model-2": 1, "__other__": 7}
    finally:
        prom.close()


def test_no_user_id_label_unless_allow_listed(scraper: Scraper) -> None:
    """Users are not labels by default; ``labels=("user_id", "tenant")`` opts in, on LLM counters."""
    prom = PrometheusCallbacks(scraper.registry)
    try:
        with run_context(user_id="alice"), llm_run(provider="openai", model="m", callbacks=prom) as run:
            run.finish(input_tokens=2)
        assert "alice" not in scraper.text()
    finally:
        prom.close()
    prom = PrometheusCallbacks(scraper.registry, labels=("user_id", "tenant"))
    try:
        with (
            run_context(user_id="alice", metadata={"tenant": "acme"}),
            llm_run(provider="openai", model="m", callbacks=prom) as run,
        ):
            run.finish(input_tokens=2)
        key = (
            ("kind", "input"),
            ("model", "m"),
            ("provider", "openai"),
            ("tenant", "acme"),
            ("user_id", "alice"),
        )
        assert scraper.samples("llmhooks_llm_tokens_total") == {key: 2.0}
        assert all(
            "user_id" not in dict(k) for k in scraper.samples("llmhooks_llm_request_duration_seconds_count")
        )
    finally:
        prom.close()


# -- construction ------------------------------------------------------------------------------


def test_a_second_handler_on_the_same_registry_gets_a_clear_error() -> None:
    """Same names twice in one registry: a ValueError saying what to do; after close(), it works."""
    registry = CollectorRegistry()
    first = PrometheusCallbacks(registry)
    with pytest.raises(ValueError, match="already registered"):
        PrometheusCallbacks(registry)
    first.close()
    PrometheusCallbacks(registry).close()
    PrometheusCallbacks(registry, namespace="other").close()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"namespace": "bad name"}, ValueError, "namespace"),
        ({"labels": ["user-id"]}, ValueError, "labels"),
        ({"labels": ["model"]}, ValueError, "already a label"),
        ({"max_label_values": 0}, ValueError, "max_label_values"),
        ({"latency_buckets": [1, 0.5]}, ValueError, "latency_buckets"),
        ({"ttft_buckets": "fast"}, TypeError, "ttft_buckets"),
        ({"managers": [object()]}, TypeError, "managers"),
        ({"health_interval": 0}, ValueError, "health_interval"),
    ],
)
def test_bad_arguments_fail_at_construction(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    """Each bad argument is named in the error, before anything is registered."""
    registry = CollectorRegistry()
    with pytest.raises(error, match=match):
        PrometheusCallbacks(registry, **kwargs)
    assert list(registry.collect()) == []  # nothing half-registered was left behind
    PrometheusCallbacks(registry).close()


def test_without_the_extra_the_error_says_what_to_install() -> None:
    """No prometheus-client installed: ``MissingExtraError`` with the pip command."""
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "import llmhooks\n"
        "try:\n"
        "    llmhooks.PrometheusCallbacks\n"
        "except llmhooks.MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert "pip install 'llmhooks[prometheus]'" in out.stdout
