"""The GenAI client metrics, with the conventions' bucket boundaries, for one meter provider."""

from __future__ import annotations

from opentelemetry import metrics

from llmhooks.handlers.otel import conventions as C

__all__ = ["Instruments"]


class Instruments:
    """The histograms llmhooks records: token usage, operation duration, time to first chunk, MCP."""

    __slots__ = ("duration", "mcp_duration", "mcp_session", "provider", "tokens", "ttfc")

    def __init__(self, provider: metrics.MeterProvider, version: str) -> None:
        self.provider = provider
        meter = provider.get_meter(C.INSTRUMENTATION_NAME, version, schema_url=C.SCHEMA_URL)
        self.tokens = meter.create_histogram(
            C.METRIC_TOKEN_USAGE,
            unit=C.UNIT_TOKEN,
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(C.TOKEN_BUCKETS),
        )
        self.duration = meter.create_histogram(
            C.METRIC_OPERATION_DURATION,
            unit=C.UNIT_SECONDS,
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(C.DURATION_BUCKETS),
        )
        self.ttfc = meter.create_histogram(
            C.METRIC_TIME_TO_FIRST_CHUNK,
            unit=C.UNIT_SECONDS,
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=list(C.DURATION_BUCKETS),
        )
        self.mcp_duration = meter.create_histogram(
            C.METRIC_MCP_OPERATION_DURATION,
            unit=C.UNIT_SECONDS,
            description="Duration of an MCP request as seen by the client.",
            explicit_bucket_boundaries_advisory=list(C.DURATION_BUCKETS),
        )
        self.mcp_session = meter.create_histogram(
            C.METRIC_MCP_SESSION_DURATION,
            unit=C.UNIT_SECONDS,
            description="Duration of an MCP session as seen by the client.",
        )
