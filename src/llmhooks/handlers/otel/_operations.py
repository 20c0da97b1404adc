"""Tools, MCP tool calls and sessions, agents, chains, graph nodes and retrievals as spans."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode

from llmhooks.events import (
    AgentEndEvent,
    AgentErrorEvent,
    AgentStartEvent,
    AgentStepEvent,
    ChainEndEvent,
    ChainErrorEvent,
    ChainStartEvent,
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    GraphNodeStartEvent,
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
from llmhooks.handlers.otel._base import Live, SpanHandler, error_type, ns, provider_name
from llmhooks.handlers.otel._content import dumps, output_messages

__all__ = ["OperationSpans"]

_TRANSPORTS = {"stdio": "pipe", "streamable_http": "tcp", "http": "tcp", "sse": "tcp"}


def _told_provider(metadata: dict[str, Any] | None) -> str | None:
    """The provider a user named for an agent run in its metadata, as ``gen_ai.provider.name``."""
    if metadata:
        for key in C.AGENT_PROVIDER_KEYS:
            value = metadata.get(key)
            if isinstance(value, str) and value:
                return provider_name(value)
    return None


class OperationSpans(SpanHandler):
    """Every run family but LLM calls, and MCP sessions."""

    # -- tools -------------------------------------------------------------------------------

    def on_tool_start(self, event: ToolStartEvent) -> None:
        if not self.end_only:
            self._tool_start(event)

    def _tool_start(self, event: ToolStartEvent) -> None:
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
        live = self._take(event)
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
        live = self._take(event)
        if live is None:
            return
        kind = error_type(event)
        if live.mcp and kind == "MCPToolError":  # a result flagged is_error
            kind = C.MCP_TOOL_ERROR
        span = live.span
        if span is not None and span.is_recording() and kind == C.MCP_TOOL_ERROR:
            span.set_attribute(C.ERROR_TYPE, kind)
            span.set_status(Status(StatusCode.ERROR, event.error_message or kind))
            span.end(ns(event.timestamp))
        else:
            self._fail(span, event)
        if event.latency_ms is not None:
            self._tool_metrics(live, event.latency_ms / 1000.0, kind)

    def _tool_metrics(self, live: Live, seconds: float, error: str | None) -> None:
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
        if not self.end_only:
            self._agent_start(event)

    def _agent_start(self, event: AgentStartEvent) -> None:
        attrs: dict[str, Any] = {C.OPERATION_NAME: C.OP_INVOKE_AGENT}
        provider = _told_provider(event.metadata) or self._told.pop(event.run_id, None)
        if provider:
            attrs[C.PROVIDER_NAME] = provider
        if event.agent_name:
            attrs[C.AGENT_NAME] = event.agent_name
        name = f"{C.OP_INVOKE_AGENT} {event.agent_name}" if event.agent_name else C.OP_INVOKE_AGENT
        metric_attrs = dict(attrs)
        if self._content_span and event.goal is not None:
            attrs[C.INPUT_MESSAGES] = dumps(
                [{"role": "user", "parts": [{"type": "text", "content": event.goal}]}]
            )
        live = self._start(event, name, SpanKind.INTERNAL, attrs, metric_attrs)
        live.wants_provider = not provider  # else the first model call inside names it

    def on_agent_step(self, event: AgentStepEvent) -> None:
        live = self._live.get(event.run_id)
        if live is None or live.span is None or not live.span.is_recording():
            return
        attrs: dict[str, Any] = {C.LLMHOOKS_STEP: event.step}
        if isinstance(event.action, str):
            attrs[C.LLMHOOKS_ACTION] = event.action
        if self._content_span:
            if event.action_input is not None:
                attrs[C.LLMHOOKS_ACTION_INPUT] = dumps(event.action_input)
            if event.observation is not None:
                attrs[C.LLMHOOKS_OBSERVATION] = dumps(event.observation)
        live.span.add_event(C.LLMHOOKS_AGENT_STEP_EVENT, attrs, ns(event.timestamp))

    def on_agent_end(self, event: AgentEndEvent) -> None:
        live = self._take(event)
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
        if not self.end_only:
            self._chain_start(event)

    def _chain_start(self, event: ChainStartEvent) -> None:
        attrs = {C.LLMHOOKS_CHAIN_NAME: event.chain_name}
        name = f"{C.SPAN_CHAIN} {event.chain_name}" if event.chain_name else C.SPAN_CHAIN
        self._start(event, name, SpanKind.INTERNAL, attrs, {})

    def on_chain_end(self, event: ChainEndEvent) -> None:
        live = self._take(event)
        if live is not None:
            self._end(live.span, event)

    def on_chain_error(self, event: ChainErrorEvent) -> None:
        self._run_failed(event, metrics=False)

    def on_graph_node_start(self, event: GraphNodeStartEvent) -> None:
        if not self.end_only:
            self._node_start(event)

    def _node_start(self, event: GraphNodeStartEvent) -> None:
        attrs: dict[str, Any] = {C.LLMHOOKS_NODE_ID: event.node_id}
        if event.node_type:
            attrs[C.LLMHOOKS_NODE_TYPE] = event.node_type
        if event.step is not None:
            attrs[C.LLMHOOKS_NODE_STEP] = event.step
        self._start(event, f"{C.SPAN_NODE} {event.node_id}", SpanKind.INTERNAL, attrs, {})

    def on_graph_node_end(self, event: GraphNodeEndEvent) -> None:
        live = self._take(event)
        if live is None:
            return
        if event.incomplete and live.span is not None:
            live.span.set_attribute(C.LLMHOOKS_INCOMPLETE, True)
        self._end(live.span, event)

    def on_graph_node_error(self, event: GraphNodeErrorEvent) -> None:
        self._run_failed(event, metrics=False)

    def on_retrieval_start(self, event: RetrievalStartEvent) -> None:
        if not self.end_only:
            self._retrieval_start(event)

    def _retrieval_start(self, event: RetrievalStartEvent) -> None:
        attrs: dict[str, Any] = {C.OPERATION_NAME: C.OP_RETRIEVAL}
        if event.retriever:
            attrs[C.DATA_SOURCE_ID] = event.retriever
        metric_attrs = dict(attrs)
        if self._content_span and event.query:
            attrs[C.RETRIEVAL_QUERY_TEXT] = event.query
        name = f"{C.OP_RETRIEVAL} {event.retriever}" if event.retriever else C.OP_RETRIEVAL
        self._start(event, name, SpanKind.CLIENT, attrs, metric_attrs)

    def on_retrieval_end(self, event: RetrievalEndEvent) -> None:
        live = self._take(event)
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
        live = self._take(event)
        if live is None:
            return
        self._fail(live.span, event)
        if metrics and live.attrs and event.latency_ms is not None:
            self._record(
                "duration", event.latency_ms / 1000.0, {**live.attrs, C.ERROR_TYPE: error_type(event)}
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
            attrs[C.LLMHOOKS_PROGRESS_MESSAGE] = event.message
        span.add_event(C.LLMHOOKS_MCP_PROGRESS_EVENT, attrs, ns(event.timestamp))

    def on_mcp_logging(self, event: MCPLoggingEvent) -> None:
        span = self._span_of(event.run_id)
        if span is None or not span.is_recording():
            return
        attrs: dict[str, Any] = {C.LLMHOOKS_LOG_LEVEL: event.level}
        if event.logger_name:
            attrs[C.LLMHOOKS_LOG_LOGGER] = event.logger_name
        if event.tool_name:
            attrs[C.TOOL_NAME] = event.tool_name
        if self._content_span and event.data is not None:
            attrs[C.LLMHOOKS_LOG_DATA] = dumps(event.data)
        span.add_event(C.LLMHOOKS_MCP_LOG_EVENT, attrs, ns(event.timestamp))
