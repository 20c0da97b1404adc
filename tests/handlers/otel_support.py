"""A real OpenTelemetry SDK pipeline for the exporter tests: in-memory spans, metrics and logs."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from llmhooks.handlers.otel import OpenTelemetryCallbacks

__all__ = ["Otel"]


class Otel:
    """Providers exporting to memory, and an ``OpenTelemetryCallbacks`` writing to them."""

    def __init__(self, *, sampler: Sampler | None = None, **kwargs: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.tracer_provider.get_tracer("tests")
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.log_exporter = InMemoryLogRecordExporter()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))
        self.callbacks = OpenTelemetryCallbacks(
            self.tracer_provider, self.meter_provider, logger_provider=self.logger_provider, **kwargs
        )

    def close(self) -> None:
        self.callbacks.close()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()

    # spans

    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def names(self) -> list[str]:
        return [s.name for s in self.spans()]

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called ``name``."""
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def of_run(self, run_id: str) -> ReadableSpan:
        """The finished span whose span id is ``run_id``."""
        found = [s for s in self.spans() if s.context is not None and s.context.span_id == int(run_id, 16)]
        assert len(found) == 1, f"{len(found)} spans for run {run_id}"
        return found[0]

    def tree(self) -> list[tuple[int, str]]:
        """(depth, name) of every finished span, parents before children, siblings by start time."""
        spans = sorted(self.spans(), key=lambda s: s.start_time or 0)
        ids = {s.context.span_id for s in spans if s.context is not None}
        out: list[tuple[int, str]] = []

        def walk(parent: int | None, depth: int) -> None:
            for s in spans:
                pid = s.parent.span_id if s.parent is not None else None
                if pid not in ids:
                    pid = None
                if pid == parent:
                    out.append((depth, s.name))
                    assert s.context is not None
                    walk(s.context.span_id, depth + 1)

        walk(None, 0)
        assert len(out) == len(spans), "a span is its own ancestor"
        return out

    # metrics and logs

    def points(self, metric: str) -> list[Any]:
        """The data points of ``metric`` (histogram points carry count, sum, bounds, attributes)."""
        data = self.reader.get_metrics_data()
        out: list[Any] = []
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == metric:
                        out.extend(m.data.data_points)
        return out

    def logs(self) -> list[Any]:
        return [r.log_record for r in self.log_exporter.get_finished_logs()]
