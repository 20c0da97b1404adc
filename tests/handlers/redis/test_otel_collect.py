"""OpenTelemetry spans and metrics made in collectors, from events shipped through a real Redis.

Several collectors share one consumer group, so a run's start and end can land in
different collectors; a shipper may also send terminal events only. In end-only mode
each collector's ``OpenTelemetryCallbacks`` makes every span from the terminal event,
so the trace is whole whichever collector took what.
"""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra")

from tests.handlers.otel_support import Otel

from llmhooks import Agent, flush
from llmhooks.handlers.collector import Collector
from llmhooks.handlers.otel import OpenTelemetryCallbacks
from llmhooks.handlers.otel import conventions as C
from llmhooks.handlers.redis import RedisStreamConsumer, RedisStreamShipper
from llmhooks.testing import RecordingCallbacks

TERMINAL = ["llm.end", "llm.error", "tool.end", "tool.error", "agent.end", "agent.error"]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def produce(url: str, stream: str, *, types: list[str] | None = None) -> tuple[Otel, RecordingCallbacks]:
    """An agent run with a tool call, traced in process (the reference) and shipped to ``stream``."""
    here, truth = Otel(), RecordingCallbacks()
    shipper = RedisStreamShipper(url, stream=stream, types=types)
    Agent(name="calc", tools=[add], callbacks=[here.callbacks, truth, shipper]).run("add 2 and 3 please")
    assert flush(10)
    here.close()
    return here, truth


def shape(otel: Otel) -> list[tuple[str, str, str | None, tuple[tuple[str, object], ...]]]:
    """(span id, name, parent id, conventions attributes) of every span: what a backend shows."""
    out = []
    for span in otel.spans():
        assert span.context is not None
        attrs = tuple(sorted((k, v) for k, v in (span.attributes or {}).items() if k.startswith("gen_ai.")))
        parent = f"{span.parent.span_id:016x}" if span.parent is not None else None
        out.append((f"{span.context.span_id:016x}", span.name, parent, attrs))
    return sorted(out)


def collect(url: str, stream: str, otel: Otel, takes: list[int | None], *, end_only: bool) -> None:
    """Collectors in one group, one after another, each taking ``takes[i]`` entries (None: the rest)."""
    for i, take in enumerate(takes):
        handler = OpenTelemetryCallbacks(otel.tracer_provider, otel.meter_provider, end_only=end_only)
        consumer = RedisStreamConsumer(url, stream=stream, group="otel", consumer=f"c{i}")
        collector = Collector(consumer, [handler], batch_size=1, block=0.05)
        collector.run(idle_exit=0.3, max_events=take)
        handler.close()


def test_several_collectors_in_end_only_mode_rebuild_the_whole_trace(redis_url: str) -> None:
    """Starts in one collector, ends in another: the same spans, ids, parents and attributes."""
    here, truth = produce(redis_url, "s")
    assert len(truth.events) >= 8
    there = Otel()
    try:
        collect(redis_url, "s", there, [3, 3, None], end_only=True)
        assert shape(there) == shape(here)
        assert {s.name for s in there.spans()} >= {"invoke_agent calc", "execute_tool add"}
        for span in there.spans():  # nothing ended by close(): every span came from its end
            assert C.LLMHOOKS_INCOMPLETE not in (span.attributes or {})
        # metrics: every model call and tool counted once, across the collectors
        calls = sum(p.count for p in there.points(C.METRIC_OPERATION_DURATION))
        assert calls == sum(p.count for p in here.points(C.METRIC_OPERATION_DURATION))
        tokens = sum(p.sum for p in there.points(C.METRIC_TOKEN_USAGE))
        assert tokens == sum(p.sum for p in here.points(C.METRIC_TOKEN_USAGE)) > 0
    finally:
        there.close()


def test_without_end_only_split_runs_are_lost_or_left_open(redis_url: str) -> None:
    """The default mode needs a run's start and end in one handler: split, spans go missing."""
    here, _ = produce(redis_url, "s")
    there = Otel()
    try:
        collect(redis_url, "s", there, [3, 3, None], end_only=False)
        assert len(there.spans()) < len(here.spans()) or any(
            (s.attributes or {}).get(C.LLMHOOKS_INCOMPLETE) for s in there.spans()
        )
    finally:
        there.close()


def test_a_shipper_sending_terminal_events_only_still_gives_every_span(redis_url: str) -> None:
    """``types=`` terminal events only (a third of the traffic): the spans are all there."""
    here, _ = produce(redis_url, "t", types=TERMINAL)
    there = Otel()
    try:
        collect(redis_url, "t", there, [None], end_only=True)
        assert shape(there) == shape(here)
    finally:
        there.close()
