"""Whether another instrumentation traced an LLM call: a span processor that watches span starts.

In ``llm_spans="auto"`` mode an OpenAI call made while the official OpenAI
instrumentation is active may or may not get that instrumentation's span (it traces
Chat Completions, not the Responses API nor a client whose methods were taken before
it patched them). Such a run is *pending*: its context carries ``PENDING`` (the run's
``Live``), and ``InferenceWatch.on_start`` marks it ``covered`` when another
instrumentation starts a GenAI inference span inside it. At the run's end, a pending
run that nobody covered gets its span after all, back-dated to the run's start.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from llmhooks.handlers.otel import conventions as C

__all__ = ["INFERENCE_OPS", "PENDING", "InferenceWatch"]

PENDING = otel_context.create_key(C.PENDING_CONTEXT_KEY)
INFERENCE_OPS = frozenset({C.OP_CHAT, C.OP_TEXT_COMPLETION, C.OP_GENERATE_CONTENT, C.OP_EMBEDDINGS})


def is_foreign_inference(span: ReadableSpan) -> bool:
    """True for a GenAI inference span that another instrumentation (not llmhooks) made."""
    scope = span.instrumentation_scope
    if scope is not None and scope.name == C.INSTRUMENTATION_NAME:
        return False
    return (span.attributes or {}).get(C.OPERATION_NAME) in INFERENCE_OPS


class InferenceWatch(SpanProcessor):
    """Marks the pending llmhooks LLM run a foreign inference span starts in as covered."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        ctx = parent_context if parent_context is not None else otel_context.get_current()
        live: Any = otel_context.get_value(PENDING, ctx)
        if live is not None and is_foreign_inference(span):
            live.covered = True

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
