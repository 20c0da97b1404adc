"""Voice works for the handlers built for chat: OpenTelemetry spans, Prometheus metrics, cost and budgets.

A realtime session through the official SDK against the demo server, with the project's
own exporters attached as they are for chat calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from prometheus_client import CollectorRegistry
from tests.handlers.otel_support import Otel

from llmhooks import CostLimiter, CostTracker, instrument_openai
from llmhooks.demo_servers.realtime import RealtimeDemoServer
from llmhooks.errors import BudgetExceeded
from llmhooks.handlers.prometheus import PrometheusCallbacks

MODEL = "gpt-realtime"
PRICES = {MODEL: {"input": 4.0, "output": 16.0, "cached_input": 0.4}}  # USD per million tokens


@pytest.fixture(scope="module")
def server() -> Iterator[RealtimeDemoServer]:
    with RealtimeDemoServer() as srv:
        yield srv


async def one_response(server: RealtimeDemoServer, handlers: list[Any], **turn: Any) -> None:
    server.reply("Hello there", **turn)
    client = instrument_openai(
        openai.AsyncOpenAI(api_key="sk-test", websocket_base_url=server.url), callbacks=handlers
    )
    async with client.realtime.connect(model=MODEL) as conn:
        await conn.response.create()
        async for event in conn:
            if event.type == "response.done":
                break


async def test_opentelemetry_spans_a_session_and_its_response(server: RealtimeDemoServer) -> None:
    """A chain span for the session and a GenAI ``chat`` span for the response under it, with usage."""
    otel = Otel()
    try:
        await one_response(server, [otel.callbacks], input_tokens=40, cached_tokens=8)
        chat, session = otel.span(f"chat {MODEL}"), otel.span("chain openai.realtime")
        assert chat.parent is not None and chat.parent.span_id == session.context.span_id
        attrs = dict(chat.attributes or {})
        assert (attrs["gen_ai.provider.name"], attrs["gen_ai.request.stream"]) == ("openai", True)
        assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (40, 20)
        assert attrs["gen_ai.usage.cache_read.input_tokens"] == 8
        assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
        assert "gen_ai.response.time_to_first_chunk" in attrs
    finally:
        otel.close()


async def test_prometheus_counts_voice_responses(server: RealtimeDemoServer) -> None:
    """Requests, tokens by kind and duration, labelled by provider and model as for chat."""
    registry = CollectorRegistry()
    prom = PrometheusCallbacks(registry)
    try:
        await one_response(server, [prom], input_tokens=30, cached_tokens=5)
        labels = {"provider": "openai", "model": MODEL}
        assert registry.get_sample_value("llmhooks_llm_requests_total", {**labels, "outcome": "success"}) == 1
        assert registry.get_sample_value("llmhooks_llm_tokens_total", {**labels, "kind": "input"}) == 30
        assert registry.get_sample_value("llmhooks_llm_tokens_total", {**labels, "kind": "cached_input"}) == 5
        assert registry.get_sample_value("llmhooks_llm_request_duration_seconds_count", labels) == 1
    finally:
        prom.close()


async def test_cost_is_priced_and_a_budget_refuses_the_next_response(server: RealtimeDemoServer) -> None:
    """``CostTracker`` prices a voice response; a spent ``CostLimiter`` refuses the next one."""
    tracker = CostTracker(prices=PRICES, use_genai_prices=False)
    million_in = {"input_tokens": 1_000_000, "output_tokens": 0}
    await one_response(server, [tracker], **million_in)
    assert tracker.total_cost == pytest.approx(4.0)
    limiter = CostLimiter(max_cost=1.0, prices=PRICES)
    await one_response(server, [limiter], **million_in)  # spends 4 USD of a 1 USD budget
    with pytest.raises(BudgetExceeded):
        await one_response(server, [limiter])
