"""Token ledgers in a real Redis: exact under concurrency, once per run, whole calls only."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.handlers.redis._server import RedisServer

from llmhooks import LLM, CostTracker, flush, llm_run, run_context
from llmhooks.handlers.redis import (
    LedgerEntry,
    RedisTokenLedger,
    RedisUnavailable,
    TokenLedger,
    cycle_of,
    monthly_cycle,
)

PRICES = {"m": {"input": 1.0, "output": 2.0}}  # USD per million tokens


def _ts(day: str) -> float:
    return dt.datetime.fromisoformat(day + "T12:00:00+00:00").timestamp()


def test_cycles_monthly_daily_fixed_and_callable() -> None:
    """A call's cycle comes from its own timestamp; a fixed date is the seed's named cycle."""
    ts = _ts("2026-03-10")
    assert cycle_of("monthly")(ts) == "2026-03"
    assert cycle_of("daily")(ts) == "2026-03-10"
    assert cycle_of("2024-01-01")(ts) == "2024-01-01"
    assert cycle_of(dt.date(2024, 2, 1))(ts) == "2024-02-01"
    assert cycle_of(lambda t: "q1")(ts) == "q1"
    assert monthly_cycle(15)(ts) == "2026-02-15"
    assert monthly_cycle("2024-01-15")(_ts("2026-03-15")) == "2026-03-15"
    assert monthly_cycle(31)(_ts("2026-02-28")) == "2026-02-28"  # short month: its last day
    assert monthly_cycle(31)(_ts("2026-01-05")) == "2025-12-31"


def test_bad_cycles_and_entries_fail_clearly(redis_url: str, redis_prefix: str) -> None:
    """A malformed cycle or entry is refused with the argument named."""
    with pytest.raises(ValueError, match="cycle must be 'monthly'"):
        cycle_of("weekly")
    with pytest.raises(TypeError, match="must return a non-empty string"):
        cycle_of(lambda t: 3)(0.0)  # type: ignore[arg-type,return-value]
    ledger = TokenLedger(redis_url, prefix=redis_prefix)
    with pytest.raises(ValueError, match="unknown ledger field 'tokens'"):
        ledger.record(LedgerEntry("r", "u", "c", {"tokens": 1}))
    with pytest.raises(ValueError, match=r"counts\['calls'\] must be >= 0"):
        ledger.record(LedgerEntry("r", "u", "c", {"calls": -1}))
    with pytest.raises(ValueError, match="redis must be a redis://"):
        TokenLedger("localhost:6379")


def test_record_is_once_per_run_id(redis_url: str, redis_prefix: str) -> None:
    """The same run recorded twice (a retry, a redelivery) counts once."""
    ledger = TokenLedger(redis_url, prefix=redis_prefix + "t:")
    entry = LedgerEntry("run-1", "alice", "2026-12", {"calls": 1, "input_tokens": 7, "output_tokens": 3})
    assert ledger.record(entry) is True
    assert ledger.record(entry) is False
    assert ledger.record_many([entry, LedgerEntry("run-2", "alice", "2026-12", {"calls": 1})]) == [
        False,
        True,
    ]
    totals = ledger.totals("alice", "2026-12")
    assert (totals.calls, totals.input_tokens, totals.output_tokens) == (2, 7, 3)


def test_handler_counts_users_cycles_cost_and_errors(redis_url: str, redis_prefix: str) -> None:
    """User from run_context or the argument, exact usage, cost in micro-USD, errors apart."""
    ledger = RedisTokenLedger(redis_url, prefix=redis_prefix + "h:", user_id="fallback", prices=PRICES)
    with run_context(user_id="alice"):
        with llm_run(provider="p", model="m", callbacks=[ledger]) as run:
            run.finish(response="ok", input_tokens=1000, output_tokens=500, cached_input_tokens=200)
        with pytest.raises(RuntimeError), llm_run(provider="p", model="m", callbacks=[ledger]):
            raise RuntimeError("boom")
    with llm_run(provider="p", model="m", callbacks=[ledger]) as run:
        run.finish(input_tokens=10, output_tokens=20, reasoning_tokens=5)
    assert flush(5)
    alice = ledger.totals("alice")
    assert (alice.calls, alice.errors, alice.input_tokens, alice.output_tokens) == (1, 1, 1000, 500)
    assert alice.cached_input_tokens == 200 and alice.total_tokens == 1500
    assert alice.priced_calls == 1 and alice.cost_micros == 1000 + 1000  # 1000 in at $1/M, 500 out at $2/M
    fallback = ledger.totals("fallback")
    assert (fallback.calls, fallback.reasoning_tokens, fallback.estimated_calls) == (1, 5, 0)
    assert [t.user_id for t in ledger.listing()] == ["alice", "fallback"]
    assert ledger.ledger.cycles("alice") == [cycle_of("monthly")(time.time())]
    assert ledger.stats() == {"recorded": 3, "duplicates": 0, "retries": 0, "failed": 0}


def test_cost_from_cost_tracker_is_used(redis_url: str, redis_prefix: str) -> None:
    """A cost set by CostTracker (or the producer) is what the ledger counts."""
    ledger = RedisTokenLedger(redis_url, prefix=redis_prefix + "c:")
    with run_context(user_id="u"), llm_run(model="m", callbacks=[CostTracker(prices=PRICES), ledger]) as run:
        run.finish(input_tokens=1_000_000, output_tokens=0)
    assert flush(5)
    assert ledger.totals("u").cost == pytest.approx(1.0)


def test_estimates_are_stored_apart_and_marked(redis_url: str, redis_prefix: str) -> None:
    """A call without usage is counted by estimate, in estimated_* fields only."""
    ledger = RedisTokenLedger(redis_url, prefix=redis_prefix + "e:", cycle="2024-01-01")
    with run_context(user_id="bob"), llm_run(model="m", prompt="x" * 30, callbacks=[ledger]) as run:
        run.finish(response="y" * 12)  # the provider reported nothing
    with run_context(user_id="bob"), llm_run(model="m", callbacks=[ledger]) as run:
        run.finish(input_tokens=4, output_tokens=2, usage_estimated=True)  # the producer's estimate
    assert flush(5)
    bob = ledger.totals("bob", "2024-01-01")
    assert (bob.calls, bob.estimated_calls, bob.input_tokens, bob.output_tokens) == (2, 2, 0, 0)
    assert bob.estimated_input_tokens == 10 + 4 and bob.estimated_output_tokens == 4 + 2
    assert bob.priced_calls == 0


def test_offline_llm_calls_from_64_threads_and_200_tasks_are_exact(redis_url: str, redis_prefix: str) -> None:
    """64 threads and 200 asyncio tasks on one ledger: every call and token counted exactly once."""
    ledger = RedisTokenLedger(redis_url, prefix=redis_prefix + "x:", background=False, timeout=5.0)
    llm = LLM(provider="offline", callbacks=[ledger])
    prompt = "count these five words"

    def calls(user: str) -> int:
        with run_context(user_id=user):
            return sum(llm.chat(prompt).usage.total_tokens for _ in range(5))

    with ThreadPoolExecutor(64) as pool:
        tokens = sum(pool.map(calls, [f"t{i % 4}" for i in range(64)]))

    async def tasks() -> int:
        async def one(i: int) -> int:
            with run_context(user_id=f"a{i % 4}"):
                return (await llm.achat(prompt)).usage.total_tokens

        return sum(await asyncio.gather(*(one(i) for i in range(200))))

    tokens += asyncio.run(tasks())
    rows = ledger.listing()
    assert sum(r.calls for r in rows) == 64 * 5 + 200
    assert sum(r.total_tokens for r in rows) == tokens
    assert sum(r.input_tokens for r in rows) == (64 * 5 + 200) * 4
    assert {r.user_id: r.calls for r in rows} == {
        **{f"t{i}": 80 for i in range(4)},
        **{f"a{i}": 50 for i in range(4)},
    }


async def test_async_record_and_totals(redis_url: str, redis_prefix: str) -> None:
    """``arecord``/``atotals`` use redis.asyncio, with the same once-per-run rule."""
    ledger = TokenLedger(redis_url, prefix=redis_prefix + "a:", timeout=5.0)
    entries = [LedgerEntry(f"r{i % 50}", "u", "c", {"calls": 1, "output_tokens": 2}) for i in range(200)]
    results = await asyncio.gather(*(ledger.arecord(e) for e in entries))
    assert sum(results) == 50
    totals = await ledger.atotals("u", "c")
    assert (totals.calls, totals.output_tokens) == (50, 100)


def test_a_write_that_timed_out_and_is_retried_counts_once(server: RedisServer) -> None:
    """Redis frozen past the timeout applies the write later; the retry is then a no-op."""
    ledger = TokenLedger(server.url, timeout=0.2, prefix="r:")
    entry = LedgerEntry("run-t", "u", "c", {"calls": 1, "input_tokens": 5})
    ledger.record(LedgerEntry("run-0", "other", "c", {"calls": 1}))  # connected, script loaded
    server.pause()
    started = time.monotonic()
    with pytest.raises(RedisUnavailable, match=r"did not answer within 0\.2s"):
        ledger.record(entry)
    assert time.monotonic() - started < 1.0
    server.resume()
    ledger.connection.mark_up()
    assert ledger.totals("u", "c").calls == 1  # the timed-out write was applied after all
    assert ledger.record(entry) is False  # and its retry counts nothing
    assert ledger.totals("u", "c").input_tokens == 5


def test_kill_9_mid_load_loses_nothing_and_counts_nothing_twice(server: RedisServer) -> None:
    """Writers retrying through a SIGKILL and restart (append-only, fsync always): exact totals.

    Every call adds 10 input and 3 output tokens: any call half counted would break
    ``input == 10 * calls``; any lost or doubled would break ``calls == runs``.
    """
    ledger = RedisTokenLedger(server.url, prefix="k:", background=False, retry_for=20.0, timeout=0.3)
    runs_per_thread, threads = 150, 8
    done = threading.Event()

    def writer(t: int) -> None:
        for i in range(runs_per_thread):
            with run_context(user_id=f"u{t % 2}"), llm_run(model="m", callbacks=[ledger]) as run:
                run.finish(input_tokens=10, output_tokens=3)
            if t == 0 and i == runs_per_thread // 3:
                done.set()

    pool = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    assert done.wait(30)
    server.kill()
    time.sleep(0.3)
    server.start()
    for th in pool:
        th.join(60)
    rows = ledger.listing()
    calls = sum(r.calls for r in rows)
    assert calls == runs_per_thread * threads
    assert all(r.input_tokens == 10 * r.calls and r.output_tokens == 3 * r.calls for r in rows)
    assert ledger.stats()["failed"] == 0 and ledger.stats()["retries"] > 0


def test_background_ledger_never_slows_callers_while_redis_is_down(server: RedisServer) -> None:
    """Redis stopped: calls go on at full speed; what could not be counted is counted as failed."""
    ledger = RedisTokenLedger(server.url, prefix="d:", retry_for=0.05, timeout=0.2)
    server.stop()
    llm = LLM(provider="offline", callbacks=[ledger])
    started = time.monotonic()
    for _ in range(20):
        llm.chat("hello")
    assert time.monotonic() - started < 0.5  # the caller never waited for Redis
    assert flush(10)
    assert ledger.stats()["failed"] == 20 and ledger.stats()["recorded"] == 0
