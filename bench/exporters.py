"""Cost per LLM call of each exporter, as a ratio to doing the same with the library directly.

Run: python bench/exporters.py   (one process, interleaved repeats, medians of CPU time)

- OpenTelemetry: ``with llm_run(...): run.finish(...)`` with ``OpenTelemetryCallbacks``
  against the same work written with the SDK by hand: ``start_as_current_span`` with the
  request attributes, the response attributes set at the end, and the three metric
  records (duration, input and output tokens). Both use one ``TracerProvider`` with a
  ``BatchSpanProcessor`` whose exporter drops spans, and one ``MeterProvider`` with a reader.
- Prometheus: the same call with ``PrometheusCallbacks`` against the same counters and
  histogram updated by hand with ``.labels(...)``.

Two ratios to the library's work alone ("direct"):

- exporter layer: the call with the exporter minus the same call with a handler that does
  nothing (the run machinery every handler pays for, measured in the same run: events,
  redaction, dispatch; see ``bench/runs.py``). Target: at most 1.20.
- whole call: the call with the exporter, over direct (shown, no target: for Prometheus
  the library's own work is a few microseconds, less than a run's own cost).

Timed with the calling thread's CPU time (``time.thread_time_ns``), so the span
processor's export thread counts on neither side.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry, Counter, Histogram

import llmhooks
from llmhooks import CallbackManager, Callbacks, LLMEndEvent, LLMStartEvent, llm_run
from llmhooks.handlers.otel import OpenTelemetryCallbacks
from llmhooks.handlers.otel import conventions as C
from llmhooks.handlers.prometheus import LATENCY_BUCKETS, PrometheusCallbacks

REPEATS = 15
N = 2_000
TARGET = 1.20
MSGS = [{"role": "user", "content": "What is the capital of France?"}]


class Nothing(Callbacks):
    """A handler that takes the start and end events and does nothing with them."""

    def on_llm_start(self, event: LLMStartEvent) -> None:
        pass

    def on_llm_end(self, event: LLMEndEvent) -> None:
        pass


class Drop(SpanExporter):
    """An exporter that accepts and forgets spans."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def otel_providers() -> tuple[TracerProvider, MeterProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Drop(), max_queue_size=100_000))
    return tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()])


def otel_direct(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Callable[[], None]:
    """The same span and metrics written with the SDK by hand."""
    tracer = tracer_provider.get_tracer("bench.direct")
    meter = meter_provider.get_meter("bench.direct")
    duration = meter.create_histogram(
        C.METRIC_OPERATION_DURATION, unit="s", explicit_bucket_boundaries_advisory=list(C.DURATION_BUCKETS)
    )
    tokens = meter.create_histogram(
        C.METRIC_TOKEN_USAGE, unit="{token}", explicit_bucket_boundaries_advisory=list(C.TOKEN_BUCKETS)
    )

    def call() -> None:
        attrs = {C.OPERATION_NAME: "chat", C.PROVIDER_NAME: "openai", C.REQUEST_MODEL: "gpt-4o"}
        t0 = time.perf_counter()
        with tracer.start_as_current_span(
            "chat gpt-4o", kind=SpanKind.CLIENT, attributes={**attrs, C.REQUEST_MAX_TOKENS: 256}
        ) as span:
            span.set_attributes(
                {
                    C.RESPONSE_MODEL: "gpt-4o",
                    C.RESPONSE_FINISH_REASONS: ["stop"],
                    C.USAGE_INPUT_TOKENS: 14,
                    C.USAGE_OUTPUT_TOKENS: 3,
                }
            )
            # recorded while the span is current, as the exporter does: exemplars link to it
            duration.record(time.perf_counter() - t0, attrs)
            tokens.record(14, {**attrs, C.TOKEN_TYPE: "input"})
            tokens.record(3, {**attrs, C.TOKEN_TYPE: "output"})

    return call


def via_llmhooks(manager: CallbackManager) -> Callable[[], None]:
    def call() -> None:
        with llm_run(
            provider="openai", model="gpt-4o", messages=MSGS, max_tokens=256, callbacks=manager
        ) as run:
            run.finish(response="Paris.", input_tokens=14, output_tokens=3, finish_reason="stop")

    return call


def prometheus_direct(registry: CollectorRegistry) -> Callable[[], None]:
    """The same counters and histogram updated by hand, the way prometheus-client is used."""
    requests = Counter("direct_llm_requests", "", ["provider", "model", "outcome"], registry=registry)
    tokens = Counter("direct_llm_tokens", "", ["provider", "model", "kind"], registry=registry)
    latency = Histogram(
        "direct_llm_request_duration_seconds",
        "",
        ["provider", "model"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )

    def call() -> None:
        t0 = time.perf_counter()
        requests.labels("openai", "gpt-4o", "success").inc()
        tokens.labels("openai", "gpt-4o", "input").inc(14)
        tokens.labels("openai", "gpt-4o", "output").inc(3)
        latency.labels("openai", "gpt-4o").observe(time.perf_counter() - t0)

    return call


def per_call_ns(fn: Callable[[], None], n: int = N) -> float:
    t0 = time.thread_time_ns()
    for _ in range(n):
        fn()
    return (time.thread_time_ns() - t0) / n


def run_cases(cases: dict[str, Callable[[], None]]) -> dict[str, float]:
    for fn in cases.values():  # warm up caches, lazy imports, label children
        per_call_ns(fn, 200)
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(REPEATS):
        for name, fn in cases.items():
            results[name].append(per_call_ns(fn))
    return {name: statistics.median(values) for name, values in results.items()}


def main() -> None:
    tracer_provider, meter_provider = otel_providers()
    otel = OpenTelemetryCallbacks(tracer_provider, meter_provider)
    registry = CollectorRegistry()
    prom = PrometheusCallbacks(registry, health=False)
    cases: dict[str, Callable[[], None]] = {
        "otel direct": otel_direct(tracer_provider, meter_provider),
        "otel llmhooks": via_llmhooks(CallbackManager([otel])),
        "prometheus direct": prometheus_direct(registry),
        "prometheus llmhooks": via_llmhooks(CallbackManager([prom])),
        "run, no-op handler": via_llmhooks(CallbackManager([Nothing()])),
    }
    medians = run_cases(cases)
    otel.close()
    prom.close()
    tracer_provider.shutdown()

    run = medians["run, no-op handler"]
    print(f"llmhooks {llmhooks.__version__} exporter benchmark, python {sys.version.split()[0]}")
    print(
        f"per non-streaming LLM call, median of {REPEATS} interleaved repeats of {N} calls (thread CPU time)"
    )
    print(f"llm_run with a no-op handler (a run's own cost, inside 'via llmhooks'): {run / 1000:.2f} us")
    print()
    head = ("exporter", "direct", "via llmhooks", "layer", "layer/direct", "target", "whole/direct")
    print(
        f"{head[0]:<15}"
        + "".join(f"{h:>{w}}" for h, w in zip(head[1:], (11, 14, 11, 14, 9, 14), strict=True))
    )
    failed = False
    for name, label in (("otel", "OpenTelemetry"), ("prometheus", "Prometheus")):
        direct, ours = medians[f"{name} direct"], medians[f"{name} llmhooks"]
        layer = ours - run
        ok = layer / direct <= TARGET
        failed |= not ok
        print(
            f"{label:<15}{direct / 1000:>8.2f} us{ours / 1000:>11.2f} us{layer / 1000:>8.2f} us"
            f"{layer / direct:>14.2f}{'<= ' + format(TARGET, '.2f'):>9}{ours / direct:>14.2f}"
            f"{'' if ok else '  MISSED'}"
        )
    if failed:
        print("\na target was missed")


if __name__ == "__main__":
    main()
