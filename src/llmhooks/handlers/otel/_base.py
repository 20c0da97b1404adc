"""The plumbing of the OpenTelemetry exporter: the span of each run by run id, providers, metrics."""

from __future__ import annotations

import atexit
import time
import weakref
from typing import Any, Literal

from opentelemetry import metrics, trace
from opentelemetry._logs import Logger, LoggerProvider
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from llmhooks._validate import check_bool, check_choice, check_methods
from llmhooks.core import add_run_scope, remove_run_scope
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import Event
from llmhooks.handlers.otel import conventions as C
from llmhooks.handlers.otel._content import capture_mode
from llmhooks.handlers.otel._end_only import START_METHODS, start_of
from llmhooks.handlers.otel._metrics import Instruments
from llmhooks.handlers.otel._scope import SpanScope
from llmhooks.handlers.otel._spans import SpanFactory, hex_id

__all__ = ["LLMSpanMode", "Live", "SpanHandler", "error_type", "ns", "provider_name"]

LLMSpanMode = Literal["auto", "always", "never"]
_NOT_ENDED = "llmhooks: the run had not ended when the handler closed (or the interpreter exited)"
_MAX_DEPTH = 32
_MAX_TOLD = 4096
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)  # run levels searched upwards for the agent of a model call


def _version() -> str:
    from llmhooks._version import __version__

    return __version__


def ns(timestamp: float) -> int:
    return int(timestamp * 1e9)


class Live:
    """A run in progress: its span (None when left to another instrumentation) and metric attributes."""

    __slots__ = (
        "attrs", "covered", "inputs", "mcp", "parent", "pending", "span", "start", "stream", "system",
        "wants_provider",
    )  # fmt: skip

    def __init__(
        self, span: trace.Span | None, attrs: dict[str, Any], start: float, parent: str | None = None
    ) -> None:
        self.span = span
        self.attrs = attrs
        self.start = start
        self.parent = parent  # the parent run's id
        self.inputs: Any = None  # input messages, kept for the details event
        self.system: Any = None  # system instructions, kept for the details event
        self.stream = False
        self.mcp = False
        self.wants_provider = False  # an agent whose provider its first model call will tell
        self.pending: Any = None  # the start event of an LLM run waiting to see who traces it
        self.covered = False  # set by the span watch: another instrumentation traced the call


def provider_name(provider: str | None) -> str:
    """``gen_ai.provider.name`` for an llmhooks provider name (well-known values mapped)."""
    return C.PROVIDER_NAMES.get(provider or "", provider or "")


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
        end_only: bool = False,
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
        self.end_only = check_bool("end_only", end_only)
        self._told: dict[str, str] = {}  # end-only: agent run id -> provider of a model call in it
        self._version = _version()
        self._live: dict[str, Live] = {}
        self._transports: dict[str, str] = {}
        self._factory: SpanFactory | None = None
        self._factory_of: object = None
        self._at_exit = False
        self._watched: object = None  # the tracer provider the span watch was added to
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

    def _spans_provider(self) -> trace.TracerProvider:
        return self._tracer_provider or trace.get_tracer_provider()

    def _spans(self) -> SpanFactory:
        provider = self._spans_provider()
        factory = self._factory
        if factory is None or self._factory_of is not provider:
            tracer = provider.get_tracer(C.INSTRUMENTATION_NAME, self._version, schema_url=C.SCHEMA_URL)
            factory = self._factory = SpanFactory(tracer)
            self._factory_of = provider
            if not self._at_exit:
                # registered once a provider exists, so after its own exit hook: this one runs
                # first (atexit runs hooks last-in first-out) and the provider still exports
                self._at_exit = True
                atexit.register(_close_at_exit, weakref.ref(self))
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
        remote = hex_id(parent_id, 64) if self.end_only else 0
        if parent_live is not None and parent_live.span is not None:
            parent = parent_live.span.get_span_context()
        elif remote and hex_id(event.trace_id, 128):  # end-only: the parent's span, by its id
            parent = SpanContext(hex_id(event.trace_id, 128), remote, True, _SAMPLED)
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
        live = Live(span, metric_attrs, event.timestamp, parent_id)
        self._live[event.run_id] = live
        return live

    def _take(self, event: Event) -> Live | None:
        """The run of a terminal event, no longer open; in end-only mode made from the event."""
        live = self._live.pop(event.run_id, None)
        if live is None and self.end_only:
            start = start_of(event)
            if start is not None:
                getattr(self, START_METHODS[type(start)])(start)
                live = self._live.pop(event.run_id, None)
        return live

    def _tell_agent(self, parent_id: str | None, provider: str) -> None:
        """Give the nearest agent run above a model call that call's provider, if it has none."""
        if self.end_only:  # the agent's end comes later: remembered for it
            if parent_id is not None:
                if len(self._told) >= _MAX_TOLD:
                    self._told.clear()
                self._told.setdefault(parent_id, provider)
            return
        for _ in range(_MAX_DEPTH):
            live = self._live.get(parent_id) if parent_id else None
            if live is None:
                return
            if live.wants_provider:
                live.wants_provider = False
                live.attrs[C.PROVIDER_NAME] = provider
                if live.span is not None and live.span.is_recording():
                    live.span.set_attribute(C.PROVIDER_NAME, provider)
                return
            parent_id = live.parent

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

        Spans ended here (a run whose end this handler will never see: removed from its
        manager mid-run, or still running when the interpreter exits, which calls this)
        carry ``llmhooks.incomplete=True`` and an ERROR status saying so; the tracer
        provider is then flushed, so they are exported, not lost.
        """
        remove_run_scope(self.scope)
        now = time.time_ns()
        ended = False
        while self._live:
            try:
                _, live = self._live.popitem()
            except KeyError:
                break
            span = live.span
            if span is not None and span.is_recording():
                span.set_attribute(C.LLMHOOKS_INCOMPLETE, True)
                span.set_status(Status(StatusCode.ERROR, _NOT_ENDED))
                span.end(now)
                ended = True
        provider = self._factory_of
        flush = getattr(provider, "force_flush", None)
        if ended and callable(flush):
            flush()


def _close_at_exit(ref: weakref.ReferenceType[SpanHandler]) -> None:
    """At interpreter exit: end and export the spans of a handler's runs still open."""
    handler = ref()
    if handler is not None:
        handler.close()
