"""The plumbing of the OpenTelemetry exporter: the span of each run by run id, providers, metrics."""

from __future__ import annotations

import time
import weakref
from typing import Any, Literal

from opentelemetry import metrics, trace
from opentelemetry._logs import Logger, LoggerProvider
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode

from llmhooks._validate import check_bool, check_choice, check_methods
from llmhooks.core import add_run_scope, remove_run_scope
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import Event
from llmhooks.handlers.otel import conventions as C
from llmhooks.handlers.otel._content import capture_mode
from llmhooks.handlers.otel._metrics import Instruments
from llmhooks.handlers.otel._scope import SpanScope
from llmhooks.handlers.otel._spans import SpanFactory, hex_id

__all__ = ["LLMSpanMode", "Live", "SpanHandler", "error_type", "ns"]

LLMSpanMode = Literal["auto", "always", "never"]


def _version() -> str:
    from llmhooks._version import __version__

    return __version__


def ns(timestamp: float) -> int:
    return int(timestamp * 1e9)


class Live:
    """A run in progress: its span (None when left to another instrumentation) and metric attributes."""

    __slots__ = ("attrs", "inputs", "mcp", "span", "start", "stream")

    def __init__(self, span: trace.Span | None, attrs: dict[str, Any], start: float) -> None:
        self.span = span
        self.attrs = attrs
        self.start = start
        self.inputs: Any = None  # input messages, kept for the details event
        self.stream = False
        self.mcp = False


def error_type(event: Any) -> str:
    kind = getattr(event, "error_type", None) or getattr(event, "error_code", None)
    return str(kind) if kind else C.ERROR_TYPE_OTHER


class SpanHandler(Callbacks):
    """Keeps the span of every run in progress; subclasses map event families to spans."""

    background = False  # spans must start in the run's own context, before it runs

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        logger_provider: LoggerProvider | None = None,
        capture_content: str | bool | None = None,
        llm_spans: LLMSpanMode = "auto",
        metrics: bool = True,
        capture_user_id: bool = False,
    ) -> None:
        self._tracer_provider = check_methods(
            "tracer_provider",
            tracer_provider,
            ("get_tracer",),
            "an OpenTelemetry TracerProvider",
            allow_none=True,
        )
        self._meter_provider = check_methods(
            "meter_provider",
            meter_provider,
            ("get_meter",),
            "an OpenTelemetry MeterProvider",
            allow_none=True,
        )
        self._logger_provider = check_methods(
            "logger_provider",
            logger_provider,
            ("get_logger",),
            "an OpenTelemetry LoggerProvider",
            allow_none=True,
        )
        mode = capture_mode(capture_content)
        self.capture_content = mode
        self._content_span = mode in (C.CAPTURE_SPAN, C.CAPTURE_BOTH)
        self._content_event = mode in (C.CAPTURE_EVENT, C.CAPTURE_BOTH)
        self.llm_spans: LLMSpanMode = check_choice("llm_spans", llm_spans, ("auto", "always", "never"))
        self._metrics = check_bool("metrics", metrics)
        self._user_id = check_bool("capture_user_id", capture_user_id)
        self._version = _version()
        self._live: dict[str, Live] = {}
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
    ) -> Live:
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
        span = factory.start(name, kind, attrs, span_id, trace_id, parent, ns(event.timestamp))
        live = Live(span, metric_attrs, event.timestamp)
        self._live[event.run_id] = live
        return live

    @staticmethod
    def _end(span: trace.Span | None, event: Event) -> None:
        if span is not None:
            span.end(ns(event.timestamp))

    @staticmethod
    def _fail(span: trace.Span | None, event: Any) -> None:
        if span is None:
            return
        if span.is_recording():
            kind = error_type(event)
            span.set_attribute(C.ERROR_TYPE, kind)
            error = event.error
            if getattr(event, "cancelled", False):
                span.set_attribute(C.LLMHOOKS_CANCELLED, True)
            code = getattr(event, "error_code", None)
            if code is not None:
                span.set_attribute(C.LLMHOOKS_ERROR_CODE, str(code))
            if isinstance(error, BaseException):
                span.record_exception(error, timestamp=ns(event.timestamp), escaped=True)
            span.set_status(Status(StatusCode.ERROR, event.error_message or kind))
        span.end(ns(event.timestamp))

    def _record(self, histogram: str, value: float | None, attrs: dict[str, Any]) -> None:
        inst = self._meters()
        if inst is None or value is None:
            return
        getattr(inst, histogram).record(value, attrs)

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
