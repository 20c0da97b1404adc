"""LLM calls as ``chat {model}`` spans: usage, finish reasons, content, and the GenAI metrics."""

from __future__ import annotations

import sys
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
from opentelemetry.trace import SpanKind

from llmhooks.events import LLMEndEvent, LLMErrorEvent, LLMStartEvent, to_jsonable
from llmhooks.handlers.otel import conventions as C
from llmhooks.handlers.otel._base import Live, SpanHandler, error_type, ns, provider_name
from llmhooks.handlers.otel._content import dumps, input_messages, output_messages, split_system
from llmhooks.handlers.otel._watch import InferenceWatch, is_foreign_inference

__all__ = ["LLMSpans"]

_OPENAI_V2 = "opentelemetry.instrumentation.openai_v2"
_MAX_CACHED = 1024


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


def _foreign_inference_span() -> bool:
    """True when the current span is another instrumentation's span of an LLM call."""
    span = trace.get_current_span()
    return isinstance(span, ReadableSpan) and span.is_recording() and is_foreign_inference(span)


class LLMSpans(SpanHandler):
    """The LLM family: start, end and error events."""

    # -- LLM calls ---------------------------------------------------------------------------

    def _defer(self, event: LLMStartEvent) -> bool | None:
        """True: leave the span to another instrumentation; None: wait and see (pending)."""
        mode = self.llm_spans
        if mode == "always":
            return False
        if mode == "never":
            return True
        if _foreign_inference_span():
            return True
        if event.provider == "openai" and _openai_instrumentation_active():
            return None if self._watching() else True
        return False

    def _watching(self) -> bool:
        """Put the span watch on the tracer provider (once); False if it is not the SDK's."""
        provider = self._spans_provider()
        if not isinstance(provider, SDKTracerProvider):
            return False
        if self._watched is not provider:
            provider.add_span_processor(InferenceWatch())
            self._watched = provider
        return True

    def _base_llm(self, provider: str | None, model: str | None, op: str) -> dict[str, Any]:
        key = (provider, model, op)
        attrs = self._llm_attrs.get(key)
        if attrs is None:
            if len(self._llm_attrs) >= _MAX_CACHED:
                self._llm_attrs.clear()
            attrs = {
                C.OPERATION_NAME: op,
                C.PROVIDER_NAME: provider_name(provider),
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
        if not self.end_only:
            self._llm_start(event)

    def _llm_start(self, event: LLMStartEvent) -> None:
        if event.provider and event.parent_run_id:
            self._tell_agent(event.parent_run_id, provider_name(event.provider))
        defer = self._defer(event)
        if defer is None or defer:
            live = self._live[event.run_id] = Live(None, {}, event.timestamp, event.parent_run_id)
            if defer is None:  # the span comes at the end unless another instrumentation made one
                live.pending = event
            return
        self._open_llm(event)

    def _settle(self, live: Live | None, run_id: str) -> Live | None:
        """A pending run at its end: its span now (back-dated) if no other instrumentation made one."""
        if live is None or live.pending is None or live.covered:
            return live
        self._open_llm(live.pending)
        return self._live.pop(run_id, None)

    def _open_llm(self, event: LLMStartEvent) -> None:
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
                system = None
                if base[C.PROVIDER_NAME] in C.SEPARATE_SYSTEM_PROVIDERS:
                    system, messages = split_system(messages)
                if self._content_span and live.span is not None:
                    live.span.set_attribute(C.INPUT_MESSAGES, dumps(messages))
                    if system:
                        live.span.set_attribute(C.SYSTEM_INSTRUCTIONS, dumps(system))
                    if event.tools:
                        live.span.set_attribute(C.TOOL_DEFINITIONS, dumps(event.tools))
                live.inputs = messages
                live.system = system

    def on_llm_end(self, event: LLMEndEvent) -> None:
        live = self._settle(self._take(event), event.run_id)
        if live is None or live.span is None:
            return
        span = live.span
        attrs = live.attrs
        model = event.response_model or event.model
        if model and model != attrs.get(C.REQUEST_MODEL):
            attrs = {**attrs, C.RESPONSE_MODEL: model}
        if span.is_recording():
            out = _end_attributes(event)  # one set_attributes: the span takes its lock once
            if self._content_span:
                out[C.OUTPUT_MESSAGES] = dumps(
                    output_messages(event.response, event.tool_calls, event.finish_reason)
                )
            span.set_attributes(out)
        if self._content_event:
            self._emit_details(live, event, attrs)
        span.end(ns(event.timestamp))
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
        live = self._settle(self._take(event), event.run_id)
        if live is None or live.span is None:
            return
        if self._content_event:
            self._emit_details(live, event, live.attrs)
        self._fail(live.span, event)
        if self._metrics and event.latency_ms is not None:
            self._record(
                "duration", event.latency_ms / 1000.0, {**live.attrs, C.ERROR_TYPE: error_type(event)}
            )

    def _emit_details(self, live: Live, event: Any, attrs: dict[str, Any]) -> None:
        """The ``gen_ai.client.inference.operation.details`` event, with the messages."""
        log = self._logger
        if log is None:
            provider = self._logger_provider or get_logger_provider()
            log = self._logger = provider.get_logger(C.INSTRUMENTATION_NAME, self._version, C.SCHEMA_URL)
        details: dict[str, Any] = dict(attrs)
        if live.system:
            details[C.SYSTEM_INSTRUCTIONS] = live.system
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
            details[C.ERROR_TYPE] = error_type(event)
        context = trace.set_span_in_context(live.span) if live.span is not None else None
        log.emit(
            event_name=C.INFERENCE_DETAILS_EVENT,
            attributes=_jsonable_attributes(details),
            timestamp=ns(event.timestamp),
            context=context,
        )


def _end_attributes(event: LLMEndEvent) -> dict[str, Any]:
    """The response attributes of an LLM end event."""
    out: dict[str, Any] = {}
    model = event.response_model or event.model
    if model:
        out[C.RESPONSE_MODEL] = model
    if event.response_id:
        out[C.RESPONSE_ID] = event.response_id
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
    """Log record attributes may be structured: plain JSON-safe values all the way down."""
    out = to_jsonable(details)
    return out if isinstance(out, dict) else {}
