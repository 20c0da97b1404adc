"""CostLimiter: calls refused before they are made, reservations, per-user budgets, concurrency."""

from __future__ import annotations

import asyncio
import logging
import math
import threading

import pytest

from llmhooks import BudgetExceeded, CostLimiter, CostTracker, LLMEndEvent, callbacks_context, run_context
from llmhooks.testing import RecordingCallbacks

from .calls import allm_call, in_tasks, in_threads, llm_call

PRICES = {"m": {"input": 1.0, "output": 1.0}}  # $1 per million tokens either way: easy sums


def test_call_over_budget_is_refused_before_it_is_made() -> None:
    """The block never runs; BudgetExceeded says limit and spent; the refused run ends in an error event."""
    limiter = CostLimiter(max_cost=0.015, estimate=0.01, prices=PRICES)
    rec = RecordingCallbacks()
    ran: list[int] = []
    llm_call([limiter, rec], model="m", input_tokens=10_000, output_tokens=0)  # spends $0.01
    with pytest.raises(BudgetExceeded) as info:
        llm_call([limiter, rec], model="m", body=lambda: ran.append(1))
    assert ran == []
    assert info.value.limit == 0.015
    assert info.value.spent == pytest.approx(0.01)
    assert info.value.user_id is None
    assert rec.types() == ["llm.start", "llm.end", "llm.error"]  # rec comes after the limiter
    assert rec.events[-1].error_type == "BudgetExceeded"
    assert limiter.in_flight == 0


def test_reservation_settles_to_real_cost() -> None:
    """After a call, spent is its real cost and nothing stays reserved."""
    limiter = CostLimiter(max_cost=1.0, prices=PRICES)
    seen: list[float] = []
    llm_call(
        [limiter],
        model="m",
        max_tokens=1000,
        input_tokens=20_000,
        output_tokens=5_000,
        body=lambda: seen.append(limiter.reserved),
    )
    assert seen[0] > 0
    assert limiter.spent == pytest.approx(0.025)
    assert limiter.reserved == 0.0
    assert limiter.remaining == pytest.approx(0.975)


def test_failed_call_releases_its_reservation() -> None:
    """An LLM error gives the reservation back and spends nothing."""
    limiter = CostLimiter(max_cost=1.0, estimate=0.5, prices=PRICES)

    def fail() -> None:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        llm_call(limiter, model="m", body=fail)
    assert (limiter.spent, limiter.reserved, limiter.in_flight) == (0.0, 0.0, 0)


def test_estimate_uses_prompt_and_max_tokens_from_price_table() -> None:
    """The built-in estimate prices the prompt and max_tokens with the same table as CostTracker."""
    limiter = CostLimiter(max_cost=2.0, prices=PRICES)
    seen: list[float] = []
    llm_call(
        limiter,
        model="m",
        max_tokens=1_000_000,
        messages=[{"role": "user", "content": "x" * 300}],
        body=lambda: seen.append(limiter.reserved),
    )
    assert seen[0] == pytest.approx((100 + 4 + 1_000_000) / 1e6)


def test_uses_cost_from_a_tracker_registered_before_it() -> None:
    """With CostTracker first, the limiter settles on event.cost (genai-prices)."""
    pytest.importorskip("genai_prices")
    tracker, limiter = CostTracker(), CostLimiter(max_cost=1.0)
    llm_call([tracker, limiter], model="gpt-4o", max_tokens=200, input_tokens=1_000, output_tokens=100)
    assert limiter.spent == pytest.approx(tracker.total_cost)


def test_per_user_budget_through_run_context() -> None:
    """Each user_id has its own budget; one user running out does not stop another."""
    limiter = CostLimiter(per_user=0.025, user_limits={"vip": 1.0}, estimate=0.01, prices=PRICES)
    with run_context(user_id="alice"):
        llm_call(limiter, model="m", input_tokens=10_000, output_tokens=0)
        llm_call(limiter, model="m", input_tokens=10_000, output_tokens=0)
        with pytest.raises(BudgetExceeded) as info:
            llm_call(limiter, model="m")
    assert info.value.user_id == "alice" and info.value.limit == 0.025
    with run_context(user_id="bob"):
        llm_call(limiter, model="m", input_tokens=10_000, output_tokens=0)
    with run_context(user_id="vip"):
        for _ in range(5):
            llm_call(limiter, model="m", input_tokens=10_000, output_tokens=0)
    assert limiter.spent_by("alice") == pytest.approx(0.02)
    assert limiter.remaining_for("bob") == pytest.approx(0.015)
    assert limiter.remaining_for("vip") == pytest.approx(0.95)
    llm_call(limiter, model="m")  # no user id: no per-user budget, no global one
    assert limiter.remaining is None


def test_unknown_price_is_allowed_or_blocked(caplog: pytest.LogCaptureFixture) -> None:
    """on_unknown_price='allow' lets an unpriced model through (logged once); 'block' refuses it."""
    allow = CostLimiter(max_cost=1.0, prices=PRICES)
    with caplog.at_level(logging.WARNING, logger="llmhooks.cost"):
        llm_call(allow, provider="acme", model="unpriced")
        llm_call(allow, provider="acme", model="unpriced")
    assert allow.spent == 0.0
    assert len([r for r in caplog.records if "unpriced" in r.getMessage()]) == 1
    block = CostLimiter(max_cost=1.0, prices=PRICES, on_unknown_price="block")
    with pytest.raises(BudgetExceeded, match="unknown"):
        llm_call(block, provider="acme", model="unpriced")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_cost": -1}, "max_cost must be >= 0, got -1"),
        ({}, "needs a budget"),
        ({"per_user": "lots"}, r"per_user must be a number or None, got 'lots' \(str\)"),
        ({"max_cost": 1, "on_unknown_price": "maybe"}, "on_unknown_price"),
        ({"max_cost": math.nan}, "max_cost must be a finite number, got nan"),
        ({"max_cost": math.inf}, "max_cost must be a finite number, got inf"),
        ({"max_cost": 1, "estimate": math.nan}, "estimate must be a finite number, got nan"),
        ({"max_cost": 1, "estimate": -0.01}, "estimate must be >= 0, got -0.01"),
        ({"max_cost": 1, "estimate": "cheap"}, "estimate .* must be callable, got 'cheap'"),
        ({"max_cost": 1, "default_max_tokens": "512"}, "default_max_tokens must be an integer, got '512'"),
        ({"max_cost": 1, "default_max_tokens": -1}, "default_max_tokens must be >= 0"),
        ({"user_limits": {"u": math.nan}}, r"user_limits\['u'\] must be a finite number"),
        ({"user_limits": [("u", 1)]}, "user_limits must be a dict"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs: dict[str, object], message: str) -> None:
    """Bad budgets are refused when the limiter is built, naming the argument, the value and the rule."""
    with pytest.raises((ValueError, TypeError), match=message):
        CostLimiter(prices=PRICES, **kwargs)  # type: ignore[arg-type]


def test_reset_forgets_spending() -> None:
    """reset() sets spending back to zero."""
    limiter = CostLimiter(max_cost=0.01, estimate=0.01, prices=PRICES)
    llm_call(limiter, model="m", input_tokens=10_000, output_tokens=0)
    with pytest.raises(BudgetExceeded):
        llm_call(limiter, model="m")
    limiter.reset()
    llm_call(limiter, model="m")


def test_50_concurrent_threads_never_overspend() -> None:
    """50 calls at once in threads: exactly as many as fit are admitted; spent stays under the limit."""
    limiter = CostLimiter(max_cost=0.20, prices=PRICES)  # each call reserves ~$0.0101
    attempts = 0
    lock = threading.Lock()
    all_tried = threading.Event()

    def tried() -> None:
        nonlocal attempts
        with lock:
            attempts += 1
            if attempts == 50:
                all_tried.set()

    def hold() -> None:
        tried()
        all_tried.wait(10)

    def call(i: int) -> str:
        try:
            return llm_call(
                limiter,
                model="m",
                max_tokens=10_000,
                input_tokens=50,
                output_tokens=9_000,
                body=hold,
            )
        except BudgetExceeded:
            tried()
            raise

    results = in_threads(50, call)
    admitted = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(admitted) + len(refused) == 50
    assert len(admitted) == 19  # floor(0.20 / 0.010101...): every reservation was in flight at once
    assert limiter.spent <= limiter.max_cost
    assert limiter.spent == pytest.approx(19 * 9_050 / 1e6)
    assert limiter.in_flight == 0 and limiter.reserved == 0.0


async def test_50_concurrent_tasks_never_overspend() -> None:
    """50 calls at once as tasks: the same guarantee in async code."""
    limiter = CostLimiter(max_cost=0.10, estimate=0.01, prices=PRICES)
    attempts = 0
    all_tried = asyncio.Event()

    def tried() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 50:
            all_tried.set()

    async def hold() -> None:
        tried()
        await asyncio.wait_for(all_tried.wait(), 10)

    async def call(i: int) -> str:
        try:
            return await allm_call(limiter, model="m", input_tokens=5_000, output_tokens=4_000, body=hold)
        except BudgetExceeded:
            tried()
            raise

    results = await in_tasks(50, call)
    admitted = [r for r in results if isinstance(r, str)]
    assert len(admitted) == 10
    assert sum(isinstance(r, BudgetExceeded) for r in results) == 40
    assert limiter.spent == pytest.approx(10 * 0.009)
    assert limiter.spent <= limiter.max_cost


def test_budget_is_checked_per_user_concurrently() -> None:
    """Concurrent calls of two users each stay within that user's budget."""
    limiter = CostLimiter(per_user=0.05, estimate=0.01, prices=PRICES)
    rec = RecordingCallbacks()

    def call(i: int) -> str:
        with run_context(user_id=f"user{i % 2}"):
            return llm_call([limiter, rec], model="m", input_tokens=10_000, output_tokens=0)

    with callbacks_context([]):
        results = in_threads(50, call)
    assert sum(isinstance(r, str) for r in results) == 10
    assert limiter.spent_by("user0") <= 0.05 + 1e-12 and limiter.spent_by("user1") <= 0.05 + 1e-12
    assert len(rec.of_type(LLMEndEvent)) == 10


def test_failing_estimate_follows_the_unknown_price_policy() -> None:
    """An estimate= that raises is treated as an unknown cost: 'block' refuses the call."""

    def broken(event: object) -> float:
        raise KeyError("no such tier")

    strict = CostLimiter(max_cost=1.0, estimate=broken, prices=PRICES, on_unknown_price="block")
    with pytest.raises(BudgetExceeded, match="unknown"):
        llm_call(strict, model="m")
    llm_call(CostLimiter(max_cost=1.0, estimate=broken, prices=PRICES), model="m")  # 'allow' lets it through


def test_streams_stopped_early_still_count_against_the_budget() -> None:
    """A stream cut short reports no usage: its reservation stays spent, so the cap still holds."""
    from llmhooks import CostLimiter, llm_run
    from llmhooks.errors import BudgetExceeded

    limiter = CostLimiter(max_cost=0.05, prices={"m": {"input": 10.0, "output": 30.0}})
    admitted = 0
    for _ in range(20):
        try:
            with llm_run(
                model="m", prompt="x" * 4000, max_tokens=1000, streaming=True, callbacks=limiter
            ) as run:
                admitted += 1
                run.token("partial")
                run.finish(incomplete=True)  # the consumer stopped: no usage known
        except BudgetExceeded:
            pass
    assert 0 < admitted < 20
    assert limiter.spent <= 0.05 + 1e-9 and limiter.spent > 0


def test_cost_of_a_call_with_no_usage_is_unknown_not_zero() -> None:
    """CostTracker counts a call without token counts as unpriced, never as $0."""
    from llmhooks import CostTracker, llm_run

    tracker = CostTracker(prices={"m": {"input": 1.0, "output": 1.0}}, use_genai_prices=False)
    with llm_run(model="m", callbacks=tracker) as run:
        run.finish(response="x")
    assert tracker.unpriced_count == 1 and tracker.total_cost == 0.0


STREAM_PRICES = {"m": {"input": 10.0, "output": 30.0}}


def _stream(limiter: CostLimiter, tokens: list[str]) -> None:
    """A streamed call that fails after ``tokens``."""
    from llmhooks import llm_run

    with (
        pytest.raises(ConnectionError),
        llm_run(model="m", prompt="x" * 3000, max_tokens=1000, streaming=True, callbacks=limiter) as run,
    ):
        for token in tokens:
            run.token(token)
        raise ConnectionError("stream cut")


def test_failed_stream_is_charged_what_it_produced(caplog: pytest.LogCaptureFixture) -> None:
    """Cut after 4 tokens: charged the prompt and 4 tokens (estimated, logged), not the whole reservation."""
    limiter = CostLimiter(max_cost=1.0, prices=STREAM_PRICES)
    with caplog.at_level(logging.INFO, logger="llmhooks.cost"):
        _stream(limiter, ["Once", " upon", " a", " time"])
    prompt_tokens = 1000  # 3,000 characters at three per token
    produced = 6  # 16 characters at three per token, rounded up (more than the 4 deltas)
    assert limiter.spent == pytest.approx((prompt_tokens * 10.0 + produced * 30.0) / 1e6)
    assert limiter.spent < (prompt_tokens * 10.0 + 1000 * 30.0) / 1e6  # the reservation
    assert limiter.estimated_spent == limiter.spent
    assert (limiter.reserved, limiter.in_flight) == (0.0, 0)
    assert "a m stream failed after 6 streamed tokens" in caplog.text and "an estimate" in caplog.text


def test_failed_stream_that_produced_nothing_costs_nothing() -> None:
    """A stream that fails before its first token is released like any failed call."""
    limiter = CostLimiter(max_cost=1.0, prices=STREAM_PRICES)
    _stream(limiter, [])
    assert (limiter.spent, limiter.reserved, limiter.estimated_spent) == (0.0, 0.0, 0.0)


def test_failed_stream_with_only_an_estimate_keeps_its_reservation() -> None:
    """Without a price for the model (estimate= only), a stream cut after output keeps what it reserved."""
    limiter = CostLimiter(max_cost=1.0, estimate=0.2, prices={"other": {"input": 1, "output": 1}})
    _stream(limiter, ["partial"])
    assert limiter.spent == pytest.approx(0.2) and limiter.estimated_spent == pytest.approx(0.2)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
def test_limiter_alone_prices_real_calls_itself_and_refuses(provider: str, stream: bool) -> None:
    """No CostTracker anywhere: the limiter prices each real SDK call (the official SDK against
    the local wire server) as a tracker would, and refuses the call that no longer fits."""
    pytest.importorskip("genai_prices")
    from tests.llm._wire import FastWireServer

    from llmhooks.llm import LLM

    model = "gpt-4o" if provider == "openai" else "claude-3-5-sonnet-20241022"
    with FastWireServer() as server:
        url = server.openai_base_url if provider == "openai" else server.base_url

        def calls(handler: object, n: int) -> int:
            llm = LLM(provider=provider, model=model, base_url=url, api_key="k", callbacks=[handler],
                      max_retries=0, max_tokens=10)  # fmt: skip
            made = 0
            for _ in range(n):
                server.reply("Hello world", input_tokens=5, output_tokens=10)  # what the estimate says
                if stream:
                    for _part in llm.stream("hi"):
                        pass
                else:
                    llm.chat("hi")
                made += 1
            return made

        tracker = CostTracker()
        calls(tracker, 1)
        one_call = tracker.total_cost
        assert one_call > 0
        limiter = CostLimiter(max_cost=one_call * 2.5)
        with pytest.raises(BudgetExceeded):
            calls(limiter, 10)
    assert limiter.spent == pytest.approx(one_call * 2)  # two priced calls; the third did not fit
    assert limiter.estimated_spent == 0.0 and limiter.reserved == 0.0 and limiter.in_flight == 0
