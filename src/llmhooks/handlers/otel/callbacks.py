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

import logging
import sys
import time
import weakref
from typing import Any, Literal

from llmhooks.errors import MissingExtraError

try:
    from opentelemetry import metrics, trace
    from opentelemetry._logs import Logger, LoggerProvider, get_logger_provider
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "OpenTelemetryCallbacks needs 'opentelemetry-sdk': pip install 'llmhooks[otel]'"
    ) from None

from llmhooks._validate import check_bool, check_choice
from llmhooks.core import add_run_scope, remove_run_scope
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import (
    AgentEndEvent,
    AgentErrorEvent,
    AgentStartEvent,
    AgentStepEvent,
    ChainEndEvent,
    ChainErrorEvent,
    ChainStartEvent,
    Event,
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    GraphNodeStartEvent,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    RetrievalEndEvent,
    RetrievalErrorEvent,
    RetrievalStartEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)
from llmhooks.handlers.otel import conventions as C
from llmhooks.handlers.otel._content import capture_mode, dumps, input_messages, output_messages
from llmhooks.handlers.otel._metrics import Instruments
from llmhooks.handlers.otel._scope import SpanScope
from llmhooks.handlers.otel._spans import SpanFactory, hex_id

__all__ = ["OpenTelemetryCallbacks"]

logger = logging.getLogger("llmhooks")

LLMSpans = Literal["auto", "always", "never"]
_INFERENCE_OPS = frozenset({C.OP_CHAT, C.OP_TEXT_COMPLETION, "generate_content", "embeddings"})
_OPENAI_V2 = "opentelemetry.instrumentation.openai_v2"
_TRANSPORTS = {"stdio": "pipe", "streamable_http": "tcp", "http": "tcp", "sse": "tcp"}
_MAX_CACHED = 1024


def _version() -> str:
    from llmhooks import __version__

    return __version__


def _ns(timestamp: float) -> int:
    return int(timestamp * 1e9)


class _Live:
    """A run in progress: its span (None when left to another instrumentation) and metric attributes."""

    __slots__ = ("attrs", "inputs", "mcp", "span", "start", "stream")

    def __init__(self, span: trace.Span | None, attrs: dict[str, Any], start: float) -> None:
        self.span = span
        self.attrs = attrs
        self.start = start
        self.inputs: Any = None  # input messages, kept for the details event
        self.stream = False
        self.mcp = False


def _openai_instrumentation_active() -> bool:
    """True while ``opentelemetry-instrumentation-openai-v2`` instruments the ``openai`` SDK."""
    module = sys.modules.get(_OPENAI_V2)
    if module is None:
        return False
    instrumentor = getattr(module, "OpenAIInstrumentor", None)
    try:
        return bool(instrumentor is not None and instrumentor().is_instrumented_by_opentelemetry)
    except Exception:
        return False


def _foreign_inference_span(ours: str) -> bool:
    """True when the current span is another instrumentation's span of an LLM call."""
    span = trace.get_current_span()
    if not isinstance(span, ReadableSpan) or not span.is_recording():
        return False
    scope = span.instrumentation_scope
    if scope is not None and scope.name == ours:
        return False
    attributes = span.attributes or {}
    return attributes.get(C.OPERATION_NAME) in _INFERENCE_OPS


def _error_type(event: Any) -> str:
    kind = getattr(event, "error_type", None) or getattr(event, "error_code", None)
    return str(kind) if kind else C.ERROR_TYPE_OTHER


class OpenTelemetryCallbacks(Callbacks):
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

    Raises:
        ValueError, TypeError: an argument has a wrong value or type.
    """

    background = False  # spans must start in the run's own context, before it runs

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        logger_provider: LoggerProvider | None = None,
        capture_content: str | bool | None = None,
        llm_spans: LLMSpans = "auto",
        metrics: bool = True,
        capture_user_id: bool = False,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._logger_provider = logger_provider
        mode = capture_mode(capture_content)
        self.capture_content = mode
        self._content_span = mode in (C.CAPTURE_SPAN, C.CAPTURE_BOTH)
        self._content_event = mode in (C.CAPTURE_EVENT, C.CAPTURE_BOTH)
        self.llm_spans: LLMSpans = check_choice("llm_spans", llm_spans, ("auto", "always", "never"))
        self._metrics = check_bool("metrics", metrics)
        self._user_id = check_bool("capture_user_id", capture_user_id)
        self._version = _version()
        self._live: dict[str, _Live] = {}
        self._transports: dict[str, str] = {}
        self._factory: SpanFactory | None = None
        self._factory_of: object = None
        self._instruments: Instruments | None = None
        self._logger: Logger | None = None
        self._llm_attrs: dict[tuple[str | None, str | None, str], dict[str, Any]] = {}
        self._token_attrs: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}
        self.scope = SpanScope(self._live)
        add_run_scope(self.scope)
        weakref.finalize(self, remove_run_scope, self.scope)

    # -- plumbing ---------------------------------------------------------------------------

    def _span_of(self, run_id: str) -> trace.Span | None:
        live = self._live.get(run_id)
        return live.span if live is not None else None

    def _spans(self) -> SpanFactory:
        provider = self._tracer_provider or trace.get_tracer_provider()
        factory = self._factory
        if factory is None or self._factory_of is not provider:
            tracer = provider.get_tracer(C.INSTRUMENTATION_NAME, self._version, schema_url=C.SCHEMA_URL)
            factory = self._factory = SpanFactory(tracer)
            self._factory_of = provider
        return factory

    def _meters(self) -> Instruments | None:
        if not self._metrics:
            return None
        provider = self._meter_provider or metrics.get_meter_provider()
        inst = self._instruments
        if inst is None or inst.provider is not provider:
            inst = self._instruments = Instruments(provider, self._version)
        return inst

    def _start(
        self, event: Event, name: str, kind: SpanKind, attrs: dict[str, Any], metric_attrs: dict[str, Any]
    ) -> _Live:
        parent_id = event.parent_run_id
        parent_live = self._live.get(parent_id) if parent_id else None
        parent: SpanContext | None
        if parent_live is not None and parent_live.span is not None:
            parent = parent_live.span.get_span_context()
        else:  # a root run, or one whose parent we never saw: the ambient span, if any
            ambient = trace.get_current_span().get_span_context()
            parent = ambient if ambient.is_valid else None
        if self._user_id and event.user_id is not None:
            attrs[C.LLMHOOKS_USER_ID] = event.user_id
        if event.tags:
            attrs[C.LLMHOOKS_TAGS] = list(event.tags)
        factory = self._spans()
        span_id, trace_id = hex_id(event.run_id, 64), hex_id(event.trace_id, 128)
        # decided before the span starts: one attribute set, no extra locking afterwards
        if not span_id or not factory.keeps_ids:
            attrs[C.LLMHOOKS_RUN_ID] = event.run_id
        if parent is not None and parent.trace_id != trace_id:
            attrs[C.LLMHOOKS_TRACE_ID] = event.trace_id
        span = factory.start(name, kind, attrs, span_id, trace_id, parent, _ns(event.timestamp))
        live = _Live(span, metric_attrs, event.timestamp)
        self._live[event.run_id] = live
        return live

    @staticmethod
    def _end(span: trace.Span | None, event: Event) -> None:
        if span is not None:
            span.end(_ns(event.timestamp))

    @staticmethod
    def _fail(span: trace.Span | None, event: Any) -> None:
        if span is None:
            return
        if span.is_recording():
            kind = _error_type(event)
            span.set_attribute(C.ERROR_TYPE, kind)
            error = event.error
            if getattr(event, "cancelled", False):
                span.set_attribute(C.LLMHOOKS_CANCELLED, True)
            code = getattr(event, "error_code", None)
            if code is not None:
                span.set_attribute(C.LLMHOOKS_ERROR_CODE, str(code))
            if isinstance(error, BaseException):
                span.record_exception(error, timestamp=_ns(event.timestamp), escaped=True)
            span.set_status(Status(StatusCode.ERROR, event.error_message or kind))
        span.end(_ns(event.timestamp))

    def _record(self, histogram: str, value: float | None, attrs: dict[str, Any]) -> None:
        inst = self._meters()
        if inst is None or value is None:
            return
        getattr(inst, histogram).record(value, attrs)

    # -- LLM calls ---------------------------------------------------------------------------

    def _defer(self, event: LLMStartEvent) -> bool:
        mode = self.llm_spans
        if mode == "always":
            return False
        if mode == "never":
            return True
        if event.provider == "openai" and _openai_instrumentation_active():
            return True
        return _foreign_inference_span(C.INSTRUMENTATION_NAME)

    def _base_llm(self, provider: str | None, model: str | None, op: str) -> dict[str, Any]:
        key = (provider, model, op)
        attrs = self._llm_attrs.get(key)
        if attrs is None:
            if len(self._llm_attrs) >= _MAX_CACHED:
                self._llm_attrs.clear()
            attrs = {
                C.OPERATION_NAME: op,
                C.PROVIDER_NAME: C.PROVIDER_NAMES.get(provider or "", provider or ""),
            }
            if model:
                attrs[C.REQUEST_MODEL] = model
            self._llm_attrs[key] = attrs
        return attrs

    def _tokens_of(self, attrs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The token metric attributes for ``attrs`` (cached for the shared per-model dicts)."""
        hit = self._token_attrs.get(id(attrs))
        if hit is not None and hit[0] is attrs:
            return hit[1], hit[2]
        pair = {**attrs, C.TOKEN_TYPE: C.TOKEN_INPUT}, {**attrs, C.TOKEN_TYPE: C.TOKEN_OUTPUT}
        if len(self._token_attrs) >= _MAX_CACHED:
            self._token_attrs.clear()
        self._token_attrs[id(attrs)] = (attrs, *pair)  # keeps attrs alive: its id stays its own
        return pair

    def on_llm_start(self, event: LLMStartEvent) -> None:
        if self._defer(event):
            self._live[event.run_id] = _Live(None, {}, event.timestamp)
            return
        op = C.OP_TEXT_COMPLETION if event.prompt is not None and not event.messages else C.OP_CHAT
        base = self._base_llm(event.provider, event.model, op)
        attrs = dict(base)
        if event.streaming:
            attrs[C.REQUEST_STREAM] = True
        if event.temperature is not None:
            attrs[C.REQUEST_TEMPERATURE] = event.temperature
        if event.max_tokens is not None:
            attrs[C.REQUEST_MAX_TOKENS] = event.max_tokens
        params = event.params
        if params:
            for key, name in C.REQUEST_PARAMS.items():
                value = params.get(key)
                if value is not None:
                    attrs[name] = (
                        [value] if name == C.REQUEST_STOP_SEQUENCES and isinstance(value, str) else value
                    )
        metadata = event.metadata
        if metadata:
            for key in C.CONVERSATION_KEYS:
                conv = metadata.get(key)
                if conv:
                    attrs[C.CONVERSATION_ID] = str(conv)
                    break
        name = f"{op} {event.model}" if event.model else op
        live = self._start(event, name, SpanKind.CLIENT, attrs, base)
        live.stream = event.streaming
        if self._content_span or self._content_event:
            messages = input_messages(event.messages, event.prompt)
            if messages is not None:
                if self._content_span and live.span is not None:
                    live.span.set_attribute(C.INPUT_MESSAGES, dumps(messages))
                    if event.tools:
                        live.span.set_attribute(C.TOOL_DEFINITIONS, dumps(event.tools))
                live.inputs = messages

    def on_llm_end(self, event: LLMEndEvent) -> None:
        live = self._live.pop(event.run_id, None)
        if live is None or live.span is None:
            return
        span = live.span
        attrs = live.attrs
        if event.model and event.model != attrs.get(C.REQUEST_MODEL):
            attrs = {**attrs, C.RESPONSE_MODEL: event.model}
        if span.is_recording():
            out = _end_attributes(event)  # one set_attributes: the span takes its lock once
            if self._content_span:
                out[C.OUTPUT_MESSAGES] = dumps(output_messages(event.response, event.tool_calls, event.finish_reason))
            span.set_attributes(out)
        if self._content_event:
            self._emit_details(live, event, attrs)
        span.end(_ns(event.timestamp))
        inst = self._meters()
        if inst is None:
            return
        if event.latency_ms is not None:
            inst.duration.record(event.latency_ms / 1000.0, attrs)
        if event.input_tokens is not None or event.output_tokens is not None:
            with_input, with_output = self._tokens_of(attrs)
            if event.input_tokens is not None:
                inst.tokens.record(event.input_tokens, with_input)
            if event.output_tokens is not None:
                inst.tokens.record(event.output_tokens, with_output)
        if live.stream and event.time_to_first_token_ms is not None:
            inst.ttfc.record(event.time_to_first_token_ms / 1000.0, attrs)

    def on_llm_error(self, event: LLMErrorEvent) -> None:
        live = self._live.pop(event.run_id, None)
        if live is None or live.span is None:
            return
        if self._content_event:
            self._emit_details(live, event, live.attrs)
        self._fail(live.span, event)
        if self._metrics and event.latency_ms is not None:
            self._record(
                "duration", event.latency_ms / 1000.0, {**live.attrs, C.ERROR_TYPE: _error_type(event)}
            )

    def _emit_details(self, live: _Live, event: Any, attrs: dict[str, Any]) -> None:
        """The ``gen_ai.client.inference.operation.details`` event, with the messages."""
        log = self._logger
        if log is None:
            provider = self._logger_provider or get_logger_provider()
            log = self._logger = provider.get_logger(C.INSTRUMENTATION_NAME, self._version, C.SCHEMA_URL)
        details: dict[str, Any] = dict(attrs)
        if live.inputs is not None:
            details[C.INPUT_MESSAGES] = live.inputs
        if isinstance(event, LLMEndEvent):
            details[C.OUTPUT_MESSAGES] = output_messages(
                event.response, event.tool_calls, event.finish_reason
            )
            if event.input_tokens is not None:
                details[C.USAGE_INPUT_TOKENS] = event.input_tokens
            if event.output_tokens is not None:
                details[C.USAGE_OUTPUT_TOKENS] = event.output_tokens
        else:
            details[C.ERROR_TYPE] = _error_type(event)
        context = trace.set_span_in_context(live.span) if live.span is not None else None
        log.emit(
            event_name=C.INFERENCE_DETAILS_EVENT,
            attributes=_jsonable_attributes(details),
            timestamp=_ns(event.timestamp),
            context=context,
        )

    # -- tools -------------------------------------------------------------------------------

    def on_tool_start(self, event: ToolStartEvent) -> None:
        server = event.server_name
        attrs: dict[str, Any] = {C.OPERATION_NAME: C.OP_EXECUTE_TOOL, C.TOOL_NAME: event.tool_name}
        if event.tool_call_id:
            attrs[C.TOOL_CALL_ID] = event.tool_call_id
        metric_attrs = {C.OPERATION_NAME: C.OP_EXECUTE_TOOL, C.TOOL_NAME: event.tool_name}
        if server:
            attrs[C.TOOL_TYPE] = C.TOOL_TYPE_EXTENSION
            attrs[C.MCP_METHOD_NAME] = C.MCP_TOOLS_CALL
            attrs[C.LLMHOOKS_MCP_SERVER] = server
            transport = self._transports.get(server)
            if transport:
                attrs[C.NETWORK_TRANSPORT] = transport
            name, kind = f"{C.MCP_TOOLS_CALL} {event.tool_name}", SpanKind.CLIENT
        else:
            attrs[C.TOOL_TYPE] = C.TOOL_TYPE_FUNCTION
            name, kind = f"{C.OP_EXECUTE_TOOL} {event.tool_name}", SpanKind.INTERNAL
        if self._content_span and event.arguments is not None:
            attrs[C.TOOL_CALL_ARGUMENTS] = dumps(event.arguments)
        live = self._start(event, name, kind, attrs, metric_attrs)
        live.mcp = bool(server)

    def on_tool_end(self, event: ToolEndEvent) -> None:
        live = self._live.pop(event.run_id, None)
        if live is None:
            return
        span = live.span
        if span is not None and span.is_recording():
            if self._content_span and event.result is not None:
                span.set_attribute(C.TOOL_CALL_RESULT, dumps(event.result))
            if event.incomplete:
                span.set_attribute(C.LLMHOOKS_INCOMPLETE, True)
        self._end(span, event)
        if event.latency_ms is not None:
            self._tool_metrics(live, event.latency_ms / 1000.0, None)

    def on_tool_error(self, event: ToolErrorEvent) -> None:
        live = self._live.pop(event.run_id, None)
        if live is None:
            return
        kind = _error_type(event)
        if live.mcp and kind == "MCPToolError":  # a result flagged is_error
            kind = C.MCP_TOOL_ERROR
        span = live.span
        if span is not None and span.is_recording() and kind == C.MCP_TOOL_ERROR:
            span.set_attribute(C.ERROR_TYPE, kind)
            span.set_status(Status(StatusCode.ERROR, event.error_message or kind))
            span.end(_ns(event.timestamp))
        else:
            self._fail(span, event)
        if event.latency_ms is not None:
            self._tool_metrics(live, event.latency_ms / 1000.0, kind)

    def _tool_metrics(self, live: _Live, seconds: float, error: str | None) -> None:
        if not self._metrics:
            return
        attrs = live.attrs if error is None else {**live.attrs, C.ERROR_TYPE: error}
        self._record("duration", seconds, attrs)
        if live.mcp:
            mcp_attrs = {C.MCP_METHOD_NAME: C.MCP_TOOLS_CALL, C.TOOL_NAME: live.attrs[C.TOOL_NAME]}
            if error is not None:
                mcp_attrs[C.ERROR_TYPE] = error
            self._record("mcp_duration", seconds, mcp_attrs)

    # -- agents, chains, graph nodes, retrieval ------------------------------------------------

    def on_agent_start(self, event: AgentStartEvent) -> None:
        attrs: dict[str, Any] = {C.OPERATION_NAME: C.OP_INVOKE_AGENT}
        if event.agent_name:
            attrs[C.AGENT_NAME] = event.agent_name
        name = f"{C.OP_INVOKE_AGENT} {event.agent_name}" if event.agent_name else C.OP_INVOKE_AGENT
        metric_attrs = dict(attrs)
        if self._content_span and event.goal is not None:
            attrs[C.INPUT_MESSAGES] = dumps(
                [{"role": "user", "parts": [{"type": "text", "content": event.goal}]}]
            )
        self._start(event, name, SpanKind.INTERNAL, attrs, metric_attrs)

    def on_agent_step(self, event: AgentStepEvent) -> None:
        live = self._live.get(event.run_id)
        if live is None or live.span is None or not live.span.is_recording():
            return
        attrs: dict[str, Any] = {C.LLMHOOKS_STEP: event.step}
        if isinstance(event.action, str):
            attrs[C.LLMHOOKS_ACTION] = event.action
        if self._content_span:
            if event.action_input is not None:
                attrs["llmhooks.action_input"] = dumps(event.action_input)
            if event.observation is not None:
                attrs["llmhooks.observation"] = dumps(event.observation)
        live.span.add_event(C.LLMHOOKS_AGENT_STEP_EVENT, attrs, _ns(event.timestamp))

    def on_agent_end(self, event: AgentEndEvent) -> None:
        live = self._live.pop(event.run_id, None)
        if live is None:
            return
        span = live.span
        if span is not None and span.is_recording():
            if event.steps is not None:
                span.set_attribute(C.LLMHOOKS_AGENT_STEPS, event.steps)
            if self._content_span and event.result is not None:
                span.set_attribute(C.OUTPUT_MESSAGES, dumps(output_messages(event.result, None, None)))
        self._end(span, event)
        if event.latency_ms is not None:
            self._record("duration", event.latency_ms / 1000.0, live.attrs)

    def on_agent_error(self, event: AgentErrorEvent) -> None:
        self._run_failed(event)

    def on_chain_start(self, event: ChainStartEvent) -> None:
        attrs = {C.LLMHOOKS_CHAIN_NAME: event.chain_name}
        name = f"{C.SPAN_CHAIN} {event.chain_name}" if event.chain_name else C.SPAN_CHAIN
        self._start(event, name, SpanKind.INTERNAL, attrs, {})

    def on_chain_end(self, event: ChainEndEvent) -> None:
        live = self._live.pop(event.run_id, None)
        if live is not None:
            self._end(live.span, event)

    def on_chain_error(self, event: ChainErrorEvent) -> None:
        self._run_failed(event, metrics=False)

    def on_graph_node_start(self, event: GraphNodeStartEvent) -> None:
        attrs: dict[str, Any] = {C.LLMHOOKS_NODE_ID: event.node_id}
        if event.node_type:
            attrs[C.LLMHOOKS_NODE_TYPE] = event.node_type
        if event.step is not None:
            attrs[C.LLMHOOKS_NODE_STEP] = event.step
        self._start(event, f"{C.SPAN_NODE} {event.node_id}", SpanKind.INTERNAL, attrs, {})

    def on_graph_node_end(self, event: GraphNodeEndEvent) -> None:
        live = self._live.pop(event.run_id, None)
        if live is None:
            return
        if event.incomplete and live.span is not None:
            live.span.set_attribute(C.LLMHOOKS_INCOMPLETE, True)
        self._end(live.span, event)

    def on_graph_node_error(self, event: GraphNodeErrorEvent) -> None:
        self._run_failed(event, metrics=False)

    def on_retrieval_start(self, event: RetrievalStartEvent) -> None:
        attrs: dict[str, Any] = {C.OPERATION_NAME: C.OP_RETRIEVAL}
        if event.retriever:
            attrs[C.DATA_SOURCE_ID] = event.retriever
        metric_attrs = dict(attrs)
        if self._content_span and event.query:
            attrs[C.RETRIEVAL_QUERY_TEXT] = event.query
        name = f"{C.OP_RETRIEVAL} {event.retriever}" if event.retriever else C.OP_RETRIEVAL
        self._start(event, name, SpanKind.CLIENT, attrs, metric_attrs)

    def on_retrieval_end(self, event: RetrievalEndEvent) -> None:
        live = self._live.pop(event.run_id, None)
        if live is None:
            return
        span = live.span
        if span is not None and span.is_recording() and event.documents is not None:
            span.set_attribute(C.LLMHOOKS_DOCUMENTS_COUNT, len(event.documents))
            if self._content_span:
                span.set_attribute(C.RETRIEVAL_DOCUMENTS, dumps(event.documents))
        self._end(span, event)
        if event.latency_ms is not None:
            self._record("duration", event.latency_ms / 1000.0, live.attrs)

    def on_retrieval_error(self, event: RetrievalErrorEvent) -> None:
        self._run_failed(event)

    def _run_failed(self, event: Any, *, metrics: bool = True) -> None:
        live = self._live.pop(event.run_id, None)
        if live is None:
            return
        self._fail(live.span, event)
        if metrics and live.attrs and event.latency_ms is not None:
            self._record(
                "duration", event.latency_ms / 1000.0, {**live.attrs, C.ERROR_TYPE: _error_type(event)}
            )

    # -- MCP sessions ------------------------------------------------------------------------

    def on_mcp_connect(self, event: MCPConnectEvent) -> None:
        attrs: dict[str, Any] = {C.LLMHOOKS_MCP_SERVER: event.server_name}
        transport = _TRANSPORTS.get(event.transport or "")
        if transport:
            attrs[C.NETWORK_TRANSPORT] = transport
            self._transports[event.server_name] = transport
        if event.tools_count is not None:
            attrs[C.LLMHOOKS_MCP_TOOLS_COUNT] = event.tools_count
        self._start(event, f"{C.SPAN_MCP_SESSION} {event.server_name}", SpanKind.CLIENT, attrs, {})

    def on_mcp_disconnect(self, event: MCPDisconnectEvent) -> None:
        live = self._live.pop(event.run_id, None)
        if live is None:
            return
        span = live.span
        if span is not None and span.is_recording() and event.reason:
            span.set_attribute(C.LLMHOOKS_MCP_REASON, event.reason)
        self._end(span, event)
        self._record("mcp_session", max(0.0, event.timestamp - live.start), {})

    def on_mcp_progress(self, event: MCPProgressEvent) -> None:
        span = self._span_of(event.run_id)
        if span is None or not span.is_recording():
            return
        attrs: dict[str, Any] = {C.LLMHOOKS_PROGRESS: event.progress}
        if event.total is not None:
            attrs[C.LLMHOOKS_PROGRESS_TOTAL] = event.total
        if self._content_span and event.message:
            attrs["llmhooks.progress.message"] = event.message
        span.add_event(C.LLMHOOKS_MCP_PROGRESS_EVENT, attrs, _ns(event.timestamp))

    def on_mcp_logging(self, event: MCPLoggingEvent) -> None:
        span = self._span_of(event.run_id)
        if span is None or not span.is_recording():
            return
        attrs: dict[str, Any] = {C.LLMHOOKS_LOG_LEVEL: event.level}
        if event.logger_name:
            attrs["llmhooks.log.logger"] = event.logger_name
        if event.tool_name:
            attrs[C.TOOL_NAME] = event.tool_name
        if self._content_span and event.data is not None:
            attrs["llmhooks.log.data"] = dumps(event.data)
        span.add_event(C.LLMHOOKS_MCP_LOG_EVENT, attrs, _ns(event.timestamp))

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def open_spans(self) -> int:
        """How many runs this handler holds a span open for right now."""
        return sum(1 for live in list(self._live.values()) if live.span is not None)

    def close(self) -> None:
        """Stop following runs: remove the run scope and end every span still open.

        Spans ended here (a run whose end this handler will never see, e.g. because it
        was removed from its manager mid-run) carry ``llmhooks.incomplete=True``.
        """
        remove_run_scope(self.scope)
        now = time.time_ns()
        while self._live:
            try:
                _, live = self._live.popitem()
            except KeyError:
                break
            if live.span is not None and live.span.is_recording():
                live.span.set_attribute(C.LLMHOOKS_INCOMPLETE, True)
                live.span.end(now)


def _end_attributes(event: LLMEndEvent) -> dict[str, Any]:
    """The response attributes of an LLM end event."""
    out: dict[str, Any] = {}
    if event.model:
        out[C.RESPONSE_MODEL] = event.model
    if event.finish_reason:
        out[C.RESPONSE_FINISH_REASONS] = [event.finish_reason]
    if event.input_tokens is not None:
        out[C.USAGE_INPUT_TOKENS] = event.input_tokens
    if event.output_tokens is not None:
        out[C.USAGE_OUTPUT_TOKENS] = event.output_tokens
    if event.cached_input_tokens:
        out[C.USAGE_CACHE_READ_INPUT_TOKENS] = event.cached_input_tokens
    if event.cache_write_input_tokens:
        out[C.USAGE_CACHE_CREATION_INPUT_TOKENS] = event.cache_write_input_tokens
    if event.reasoning_tokens:
        out[C.USAGE_REASONING_OUTPUT_TOKENS] = event.reasoning_tokens
    if event.usage_estimated:
        out[C.LLMHOOKS_USAGE_ESTIMATED] = True
    if event.time_to_first_token_ms is not None:
        out[C.RESPONSE_TIME_TO_FIRST_CHUNK] = event.time_to_first_token_ms / 1000.0
    if event.incomplete:
        out[C.LLMHOOKS_INCOMPLETE] = True
    if event.cost is not None:
        out[C.LLMHOOKS_COST_USD] = event.cost
    return out


def _jsonable_attributes(details: dict[str, Any]) -> dict[str, Any]:
    from llmhooks.events import to_jsonable

    out = to_jsonable(details)
    return out if isinstance(out, dict) else {}
