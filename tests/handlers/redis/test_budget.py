"""``RedisCostLimiter`` on a real Redis: one budget for every thread, task and process."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.handlers.redis._server import RedisServer

from llmhooks import BudgetExceeded, llm_run, run_context
from llmhooks.handlers.redis import BudgetUnavailable, RedisCostLimiter

ROOT = Path(__file__).resolve().parents[3]


def _limiter(url: str, prefix: str = "llmhooks:", **kwargs: object) -> RedisCostLimiter:
    # a generous timeout: these tests are about exact counting, not outages (those set their own)
    options: dict[str, object] = {
        "max_cost": 1.0,
        "estimate": 0.01,
        "redis": url,
        "prefix": prefix,
        "name": "t",
        "timeout": 5.0,
    }
    options.update(kwargs)
    return RedisCostLimiter(**options)  # type: ignore[arg-type]


def _call(limiter: RedisCostLimiter, cost: float, streaming: bool = False) -> None:
    with llm_run(provider="p", model="m", streaming=streaming, callbacks=[limiter]) as run:
        run.finish(input_tokens=1, output_tokens=1, cost=cost)


def test_bad_arguments_fail_at_construction(redis_url: str, redis_prefix: str) -> None:
    """No budget, a negative one or an unknown policy: a clear error before any call."""
    with pytest.raises(ValueError, match="needs a budget"):
        RedisCostLimiter(redis=redis_url, estimate=0.01)
    with pytest.raises(ValueError, match="max_cost must be >= 0"):
        RedisCostLimiter(max_cost=-1, redis=redis_url, estimate=0.01)
    with pytest.raises(ValueError, match="on_unavailable must be one of 'refuse', 'allow'"):
        RedisCostLimiter(max_cost=1, redis=redis_url, estimate=0.01, on_unavailable="wait")  # type: ignore[arg-type]


def test_64_threads_exact_spend_and_overspend_bounded_by_calls_in_flight(
    redis_url: str, redis_prefix: str
) -> None:
    """Calls costing more than estimated: spend exact, overspend <= what the calls in flight added.

    At most 64 calls are in flight at once (one per thread), each $0.005 over its estimate.
    """
    limiter = _limiter(redis_url, redis_prefix)

    def worker(_: int) -> int:
        ok = 0
        for _ in range(5):
            try:
                with llm_run(provider="p", model="m", callbacks=[limiter]) as run:
                    time.sleep(0.002)
                    run.finish(input_tokens=1, output_tokens=1, cost=0.015)
                ok += 1
            except BudgetExceeded:
                pass
        return ok

    with ThreadPoolExecutor(64) as pool:
        admitted = sum(pool.map(worker, range(64)))
    assert limiter.spent == pytest.approx(admitted * 0.015, abs=1e-9)
    assert 1.0 <= limiter.spent <= 1.0 + 64 * 0.005
    assert admitted < 64 * 5  # without an atomic check-and-reserve, every call would pass
    assert limiter.reserved == 0 and limiter.in_flight == 0


def test_64_threads_never_overspend_when_estimates_are_bounds(redis_url: str, redis_prefix: str) -> None:
    """Estimate == real cost: exactly the calls that fit are admitted, however many compete."""
    limiter = _limiter(redis_url, redis_prefix)

    def worker(_: int) -> int:
        ok = 0
        for _ in range(5):
            try:
                _call(limiter, 0.01)
                ok += 1
            except BudgetExceeded as exc:
                assert exc.limit == 1.0 and exc.user_id is None
        return ok

    with ThreadPoolExecutor(64) as pool:
        assert sum(pool.map(worker, range(64))) == 100
    assert limiter.spent == pytest.approx(1.0) and limiter.remaining == 0


async def test_200_tasks_share_the_budget_through_redis_asyncio(redis_url: str, redis_prefix: str) -> None:
    """200 asyncio tasks: exactly 100 fit in $1.00 at $0.01, and the rest are refused."""
    limiter = _limiter(redis_url, redis_prefix, name="async")

    async def one() -> bool:
        try:
            async with llm_run(provider="p", model="m", callbacks=[limiter]) as run:
                await asyncio.sleep(0.001)
                await run.afinish(input_tokens=1, output_tokens=1, cost=0.01)
            return True
        except BudgetExceeded:
            return False

    results = await asyncio.gather(*(one() for _ in range(200)))
    assert sum(results) == 100
    assert limiter.spent == pytest.approx(1.0) and limiter.in_flight == 0


def test_processes_share_one_budget(redis_url: str, redis_prefix: str) -> None:
    """Three worker processes, 50 calls each, one $1.00 budget: 100 admitted in all."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.handlers.redis._workers",
                "budget",
                redis_url,
                redis_prefix,
                "procs",
                "50",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    admitted = [json.loads(p.communicate(timeout=60)[0])["admitted"] for p in procs]
    assert sum(admitted) == 100
    assert _limiter(redis_url, redis_prefix, name="procs").spent == pytest.approx(1.0)


def test_per_user_budgets(redis_url: str, redis_prefix: str) -> None:
    """``per_user`` and ``user_limits`` hold each user to their own budget, and all to ``max_cost``."""
    limiter = _limiter(redis_url, redis_prefix, per_user=0.05, user_limits={"vip": 0.08})
    admitted: dict[str, int] = {}
    for user in ("a", "b", "vip"):
        with run_context(user_id=user):
            for _ in range(10):
                try:
                    _call(limiter, 0.01)
                    admitted[user] = admitted.get(user, 0) + 1
                except BudgetExceeded as exc:
                    assert exc.user_id == user
    assert admitted == {"a": 5, "b": 5, "vip": 8}
    assert limiter.spent_by("vip") == pytest.approx(0.08) and limiter.remaining_for("a") == 0
    assert limiter.spent == pytest.approx(0.18) and limiter.remaining_for("nobody") == pytest.approx(0.05)


def test_errors_release_and_streams_keep_their_reservation(redis_url: str, redis_prefix: str) -> None:
    """A failed call costs nothing; a stream that failed part-way keeps its reservation as spent."""
    limiter = _limiter(redis_url, redis_prefix)
    with pytest.raises(RuntimeError), llm_run(provider="p", model="m", callbacks=[limiter]):
        raise RuntimeError("provider down")
    assert limiter.spent == 0 and limiter.reserved == 0
    with pytest.raises(RuntimeError), llm_run(provider="p", model="m", streaming=True, callbacks=[limiter]):
        raise RuntimeError("stream cut")
    assert limiter.spent == pytest.approx(0.01) and limiter.reserved == 0


def test_unknown_real_cost_keeps_the_reservation(redis_url: str, redis_prefix: str) -> None:
    """A call whose real cost cannot be priced is charged what it reserved."""
    limiter = _limiter(redis_url, redis_prefix, prices={"other": {"input": 1, "output": 1}})
    with llm_run(provider="p", model="unpriced", callbacks=[limiter]) as run:
        run.finish(input_tokens=5, output_tokens=5)
    assert limiter.spent == pytest.approx(0.01)


def test_cycles_get_their_own_budget_and_settle_where_they_reserved(
    redis_url: str, redis_prefix: str
) -> None:
    """A new cycle starts afresh; a call reserved in the old one settles in it."""
    current = ["2026-11"]
    limiter = _limiter(redis_url, redis_prefix, max_cost=0.02, cycle=lambda ts: current[0])
    _call(limiter, 0.01)
    run = llm_run(provider="p", model="m", callbacks=[limiter])
    run.__enter__()  # reserved in 2026-11
    with pytest.raises(BudgetExceeded):
        _call(limiter, 0.01)
    current[0] = "2026-12"
    _call(limiter, 0.01)
    run.finish(cost=0.01)
    run.__exit__(None, None, None)
    assert limiter.spent == pytest.approx(0.01)  # December
    current[0] = "2026-11"
    assert limiter.spent == pytest.approx(0.02) and limiter.reserved == 0


def test_a_dead_processs_reservation_is_released_after_its_lease(redis_url: str, redis_prefix: str) -> None:
    """A worker renews its reservation while alive; killed, its hold ends one lease later."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.handlers.redis._workers",
            "hold",
            redis_url,
            redis_prefix,
            "lease",
            "0.6",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "reserved"
        limiter = RedisCostLimiter(
            max_cost=1.0, estimate=0.60, redis=redis_url, prefix=redis_prefix, name="lease", lease=0.6
        )
        time.sleep(1.5)  # past two leases: the live worker renewed it
        with pytest.raises(BudgetExceeded, match=r"\$0.6000 spent or in flight"):
            _call(limiter, 0.60)
    finally:
        proc.kill()
        proc.wait(10)
    killed = time.monotonic()
    while True:
        try:
            _call(limiter, 0.60)
            break
        except BudgetExceeded:
            assert time.monotonic() - killed < 3.0, "the dead worker's reservation was never released"
            time.sleep(0.1)
    assert limiter.spent == pytest.approx(0.60) and limiter.in_flight == 0


def test_a_settle_retried_after_a_timeout_counts_once(server: RedisServer) -> None:
    """Redis frozen during a settle: it is applied late, kept and resent; spend counted once."""
    limiter = _limiter(server.url, timeout=0.2)
    _call(limiter, 0.01)  # scripts loaded
    run = llm_run(provider="p", model="m", callbacks=[limiter])
    run.__enter__()
    server.pause()
    run.finish(cost=0.02)  # the settle times out and is kept
    run.__exit__(None, None, None)
    assert limiter.stats()["pending"] == 1
    server.resume()
    limiter.connection.mark_up()
    assert limiter.flush(5)
    assert limiter.spent == pytest.approx(0.03) and limiter.reserved == 0 and limiter.in_flight == 0


def test_redis_down_refuse_policy_is_quick_and_clear(server: RedisServer) -> None:
    """Stopped or frozen Redis: calls refused within the timeout, with the reason."""
    limiter = _limiter(server.url, timeout=0.25, on_unavailable="refuse")
    _call(limiter, 0.01)
    server.pause()
    started = time.monotonic()
    with pytest.raises(BudgetUnavailable, match=r"did not answer within 0\.25s.*on_unavailable='refuse'"):
        _call(limiter, 0.01)
    assert time.monotonic() - started < 0.6
    started = time.monotonic()
    for _ in range(20):  # failing fast now: no network wait
        with pytest.raises(BudgetUnavailable):
            _call(limiter, 0.01)
    assert time.monotonic() - started < 0.1
    server.stop()
    time.sleep(limiter.connection.down_for)
    started = time.monotonic()
    with pytest.raises(BudgetUnavailable):
        _call(limiter, 0.01)
    assert time.monotonic() - started < 0.6


async def test_redis_down_refuse_policy_async(server: RedisServer) -> None:
    """The async path has the same bound."""
    limiter = _limiter(server.url, timeout=0.25)
    server.pause()
    started = time.monotonic()
    with pytest.raises(BudgetUnavailable):
        async with llm_run(provider="p", model="m", callbacks=[limiter]):
            pass
    assert time.monotonic() - started < 0.8


def test_redis_down_allow_policy_lets_calls_through_and_records_spend_later(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """``on_unavailable="allow"``: calls go on with a warning; their spend reaches Redis when it is back."""
    limiter = _limiter(server.url, timeout=0.25, on_unavailable="allow")
    server.stop()
    with caplog.at_level(logging.WARNING, logger="llmhooks.redis"):
        started = time.monotonic()
        for _ in range(3):
            _call(limiter, 0.01)
        assert time.monotonic() - started < 0.6
    assert "calls go unreserved (on_unavailable='allow')" in caplog.text
    server.start()
    limiter.connection.mark_up()
    assert limiter.flush(5)
    assert limiter.spent == pytest.approx(0.03) and limiter.reserved == 0
