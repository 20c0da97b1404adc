"""Start OpenTelemetry spans whose ids are a run's own ``run_id`` and ``trace_id``.

The SDK's ``Tracer.start_span`` always draws the span id from the provider's id
generator, and replacing that generator would change the ids of every other
instrumentation in the process. So for an SDK tracer, ``SpanFactory.start`` does what
``Tracer.start_span`` does (ask the provider's sampler, build the span, start it so
the span processors see it) with a ``SpanContext`` made of the run's ids. It uses the
tracer's public attributes (``sampler``, ``resource``, ``span_processor``,
``instrumentation_info``) and the SDK's public ``Span`` constructor, so exported spans
go through the user's processors, sampler and resource unchanged.

For any other tracer (a vendor's provider, the API's no-op one) the span is started
the ordinary way under the right parent: trace id and parent are kept, the span id is
the tracer's own (``keeps_ids`` is False).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.util.types import AttributeValue

__all__ = ["RunSpan", "SpanFactory", "hex_id"]

_EMPTY = Context()
_IDS = RandomIdGenerator()
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)


class RunSpan(sdk_trace.Span):
    """An SDK span built with a given ``SpanContext`` (the run's ids).

    The SDK refuses to build its base ``Span`` class directly and makes its own spans
    as a private subclass; this is ours, with the constructor unchanged.
    """


def hex_id(text: str | None, bits: int) -> int:
    """``text`` read as an id of ``bits`` bits, or 0 when it is not one (0 is never valid)."""
    if not text or len(text) != bits // 4:
        return 0
    try:
        return int(text, 16)
    except ValueError:
        return 0


class SpanFactory:
    """Starts spans for one tracer; built once per tracer provider."""

    __slots__ = ("_limits", "_processor", "_resource", "_sampler", "_scope", "keeps_ids", "tracer")

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer
        self.keeps_ids = isinstance(tracer, sdk_trace.Tracer)  # else the tracer draws its own span ids
        if isinstance(tracer, sdk_trace.Tracer):
            self._sampler = tracer.sampler
            self._resource = tracer.resource
            self._processor = tracer.span_processor
            info = tracer.instrumentation_info
            self._scope = InstrumentationScope(info.name, info.version, info.schema_url)
            # the provider's limits (OTEL_SPAN_* read at its creation, or its span_limits=
            # argument) have no public accessor on the tracer: same defaults if missing
            limits: Any = getattr(tracer, "_span_limits", None)
            self._limits = limits if isinstance(limits, sdk_trace.SpanLimits) else sdk_trace.SpanLimits()

    def start(
        self,
        name: str,
        kind: SpanKind,
        attributes: Mapping[str, AttributeValue],
        span_id: int,
        trace_id: int,
        parent: SpanContext | None,
        start_time: int,
    ) -> trace.Span:
        """Start a span, with ``span_id`` as its id when ``keeps_ids`` (and the id is valid).

        ``parent`` is the parent span's context (ours or a foreign one) or None for a
        root; its trace id wins over ``trace_id``, so a tree never spans two traces.
        An id of 0 means "not a valid id": a random one is drawn.
        """
        if parent is not None and parent.is_valid:
            parent_ctx = trace.set_span_in_context(NonRecordingSpan(parent), _EMPTY)
            trace_id = parent.trace_id
        else:
            parent = None
            parent_ctx = _EMPTY  # never the ambient context: the parent was decided by the caller
            if not trace_id:
                trace_id = _IDS.generate_trace_id()
        if not self.keeps_ids:
            return self.tracer.start_span(name, parent_ctx, kind, attributes, start_time=start_time)
        if not span_id:
            span_id = _IDS.generate_span_id()
        result = self._sampler.should_sample(parent_ctx, trace_id, name, kind, attributes)
        decision: Any = result.decision  # the SDK's Decision methods are not annotated
        flags = _SAMPLED if decision.is_sampled() else _NOT_SAMPLED
        context = SpanContext(
            trace_id, span_id, is_remote=False, trace_flags=flags, trace_state=result.trace_state
        )
        if not decision.is_recording():
            return NonRecordingSpan(context)
        span = RunSpan(
            name=name,
            context=context,
            parent=parent,
            sampler=self._sampler,
            resource=self._resource,
            attributes=result.attributes,
            span_processor=self._processor,
            kind=kind,
            limits=self._limits,
            instrumentation_scope=self._scope,
        )
        span.start(start_time=start_time, parent_context=parent_ctx)
        return span
