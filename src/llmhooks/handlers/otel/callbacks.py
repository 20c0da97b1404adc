"""``OpenTelemetryCallbacks``: every run as a span, and the GenAI client metrics.

    set_global_callbacks([OpenTelemetryCallbacks()])   # the global tracer and meter providers

One span per run, named and attributed by the GenAI semantic conventions
(``conventions.py``): ``chat {model}`` (CLIENT) for LLM calls, ``execute_tool
{tool}`` or, for MCP tools, ``tools/call {tool}`` (CLIENT), ``invoke_agent {agent}``,
``retrieval {source}``, and ``chain {name}`` / ``graph_node {node}`` for chains and
graph nodes; an MCP session is a ``mcp.session {server}`` span from connect to
disconnect. The exported span id is the run's ``run_id`` and the trace id its
``trace_id``; a run started inside a foreign span becomes its child, and (through the
run scope) a run's span is the current span for code inside the run.

A span ends exactly once, on the run's one terminal event: a stream stopped early,
dropped or failed ends its span too. Metrics (``gen_ai.client.token.usage``,
``gen_ai.client.operation.duration``, ``..time_to_first_chunk``, MCP durations) are
recorded whether or not the span is sampled. Token events are not taken: a streamed
token costs this handler nothing.
"""

from __future__ import annotations

from llmhooks.errors import MissingExtraError

try:
    import opentelemetry.sdk.trace  # noqa: F401  (the SDK, not only the API)
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "OpenTelemetryCallbacks needs 'opentelemetry-sdk': pip install 'llmhooks[otel]'"
    ) from None

from llmhooks.handlers.otel._llm import LLMSpans
from llmhooks.handlers.otel._operations import OperationSpans

__all__ = ["OpenTelemetryCallbacks"]


class OpenTelemetryCallbacks(LLMSpans, OperationSpans):
    """Exports runs as OpenTelemetry spans and records the GenAI client metrics.

    Args:
        tracer_provider: where spans go; the global provider when None (looked up
            on each run, so setting it after this handler is made works).
        meter_provider: where metrics go; the global provider when None.
        logger_provider: where ``gen_ai.client.inference.operation.details`` events
            go when content is captured on events; the global one when None.
        capture_content: ``"NO_CONTENT"``, ``"SPAN_ONLY"``, ``"EVENT_ONLY"``,
            ``"SPAN_AND_EVENT"`` (or True for span only, False for none); None reads
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (default: none).
            What is captured is what events carry, already redacted.
        llm_spans: ``"auto"`` leaves the span of an LLM call to another
            instrumentation that traces it (a GenAI span of another instrumentation
            is current, or ``OpenAIInstrumentor`` is active for an OpenAI call), so
            there is one LLM span per call; ``"always"`` and ``"never"`` decide for
            every call. Metrics follow the span: left to the other instrumentation too.
        metrics: record metrics (default True).
        capture_user_id: put the event's ``user_id`` on spans as ``llmhooks.user_id``.
        end_only: make each span and its metrics from the run's terminal event alone,
            ignoring start events: for a collector that may see a run's end without its
            start (several collectors on one stream, a shipper sending terminal events
            only). The span starts ``latency_ms`` before the end and its parent is the
            parent run's span by id. Not in this mode: request parameters and input
            messages (start fields), agent step and MCP events, MCP session spans.

    Raises:
        ValueError, TypeError: an argument has a wrong value or type.
    """
