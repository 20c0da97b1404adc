"""Bad figures in events (NaN, infinities, negatives, strings) never poison a handler's totals.

Events are built by hand and emitted through a ``CallbackManager``, as a replayed recording
or a third-party producer would deliver them: the handlers must hold whatever arrives.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from llmhooks import (
    BudgetExceeded,
    CallbackManager,
    CostLimiter,
    CostTracker,
    LLMEndEvent,
    LLMStartEvent,
    MetricsCallbacks,
    RateLimiter,
    TokenCounter,
    ToolEndEvent,
)

from .calls import llm_call

PRICES = {"m": {"input": 1.0, "output": 1.0}}  # $1 per million tokens
BAD = [math.nan, math.inf, -math.inf, -5, "12", True]


def call(manager: CallbackManager, n: int, **end: Any) -> None:
    """One call (start, end) delivered by hand; ``end`` fields go on the end event."""
    run_id = f"{n:016x}"
    manager.emit(LLMStartEvent(run_id=run_id, provider="acme", model="m", prompt="hi", max_tokens=10))
    manager.emit(LLMEndEvent(run_id=run_id, provider="acme", model="m", **end))


def test_one_nan_cost_does_not_disable_a_budget(caplog: pytest.LogCaptureFixture) -> None:
    """finish(cost=nan) once, then 200 calls of $0.01 on a $1 budget: about 100 are refused."""
    limiter = CostLimiter(max_cost=1.0, estimate=0.01, prices=PRICES)
    manager = CallbackManager([limiter])
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        call(manager, 0, cost=math.nan, input_tokens=10_000, output_tokens=0)  # priced instead: $0.01
    refused = 0
    for n in range(1, 201):
        try:
            call(manager, n, cost=0.01)
        except BudgetExceeded:
            refused += 1
    assert math.isfinite(limiter.spent) and limiter.spent <= 1.0 + 1e-9
    assert refused == 101  # 1 (priced) + 99 admitted = $1.00
    assert "CostLimiter ignored cost=nan" in caplog.text


@pytest.mark.parametrize("bad", [math.inf, -1.0, "0.5"])
def test_bad_costs_are_priced_from_tokens_by_the_limiter(bad: object) -> None:
    """An infinite, negative or text cost counts as not reported: the tokens give the cost."""
    limiter = CostLimiter(max_cost=1.0, estimate=0.01, prices=PRICES)
    call(CallbackManager([limiter]), 0, cost=bad, input_tokens=10_000, output_tokens=10_000)
    assert limiter.spent == pytest.approx(0.02)


@pytest.mark.parametrize("bad", [math.nan, -0.01, "cheap"])
def test_estimate_function_giving_a_bad_amount_is_an_unknown_price(
    bad: object, caplog: pytest.LogCaptureFixture
) -> None:
    """estimate= returning NaN, a negative or a non-number: 'block' refuses, 'allow' reserves 0."""
    strict = CostLimiter(max_cost=1.0, estimate=lambda e: bad, prices=PRICES, on_unknown_price="block")
    with pytest.raises(BudgetExceeded, match="unknown"):
        llm_call(strict, model="m")
    lenient = CostLimiter(max_cost=1.0, estimate=lambda e: bad, prices=PRICES)
    reserved: list[float] = []
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        llm_call(lenient, model="m", body=lambda: reserved.append(lenient.reserved))
    assert reserved == [0.0] and math.isfinite(lenient.spent)
    assert "CostLimiter ignored estimate=" in caplog.text


@pytest.mark.parametrize("bad", BAD)
def test_cost_tracker_totals_stay_exact(bad: object, caplog: pytest.LogCaptureFixture) -> None:
    """A bad cost is re-priced from the tokens; a bad count is left out; totals stay finite."""
    tracker = CostTracker(prices=PRICES, use_genai_prices=False)
    manager = CallbackManager([tracker])
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        call(manager, 0, cost=bad, input_tokens=1_000_000, output_tokens=0)
        call(manager, 1, input_tokens=bad, output_tokens=1_000_000)
    assert tracker.total_cost == pytest.approx(2.0)  # $1 priced for each call's good tokens
    assert tracker.total_tokens == 2_000_000
    row = tracker.by_model["m"]
    assert (row["input_tokens"], row["output_tokens"], row["cost"]) == (1_000_000, 1_000_000, 2.0)
    assert "CostTracker ignored" in caplog.text


@pytest.mark.parametrize("bad", BAD)
def test_token_counter_ignores_bad_counts(bad: object, caplog: pytest.LogCaptureFixture) -> None:
    """Every count field: a bad one adds nothing, the good ones still add up."""
    counter = TokenCounter()
    manager = CallbackManager([counter])
    fields = ("input_tokens", "output_tokens", "total_tokens", "cached_input_tokens", "reasoning_tokens")
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        for n, name in enumerate(fields):
            good = dict.fromkeys(fields, 10)
            good[name] = bad
            call(manager, n, **good)
    snap = counter.snapshot()
    assert snap["calls"] == 5
    assert snap["prompt_tokens"] == 40 and snap["completion_tokens"] == 40
    assert snap["cached_tokens"] == 40 and snap["reasoning_tokens"] == 40
    assert snap["total_tokens"] == 4 * 10 + 20  # the call without total_tokens counts input + output
    assert "TokenCounter ignored" in caplog.text


def test_float_counts_are_counted_rounded() -> None:
    """A producer that estimates tokens as floats is still counted (rounded)."""
    counter = TokenCounter()
    call(CallbackManager([counter]), 0, input_tokens=12.4, output_tokens=3.0)
    assert (counter.prompt_tokens, counter.completion_tokens) == (12, 3)


def test_metrics_totals_stay_finite() -> None:
    """NaN tokens, an infinite cost and a negative latency leave MetricsCallbacks' totals exact."""
    metrics = MetricsCallbacks()
    manager = CallbackManager([metrics])
    call(manager, 0, input_tokens=math.nan, output_tokens=5, cost=math.inf, latency_ms=-3.0)
    call(manager, 1, input_tokens=10, output_tokens=5, cost=0.5, latency_ms=100.0)
    manager.emit(ToolEndEvent(tool_name="t", latency_ms=math.nan))
    snap = metrics.snapshot()
    assert snap["tokens"]["input"] == 10 and snap["tokens"]["output"] == 10
    assert snap["cost_usd"] == 0.5
    assert metrics.total_latency_ms == 100.0 and metrics.tool_latency_ms == 0.0
    assert snap["latency_ms"]["count"] == 1


def test_rate_limiter_window_survives_a_nan_total() -> None:
    """A NaN total_tokens keeps the call's estimate in the window instead of poisoning it."""
    limiter = RateLimiter(tokens_per_minute=1_000_000)
    manager = CallbackManager([limiter])
    call(manager, 0, total_tokens=math.nan)
    call(manager, 1, total_tokens=100)
    window = limiter.stats()["window_tokens"]
    assert math.isfinite(window) and window > 100


def test_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    """A producer sending NaN on every call gives one warning, not one per call."""
    counter = TokenCounter()
    manager = CallbackManager([counter])
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        for n in range(50):
            call(manager, n, input_tokens=math.nan, output_tokens=1)
    assert len([r for r in caplog.records if "TokenCounter ignored input_tokens" in r.getMessage()]) == 1
    assert counter.completion_tokens == 50


HUGE = [1e300, 1e308, 10**400]


@pytest.mark.parametrize("huge", HUGE)
def test_huge_costs_never_poison_a_total(huge: object, caplog: pytest.LogCaptureFixture) -> None:
    """finish(cost=1e300) twice (or an int too large for a float): ignored with a warning, priced
    from the tokens instead; every total stays finite and exact."""
    tracker, metrics = CostTracker(prices=PRICES), MetricsCallbacks()
    limiter = CostLimiter(max_cost=1.0, estimate=0.0, prices=PRICES)
    manager = CallbackManager([tracker, limiter, metrics])
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        for n in range(2):
            call(manager, n, cost=huge, input_tokens=10_000, output_tokens=0)  # $0.01 each, from tokens
    assert tracker.total_cost == pytest.approx(0.02)
    assert limiter.spent == pytest.approx(0.02)
    assert metrics.snapshot()["cost_usd"] == pytest.approx(0.02)
    assert "ignored cost=" in caplog.text


def test_huge_token_counts_and_latencies_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    """10**30 tokens or a latency of 1e308 ms is no real call: not counted, and said so."""
    tracker, metrics, counter = CostTracker(prices=PRICES), MetricsCallbacks(), TokenCounter()
    manager = CallbackManager([tracker, metrics, counter])
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        call(manager, 0, input_tokens=10**30, output_tokens=10**30, latency_ms=1e308)
        call(manager, 1, input_tokens=10, output_tokens=5, latency_ms=100.0)
    assert counter.prompt_tokens == 10 and counter.completion_tokens == 5
    assert math.isfinite(tracker.total_cost) and tracker.total_tokens == 15
    snap = metrics.snapshot()
    assert snap["tokens"]["input"] == 10 and snap["latency_ms"]["max"] == pytest.approx(100.0, rel=0.05)
    assert math.isfinite(metrics.total_latency_ms)
    assert "ignored input_tokens=" in caplog.text


def _start(max_tokens: object = None, params: dict[str, object] | None = None) -> LLMStartEvent:
    return LLMStartEvent(provider="acme", model="m", prompt="x" * 30, max_tokens=max_tokens, params=params)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "where"),
    [("10", "field"), ("10", "params"), (10.0, "params"), (" 10 ", "field")],
)
def test_max_tokens_written_as_text_is_read_as_the_number(given: object, where: str) -> None:
    """max_tokens="10" (in the call or its params) estimates as 10: not a crash, not an unknown price."""
    limiter = CostLimiter(max_cost=1.0, prices=PRICES, on_unknown_price="block")
    event = _start(given, None) if where == "field" else _start(None, {"max_tokens": given})
    assert limiter.estimate(event) == pytest.approx((10 + 10) / 1e6)


@pytest.mark.parametrize("given", ["lots", -5, math.nan, True])
def test_unreadable_max_tokens_falls_back_to_the_default_with_a_warning(
    given: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A max_tokens that is no count at all is ignored (logged): default_max_tokens is reserved."""
    limiter = CostLimiter(max_cost=1.0, prices=PRICES, default_max_tokens=100)
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        assert limiter.estimate(_start(given)) == pytest.approx((10 + 100) / 1e6)
    assert "max_tokens" in caplog.text


@pytest.mark.parametrize("given", [10**400, 10**13, 1e300])
def test_huge_max_tokens_reserves_a_bounded_amount_and_is_refused(given: object) -> None:
    """max_tokens=10**400 is capped (an upper bound still): the estimate is finite and over budget,
    and the rate limiter's window stays finite."""
    limiter = CostLimiter(max_cost=1.0, prices=PRICES)
    rate = RateLimiter(tokens_per_minute=1_000_000, max_wait=0)
    amount = limiter.estimate(_start(given))
    assert amount is not None and math.isfinite(amount) and amount > 1.0
    manager = CallbackManager([limiter])
    with pytest.raises(BudgetExceeded):
        manager.emit(_start(given))
    CallbackManager([rate]).emit(_start(given))  # a call bigger than the window goes alone
    assert math.isfinite(rate.stats()["window_tokens"])


def test_prometheus_counters_never_take_a_bad_figure() -> None:
    """NaN tokens, a 1e300 cost and a NaN latency reach no Prometheus counter or histogram."""
    pytest.importorskip("prometheus_client")
    from prometheus_client import CollectorRegistry

    from llmhooks.handlers.prometheus import PrometheusCallbacks

    registry = CollectorRegistry()
    prom = PrometheusCallbacks(registry=registry, health=False)
    manager = CallbackManager([prom])
    call(manager, 0, input_tokens=math.nan, output_tokens=5, cost=1e300, latency_ms=math.nan)
    call(manager, 1, input_tokens=10, output_tokens=5, cost=0.5, latency_ms=100.0)
    value = registry.get_sample_value
    labels = {"provider": "acme", "model": "m"}
    assert value("llmhooks_llm_tokens_total", {**labels, "kind": "input"}) == 10
    assert value("llmhooks_llm_cost_usd_total", labels) == 0.5
    assert value("llmhooks_llm_request_duration_seconds_sum", labels) == pytest.approx(0.1)
    prom.close()
