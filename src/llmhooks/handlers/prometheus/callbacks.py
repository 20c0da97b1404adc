"""``PrometheusCallbacks``: LLM, tool, MCP, agent and graph-node metrics, plus handler health.

    set_global_callbacks([CostTracker(), PrometheusCallbacks()])
    prometheus_client.start_http_server(9464)        # or mount make_asgi_app()/make_wsgi_app()

Names follow Prometheus conventions (the ``namespace`` prefix, base units, ``_seconds``,
``_total`` on counters). Labels are bounded: provider, model, outcome, token kind, tool,
MCP server, transport, log level, node, agent and handler names, each capped at
``max_label_values`` distinct values (later ones count as ``__other__``). No user id or
other free text is a label unless named in ``labels=`` (then on the LLM counters only).
Handler health comes from the managers' ``stats()``; see ``_health.py`` for how it works
in prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from llmhooks.errors import MissingExtraError

try:
    from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "PrometheusCallbacks needs 'prometheus-client': pip install 'llmhooks[prometheus]'"
    ) from None

from llmhooks._validate import check_bool, check_int, check_methods, check_names, check_number, check_with
from llmhooks.core import CallbackManager
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import (
    AgentEndEvent,
    AgentErrorEvent,
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    LLMEndEvent,
    LLMErrorEvent,
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPLoggingEvent,
    ToolEndEvent,
    ToolErrorEvent,
)
from llmhooks.handlers._values import MAX_MS, count, usd
from llmhooks.handlers.prometheus._health import HealthCollector, HealthSync
from llmhooks.handlers.prometheus._labels import Bounded

__all__ = [
    "LATENCY_BUCKETS",
    "TOOL_BUCKETS",
    "TTFT_BUCKETS",
    "PrometheusCallbacks",
]

# LLM calls take from a fraction of a second to minutes (long generations, reasoning models):
# prometheus-client's default buckets stop at 10 s
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)
TOOL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_OWN_LABELS = frozenset(
    {
        "provider",
        "model",
        "outcome",
        "kind",
        "error_type",
        "tool",
        "server",
        "transport",
        "level",
        "node",
        "agent",
    }
)
_TOKEN_KINDS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cached_input", "cached_input_tokens"),
    ("cache_write_input", "cache_write_input_tokens"),
    ("reasoning", "reasoning_tokens"),
)


def _buckets(name: str, value: Any) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence of numbers, got {value!r}")
    out = tuple(check_number(name, v, minimum=0, exclusive_minimum=True) for v in value)
    check_with(
        name, out, lambda b: len(b) > 0 and list(b) == sorted(set(b)), "increasing, at least one value"
    )
    return out


def _seconds(ms: Any) -> float | None:
    """A latency in ms as seconds for a histogram, or None if it is no real latency (NaN...)."""
    if isinstance(ms, (int, float)) and not isinstance(ms, bool) and 0 <= ms <= MAX_MS:
        return ms / 1000.0
    return None


def _outcome(event: Any) -> str:
    if getattr(event, "cancelled", False):
        return "cancelled"
    return "error"


class PrometheusCallbacks(Callbacks):
    """Counts and times what runs do, for Prometheus; reads handler health from the managers.

    Args:
        registry: where the metrics are registered; prometheus-client's default
            ``REGISTRY`` when None.
        namespace: prefix of every metric name.
        managers: the managers whose handlers' health is reported; the global
            manager when None (add the ones you pass as ``callbacks=``).
        labels: opt-in extra labels on the LLM counters (requests, tokens, cost):
            ``"user_id"`` for the event's user, any other name for that key of the
            event's metadata. Each adds series per distinct value, bounded too.
        max_label_values: distinct values kept per label before ``__other__``.
        latency_buckets, ttft_buckets, tool_buckets: histogram buckets, in seconds.
        health: report handler health (default True).
        health_interval: in multiprocess mode, seconds between copies of the
            managers' stats into the metrics files.

    Raises:
        ValueError, TypeError: an argument is invalid (a label name, buckets...).
        ValueError: these metric names are already registered in ``registry``
            (another ``PrometheusCallbacks`` with the same namespace).
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        namespace: str = "llmhooks",
        *,
        managers: Sequence[CallbackManager] | None = None,
        labels: Sequence[str] = (),
        max_label_values: int = 200,
        latency_buckets: Sequence[float] = LATENCY_BUCKETS,
        ttft_buckets: Sequence[float] = TTFT_BUCKETS,
        tool_buckets: Sequence[float] = TOOL_BUCKETS,
        health: bool = True,
        health_interval: float = 5.0,
    ) -> None:
        check_with(
            "namespace", namespace, lambda n: isinstance(n, str) and bool(_NAME.match(n)), "a metric name"
        )
        extra = check_names("labels", labels)
        check_methods(
            "registry",
            registry,
            ("register", "unregister"),
            "a prometheus_client CollectorRegistry",
            allow_none=True,
        )
        for label in extra:
            check_with(
                "labels",
                label,
                lambda n: isinstance(n, str) and bool(_NAME.match(n)) and not n.startswith("__"),
                "Prometheus label names",
            )
            if label in _OWN_LABELS:
                raise ValueError(f"labels: {label!r} is already a label of these metrics")
        if managers is not None:
            if isinstance(managers, CallbackManager) or not isinstance(managers, Sequence):
                raise TypeError(
                    "managers must be a list of CallbackManager objects, "
                    f"got {managers!r} ({type(managers).__name__})"
                )
            for manager in managers:
                if not isinstance(manager, CallbackManager):
                    raise TypeError(
                        f"managers must hold CallbackManager objects, got {type(manager).__name__}"
                    )
        self.registry = REGISTRY if registry is None else registry
        self.namespace = namespace
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self._extra = extra
        self._label = Bounded(check_int("max_label_values", max_label_values, minimum=1))
        latency = _buckets("latency_buckets", latency_buckets)
        ttft = _buckets("ttft_buckets", ttft_buckets)
        tool = _buckets("tool_buckets", tool_buckets)
        check_bool("health", health)
        interval = check_number("health_interval", health_interval, minimum=0.05)
        self._children: dict[tuple[Any, ...], Any] = {}
        self._sessions: set[str] = set()  # run ids of MCP sessions counted in mcp_sessions
        self._registered: list[Any] = []
        try:
            self._define(namespace, extra, latency, ttft, tool)
            self._health: HealthCollector | HealthSync | None = None
            if health:
                if self.multiprocess:  # custom collectors are not read in this mode
                    self._health = HealthSync(namespace, managers, self.registry, interval)
                    self._registered.extend(
                        [
                            self._health.executions,
                            self._health.errors,
                            self._health.timeouts,
                            self._health.dropped,
                            self._health.mean,
                            self._health.p95,
                            self._health.active,
                        ]
                    )
                else:
                    collector = HealthCollector(namespace, managers)
                    self.registry.register(collector)
                    self._registered.append(collector)
                    self._health = collector
        except ValueError as exc:
            self.close()
            if "Duplicated timeseries" in str(exc):
                raise ValueError(
                    f"metrics named {namespace}_* are already registered in this registry (another "
                    "PrometheusCallbacks?): reuse that handler, pass another registry= or namespace=, "
                    "or close() the old one first"
                ) from exc
            raise

    def _metric(self, cls: Any, name: str, doc: str, labels: Sequence[str], **kwargs: Any) -> Any:
        metric = cls(name, doc, list(labels), namespace=self.namespace, registry=self.registry, **kwargs)
        self._registered.append(metric)
        return metric

    def _define(
        self,
        ns: str,
        extra: tuple[str, ...],
        latency: tuple[float, ...],
        ttft: tuple[float, ...],
        tool: tuple[float, ...],
    ) -> None:
        pm = ("provider", "model")
        m = self._metric
        self.llm_requests = m(
            Counter,
            "llm_requests",
            "LLM calls finished, by outcome (success, incomplete, error, cancelled).",
            (*pm, "outcome", *extra),
        )
        self.llm_errors = m(
            Counter,
            "llm_errors",
            "LLM calls that failed, by error type (exception class or provider code).",
            (*pm, "error_type"),
        )
        self.llm_tokens = m(
            Counter,
            "llm_tokens",
            "Tokens of finished LLM calls, by kind "
            "(input includes cached_input and cache_write_input; output includes reasoning).",
            (*pm, "kind", *extra),
        )
        self.llm_cost = m(
            Counter,
            "llm_cost_usd",
            "Cost of finished LLM calls in US dollars, when known (a CostTracker ran first).",
            (*pm, *extra),
        )
        self.llm_duration = m(
            Histogram, "llm_request_duration_seconds", "Latency of finished LLM calls.", pm, buckets=latency
        )
        self.llm_ttft = m(
            Histogram,
            "llm_time_to_first_token_seconds",
            "Time to the first streamed token.",
            pm,
            buckets=ttft,
        )
        self.tool_calls = m(
            Counter,
            "tool_calls",
            "Tool calls finished, by outcome; server is set for MCP tools.",
            ("tool", "server", "outcome"),
        )
        self.tool_duration = m(
            Histogram, "tool_duration_seconds", "Duration of tool calls.", ("tool", "server"), buckets=tool
        )
        self.mcp_connections = m(Counter, "mcp_connections", "MCP sessions opened.", ("server", "transport"))
        self.mcp_disconnections = m(
            Counter, "mcp_disconnections", "MCP sessions closed or lost.", ("server",)
        )
        self.mcp_sessions = m(
            Gauge, "mcp_sessions", "MCP sessions open now.", ("server",), multiprocess_mode="livesum"
        )
        self.mcp_logs = m(Counter, "mcp_log_messages", "Log messages MCP servers sent.", ("server", "level"))
        self.node_runs = m(
            Counter, "graph_node_runs", "Graph node runs finished, by outcome.", ("node", "outcome")
        )
        self.node_duration = m(
            Histogram,
            "graph_node_duration_seconds",
            "Duration of graph node runs.",
            ("node",),
            buckets=latency,
        )
        self.agent_runs = m(Counter, "agent_runs", "Agent runs finished, by outcome.", ("agent", "outcome"))
        self.agent_duration = m(
            Histogram, "agent_duration_seconds", "Duration of agent runs.", ("agent",), buckets=latency
        )
        self.agent_steps = m(Counter, "agent_steps", "Steps agents took.", ("agent",))

    # -- helpers ---------------------------------------------------------------------------

    def _child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, cached (prometheus-client takes a lock per lookup)."""
        key = (id(metric), *values)
        child = self._children.get(key)
        if child is None:
            if len(self._children) >= 100_000:  # bounded labels keep this small; a guard all the same
                self._children.clear()
            child = self._children[key] = metric.labels(*values)
        return child

    def _extra_values(self, event: Any) -> tuple[str, ...]:
        label = self._label
        out = []
        for name in self._extra:
            value = event.user_id if name == "user_id" else (event.metadata or {}).get(name)
            out.append(label(name, value))
        return tuple(out)

    # -- LLM calls ---------------------------------------------------------------------------

    def on_llm_end(self, event: LLMEndEvent) -> None:
        label = self._label
        provider, model = label("provider", event.provider), label("model", event.model)
        extra = self._extra_values(event) if self._extra else ()
        outcome = "incomplete" if event.incomplete else "success"
        self._child(self.llm_requests, provider, model, outcome, *extra).inc()
        for kind, field in _TOKEN_KINDS:
            n = count(getattr(event, field), self, field)  # NaN, 1e300, "12": never in a counter
            if n:
                self._child(self.llm_tokens, provider, model, kind, *extra).inc(n)
        cost = usd(event.cost, self, "cost")
        if cost:
            self._child(self.llm_cost, provider, model, *extra).inc(cost)
        latency, ttft = _seconds(event.latency_ms), _seconds(event.time_to_first_token_ms)
        if latency is not None:
            self._child(self.llm_duration, provider, model).observe(latency)
        if ttft is not None:
            self._child(self.llm_ttft, provider, model).observe(ttft)

    def on_llm_error(self, event: LLMErrorEvent) -> None:
        label = self._label
        provider, model = label("provider", event.provider), label("model", event.model)
        extra = self._extra_values(event) if self._extra else ()
        self._child(self.llm_requests, provider, model, _outcome(event), *extra).inc()
        kind = label("error_type", event.error_type or event.error_code)
        self._child(self.llm_errors, provider, model, kind).inc()

    # -- tools ---------------------------------------------------------------------------------

    def on_tool_end(self, event: ToolEndEvent) -> None:
        tool = self._label("tool", event.tool_name)
        server = self._label("server", event.server_name) if event.server_name else ""
        outcome = "success" if event.success else "error"
        self._child(self.tool_calls, tool, server, outcome).inc()
        seconds = _seconds(event.latency_ms)
        if seconds is not None:
            self._child(self.tool_duration, tool, server).observe(seconds)

    def on_tool_error(self, event: ToolErrorEvent) -> None:
        tool = self._label("tool", event.tool_name)
        server = self._label("server", event.server_name) if event.server_name else ""
        self._child(self.tool_calls, tool, server, _outcome(event)).inc()
        seconds = _seconds(event.latency_ms)
        if seconds is not None:
            self._child(self.tool_duration, tool, server).observe(seconds)

    # -- MCP sessions --------------------------------------------------------------------------

    def on_mcp_connect(self, event: MCPConnectEvent) -> None:
        server = self._label("server", event.server_name)
        self._child(self.mcp_connections, server, self._label("transport", event.transport)).inc()
        if event.run_id not in self._sessions:
            self._sessions.add(event.run_id)
            self._child(self.mcp_sessions, server).inc()

    def on_mcp_disconnect(self, event: MCPDisconnectEvent) -> None:
        server = self._label("server", event.server_name)
        self._child(self.mcp_disconnections, server).inc()
        if event.run_id in self._sessions:  # a session opened before this handler was added is not counted
            self._sessions.discard(event.run_id)
            self._child(self.mcp_sessions, server).dec()

    def on_mcp_logging(self, event: MCPLoggingEvent) -> None:
        server = self._label("server", event.server_name)
        self._child(self.mcp_logs, server, self._label("level", event.level)).inc()

    # -- graph nodes and agents ------------------------------------------------------------------

    def on_graph_node_end(self, event: GraphNodeEndEvent) -> None:
        node = self._label("node", event.node_id)
        self._child(self.node_runs, node, "incomplete" if event.incomplete else "success").inc()
        seconds = _seconds(event.latency_ms)
        if seconds is not None:
            self._child(self.node_duration, node).observe(seconds)

    def on_graph_node_error(self, event: GraphNodeErrorEvent) -> None:
        node = self._label("node", event.node_id)
        self._child(self.node_runs, node, _outcome(event)).inc()
        seconds = _seconds(event.latency_ms)
        if seconds is not None:
            self._child(self.node_duration, node).observe(seconds)

    def on_agent_end(self, event: AgentEndEvent) -> None:
        agent = self._label("agent", event.agent_name)
        self._child(self.agent_runs, agent, "success").inc()
        if event.steps:
            self._child(self.agent_steps, agent).inc(event.steps)
        seconds = _seconds(event.latency_ms)
        if seconds is not None:
            self._child(self.agent_duration, agent).observe(seconds)

    def on_agent_error(self, event: AgentErrorEvent) -> None:
        agent = self._label("agent", event.agent_name)
        self._child(self.agent_runs, agent, _outcome(event)).inc()
        seconds = _seconds(event.latency_ms)
        if seconds is not None:
            self._child(self.agent_duration, agent).observe(seconds)

    # -- lifecycle -------------------------------------------------------------------------------

    def sync(self) -> None:
        """In multiprocess mode, copy handler health into the metrics files now (else nothing)."""
        if isinstance(self._health, HealthSync):
            self._health.sync()

    def close(self) -> None:
        """Unregister every metric and collector from the registry; stop the health thread."""
        health = getattr(self, "_health", None)
        if isinstance(health, HealthSync):
            health.stop()
        for item in self._registered:
            try:
                self.registry.unregister(item)
            except KeyError:
                pass
        self._registered.clear()
        self._children.clear()
