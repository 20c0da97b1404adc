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
from ``LLMEndEvent.cost``, so register a ``CostTracker`` before this handler. Token counts,
costs and latencies that are not finite numbers >= 0 are ignored (counts and costs with a
warning), so one bad event cannot poison a total.

ai-infra's names work too (seed 000): ``llm_calls`` (completed calls), ``llm_errors``,
``tool_calls`` (completed tool runs), ``tool_errors``, ``total_latency_ms``,
``tool_latency_ms`` and ``get_summary()``::

    metrics.get_summary()
    # {"llm": {"calls": 2, "errors": 1, "total_tokens": 200, "avg_latency_ms": 410.0},
    #  "tools": {"calls": 3, "errors": 0, "avg_latency_ms": 12.5}}
"""

from __future__ import annotations

import threading
from typing import Any

from llmhooks._validate import check_int
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
from llmhooks.handlers._bounded import OTHER, bounded_row
from llmhooks.handlers._percentiles import LogHistogram
from llmhooks.handlers._values import MAX_MS, MAX_USD, usage, usd

__all__ = ["OTHER", "MetricsCallbacks"]

_OTHER_MODEL: tuple[str | None, str | None] = (None, OTHER)


def _ms(value: float | None) -> float | None:
    """A latency that can be summed: >= 0 and at most ``MAX_MS`` (the histograms drop the others too)."""
    return value if value is not None and 0.0 <= value <= MAX_MS else None


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
        self.max_keys: int = check_int("max_keys", max_keys, minimum=1)
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self._calls = self._errors = 0
        self._input = self._output = self._cached = self._reasoning = 0
        # ai-infra's counters: completed tool runs and tool errors, latency sums and how many
        self._tool_calls = self._tool_errors = 0
        self._llm_ms = self._tool_ms = 0.0
        self._llm_ms_n = self._tool_ms_n = 0
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
        return bounded_row(self._models, (provider, model), self.max_keys, _Model, _OTHER_MODEL)

    def _op(self, table: dict[str, _Op], name: str) -> _Op:
        return bounded_row(table, name, self.max_keys, _Op, OTHER)

    def _count_error(self, error_type: str | None) -> None:
        name = error_type or "Exception"
        table = self._error_types
        if name not in table and len(table) >= self.max_keys:
            name = OTHER
        table[name] = table.get(name, 0) + 1

    # LLM

    def on_llm_end(self, event: LLMEndEvent) -> None:
        i, o, _t, c, r = usage(event, self)
        i = i or 0
        o = o or 0
        c = c or 0
        r = r or 0
        latency = _ms(event.latency_ms)
        ttft = event.time_to_first_token_ms
        cost = event.cost
        if cost is not None and not (cost.__class__ is float and 0.0 <= cost <= MAX_USD):
            cost = usd(cost, self, "cost")
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
                self._llm_ms += latency
                self._llm_ms_n += 1
            if ttft is not None:
                self._ttft.add(ttft)
                row.ttft.add(ttft)

    def on_llm_error(self, event: LLMErrorEvent) -> None:
        latency = _ms(event.latency_ms)
        with self._lock:
            row = self._model(event.provider, event.model)
            self._calls += 1
            self._errors += 1
            if latency is not None:
                self._llm_ms += latency
                self._llm_ms_n += 1
            row.calls += 1
            row.errors += 1
            self._count_error(event.error_type)

    # tools and MCP servers

    def on_tool_end(self, event: ToolEndEvent) -> None:
        self._tool(event.tool_name, event.server_name, _ms(event.latency_ms), not event.success, None)

    def on_tool_error(self, event: ToolErrorEvent) -> None:
        self._tool(
            event.tool_name,
            event.server_name,
            None,
            True,
            event.error_type or "Exception",
            _ms(event.latency_ms),
        )

    def _tool(
        self,
        name: str,
        server: str | None,
        latency: float | None,
        failed: bool,
        error_type: str | None,
        error_latency: float | None = None,
    ) -> None:
        with self._lock:
            if error_type is None:
                self._tool_calls += 1
            else:
                self._tool_errors += 1
            spent = latency if latency is not None else error_latency
            if spent is not None:
                self._tool_ms += spent
                self._tool_ms_n += 1
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

    # ai-infra's names (seed 000)

    @property
    def llm_calls(self) -> int:
        """LLM calls completed (``llm.end``); failed ones are in ``llm_errors``."""
        return self._calls - self._errors

    @property
    def llm_errors(self) -> int:
        """LLM calls that failed (same as ``total_errors``)."""
        return self._errors

    @property
    def tool_calls(self) -> int:
        """Tool runs completed (``tool.end``, including results marked unsuccessful)."""
        return self._tool_calls

    @property
    def tool_errors(self) -> int:
        """Tool runs that raised (``tool.error``)."""
        return self._tool_errors

    @property
    def total_latency_ms(self) -> float:
        """Milliseconds spent in LLM calls, completed and failed."""
        return self._llm_ms

    @property
    def tool_latency_ms(self) -> float:
        """Milliseconds spent in tool runs, completed and failed."""
        return self._tool_ms

    def get_summary(self) -> dict[str, Any]:
        """ai-infra's summary: LLM and tool calls, errors, tokens and mean latency.

        ``avg_latency_ms`` is the mean over the calls (completed or failed) that reported a
        latency, 0.0 when none did.
        """
        with self._lock:
            return {
                "llm": {
                    "calls": self._calls - self._errors,
                    "errors": self._errors,
                    "total_tokens": self._input + self._output,
                    "avg_latency_ms": self._llm_ms / self._llm_ms_n if self._llm_ms_n else 0.0,
                },
                "tools": {
                    "calls": self._tool_calls,
                    "errors": self._tool_errors,
                    "avg_latency_ms": self._tool_ms / self._tool_ms_n if self._tool_ms_n else 0.0,
                },
            }

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
