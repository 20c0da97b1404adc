"""``MetricsCallbacks``: counts, tokens, cost and latency percentiles, in bounded memory.

    metrics = MetricsCallbacks()
    set_global_callbacks([CostTracker(), metrics])
    ...
    metrics.total_calls, metrics.total_tokens
    metrics.snapshot()["models"]["openai/gpt-4o"]["latency_ms"]["p95"]

Latency and time-to-first-token are kept in log-bucket histograms (see
``_percentiles``: p50/p95/p99 within 1 % of an observed value), overall and per
provider/model; latency also per tool, per MCP server and per graph node. A
histogram holds at most ~1,400 buckets and each table at most ``max_keys``
names (later names are counted under ``"(other)"``), so memory stays bounded
over any number of calls. LLM calls are counted when they finish (``llm.end`` or
``llm.error``); latency percentiles are over completed runs (end events), not failed ones. Cost is summed
from ``LLMEndEvent.cost``, so register a ``CostTracker`` before this handler.
"""

from __future__ import annotations

import threading
from typing import Any

from llmhooks.core.callbacks import Callbacks
from llmhooks.events import (
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    LLMEndEvent,
    LLMErrorEvent,
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    ToolEndEvent,
    ToolErrorEvent,
)
from llmhooks.handlers._percentiles import LogHistogram

__all__ = ["OTHER", "MetricsCallbacks"]

OTHER = "(other)"


class _Model:
    __slots__ = ("cached", "calls", "cost", "errors", "input", "latency", "output", "reasoning", "ttft")

    def __init__(self) -> None:
        self.calls = self.errors = self.input = self.output = self.cached = self.reasoning = 0
        self.cost = 0.0
        self.latency = LogHistogram()
        self.ttft = LogHistogram()

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "tokens": _tokens(self.input, self.output, self.cached, self.reasoning),
            "cost_usd": self.cost,
            "latency_ms": self.latency.summary(),
            "ttft_ms": self.ttft.summary(),
        }


class _Op:
    __slots__ = ("calls", "counts", "errors", "latency")

    def __init__(self) -> None:
        self.calls = self.errors = 0
        self.latency = LogHistogram()
        self.counts: dict[str, int] | None = None  # MCP servers: connects, progress...

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "calls": self.calls,
            "errors": self.errors,
            "latency_ms": self.latency.summary(),
        }
        if self.counts:
            out.update(self.counts)
        return out


def _tokens(i: int, o: int, c: int, r: int) -> dict[str, int]:
    return {"input": i, "output": o, "cached": c, "reasoning": r, "total": i + o}


class MetricsCallbacks(Callbacks):
    """Aggregates LLM, tool, MCP and graph events into counters and percentiles; thread- and task-safe.

    Args:
        max_keys: most distinct names kept per table (models, tools, servers,
            nodes, error types); further names are merged under ``"(other)"``.
    """

    def __init__(self, *, max_keys: int = 1000) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, got {max_keys}")
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self._calls = self._errors = 0
        self._input = self._output = self._cached = self._reasoning = 0
        self._cost = 0.0
        self._cost_seen = False
        self._latency = LogHistogram()
        self._ttft = LogHistogram()
        self._models: dict[tuple[str | None, str | None], _Model] = {}
        self._tools: dict[str, _Op] = {}
        self._servers: dict[str, _Op] = {}
        self._nodes: dict[str, _Op] = {}
        self._error_types: dict[str, int] = {}

    # tables (called with the lock held)

    def _model(self, provider: str | None, model: str | None) -> _Model:
        key = (provider, model)
        row = self._models.get(key)
        if row is None:
            if len(self._models) >= self.max_keys:
                key = (None, OTHER)
                row = self._models.get(key)
            if row is None:
                row = self._models[key] = _Model()
        return row

    def _op(self, table: dict[str, _Op], name: str) -> _Op:
        row = table.get(name)
        if row is None:
            if len(table) >= self.max_keys:
                name = OTHER
                row = table.get(name)
            if row is None:
                row = table[name] = _Op()
        return row

    def _count_error(self, error_type: str | None) -> None:
        name = error_type or "Exception"
        table = self._error_types
        if name not in table and len(table) >= self.max_keys:
            name = OTHER
        table[name] = table.get(name, 0) + 1

    # LLM

    def on_llm_end(self, event: LLMEndEvent) -> None:
        i = event.input_tokens or 0
        o = event.output_tokens or 0
        c = event.cached_input_tokens or 0
        r = event.reasoning_tokens or 0
        latency = event.latency_ms
        ttft = event.time_to_first_token_ms
        cost = event.cost
        with self._lock:
            row = self._model(event.provider, event.model)
            self._calls += 1
            row.calls += 1
            self._input += i
            self._output += o
            self._cached += c
            self._reasoning += r
            row.input += i
            row.output += o
            row.cached += c
            row.reasoning += r
            if cost is not None:
                self._cost += cost
                self._cost_seen = True
                row.cost += cost
            if latency is not None:
                self._latency.add(latency)
                row.latency.add(latency)
            if ttft is not None:
                self._ttft.add(ttft)
                row.ttft.add(ttft)

    def on_llm_error(self, event: LLMErrorEvent) -> None:
        with self._lock:
            row = self._model(event.provider, event.model)
            self._calls += 1
            self._errors += 1
            row.calls += 1
            row.errors += 1
            self._count_error(event.error_type)

    # tools and MCP servers

    def on_tool_end(self, event: ToolEndEvent) -> None:
        self._tool(event.tool_name, event.server_name, event.latency_ms, not event.success, None)

    def on_tool_error(self, event: ToolErrorEvent) -> None:
        self._tool(event.tool_name, event.server_name, None, True, event.error_type or "Exception")

    def _tool(
        self, name: str, server: str | None, latency: float | None, failed: bool, error_type: str | None
    ) -> None:
        with self._lock:
            row = self._op(self._tools, name)
            srv = self._op(self._servers, server) if server else None
            for r in (row, srv):
                if r is None:
                    continue
                r.calls += 1
                if failed:
                    r.errors += 1
                if latency is not None:
                    r.latency.add(latency)
            if error_type is not None:
                self._count_error(error_type)

    def _server_count(self, server: str, what: str) -> None:
        with self._lock:
            row = self._op(self._servers, server)
            counts = row.counts
            if counts is None:
                counts = row.counts = {"connects": 0, "disconnects": 0, "progress": 0, "logs": 0}
            counts[what] += 1

    def on_mcp_connect(self, event: MCPConnectEvent) -> None:
        self._server_count(event.server_name, "connects")

    def on_mcp_disconnect(self, event: MCPDisconnectEvent) -> None:
        self._server_count(event.server_name, "disconnects")

    def on_mcp_progress(self, event: MCPProgressEvent) -> None:
        self._server_count(event.server_name, "progress")

    def on_mcp_logging(self, event: MCPLoggingEvent) -> None:
        self._server_count(event.server_name, "logs")

    # graph nodes

    def on_graph_node_end(self, event: GraphNodeEndEvent) -> None:
        with self._lock:
            row = self._op(self._nodes, event.node_id)
            row.calls += 1
            if event.latency_ms is not None:
                row.latency.add(event.latency_ms)

    def on_graph_node_error(self, event: GraphNodeErrorEvent) -> None:
        with self._lock:
            row = self._op(self._nodes, event.node_id)
            row.calls += 1
            row.errors += 1
            self._count_error(event.error_type)

    # results

    @property
    def total_calls(self) -> int:
        """LLM calls finished, successfully or not."""
        return self._calls

    @property
    def total_errors(self) -> int:
        """LLM calls that failed."""
        return self._errors

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens of all LLM calls."""
        return self._input + self._output

    @property
    def total_cost(self) -> float | None:
        """USD of calls whose cost was known (None if none was)."""
        return self._cost if self._cost_seen else None

    def snapshot(self) -> dict[str, Any]:
        """Everything counted, as a JSON-serialisable dict (see the module docstring)."""
        with self._lock:
            return {
                "total_calls": self._calls,
                "total_errors": self._errors,
                "total_tokens": self._input + self._output,
                "tokens": _tokens(self._input, self._output, self._cached, self._reasoning),
                "cost_usd": self._cost if self._cost_seen else None,
                "latency_ms": self._latency.summary(),
                "ttft_ms": self._ttft.summary(),
                "errors_by_type": dict(self._error_types),
                "models": {_model_name(k): row.as_dict() for k, row in self._models.items()},
                "tools": {k: row.as_dict() for k, row in self._tools.items()},
                "mcp_servers": {k: row.as_dict() for k, row in self._servers.items()},
                "graph_nodes": {k: row.as_dict() for k, row in self._nodes.items()},
            }

    def reset(self) -> None:
        """Forget everything counted."""
        with self._lock:
            self._clear()


def _model_name(key: tuple[str | None, str | None]) -> str:
    provider, model = key
    return f"{provider}/{model}" if provider else str(model)
