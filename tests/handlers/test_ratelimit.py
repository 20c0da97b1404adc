"""RateLimiter: calls are delayed (not failed) to keep within limits, fairly, in threads and tasks."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest

from llmhooks import Callbacks, LLMStartEvent, RateLimiter, RateLimitExceeded
from llmhooks.testing import RecordingCallbacks

from .calls import allm_call, in_tasks, in_threads, llm_call

PERIOD = 0.1


class StartTimes(Callbacks):
    """Notes when each call was let through (it runs after the limiter)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.order: list[int] = []
        self._lock = threading.Lock()

    def on_llm_start(self, event: LLMStartEvent) -> None:
        with self._lock:
            self.times.append(time.monotonic())
            self.order.append(int(event.metadata.get("i", -1)))


def assert_admitted_no_faster(times: list[float], since: float, n: int, period: float) -> None:
    """At most ``n * (m + 1)`` calls started before ``since + (m + 1) * period``, for every m.

    What the limiter guarantees for the times it hands out (at most ``n`` per window, none
    before ``since``). A call starts at or after its time, so lateness (a thread or task
    woken late on a busy machine) can never make this fail; only admitting too fast can.
    """
    for i, start in enumerate(sorted(times)):
        assert start >= since + (i // n) * period, f"call {i + 1} started {start - since:.4f}s in"


def test_requests_are_delayed_not_refused_in_threads() -> None:
    """50 threads at once with 10 per window: all run, never more than 10 per window."""
    limiter, starts = RateLimiter(requests_per_minute=10, period=PERIOD), StartTimes()
    since = time.monotonic()
    results = in_threads(50, lambda i: llm_call([limiter, starts]))
    assert all(isinstance(r, str) for r in results)
    assert len(starts.times) == 50
    assert_admitted_no_faster(starts.times, since, 10, PERIOD)
    assert limiter.stats()["delayed"] == 40


async def test_requests_are_delayed_not_refused_in_tasks() -> None:
    """50 tasks at once with 10 per window: all run, never more than 10 per window."""
    limiter, starts = RateLimiter(requests_per_minute=10, period=PERIOD), StartTimes()
    since = time.monotonic()
    results = await in_tasks(50, lambda i: allm_call([limiter, starts]))
    assert all(isinstance(r, str) for r in results)
    assert len(starts.times) == 50 and limiter.stats()["delayed"] == 40
    assert_admitted_no_faster(starts.times, since, 10, PERIOD)


async def test_calls_start_in_the_order_they_asked() -> None:
    """Fairness: tickets are first come, first served; no call is overtaken."""
    from llmhooks import run_context

    limiter, starts = RateLimiter(requests_per_minute=2, period=0.02), StartTimes()

    async def call(i: int) -> str:
        with run_context(metadata={"i": i}):
            return await allm_call([limiter, starts])

    await in_tasks(12, call)
    assert starts.order == list(range(12))


async def test_async_wait_lets_other_tasks_run() -> None:
    """In async code the wait is asyncio.sleep: the event loop keeps running other tasks."""
    limiter = RateLimiter(requests_per_minute=1, period=0.1)
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await allm_call(limiter)
    await allm_call(limiter)  # waits ~0.1 s
    done = True
    await task
    assert ticks >= 5


def test_sync_wait_blocks_the_caller() -> None:
    """In sync code the second call in a window waits for the window to pass."""
    limiter = RateLimiter(requests_per_minute=1, period=0.05)
    t0 = time.monotonic()
    llm_call(limiter)
    llm_call(limiter)
    assert time.monotonic() - t0 >= 0.05  # time.sleep never returns early


def test_tokens_per_window_delay_until_earlier_tokens_expire() -> None:
    """With tokens_per_minute, a call waits until earlier calls' real tokens leave the window."""
    limiter, starts = RateLimiter(tokens_per_minute=1_000, period=PERIOD), StartTimes()
    since = time.monotonic()
    llm_call([limiter, starts], input_tokens=900, output_tokens=50)  # 950 real tokens
    llm_call([limiter, starts], max_tokens=100, input_tokens=10, output_tokens=10)  # ~109 estimated
    assert starts.times[1] >= since + PERIOD
    assert limiter.stats()["delayed"] == 1


def test_real_tokens_replace_the_estimate() -> None:
    """A call that used fewer tokens than reserved frees the difference at once."""
    limiter = RateLimiter(tokens_per_minute=1_000, period=10.0)
    llm_call(limiter, max_tokens=900, input_tokens=10, output_tokens=10)  # reserved ~909, used 20
    llm_call(limiter, max_tokens=900, input_tokens=10, output_tokens=10)  # fits: no wait
    assert limiter.stats()["delayed"] == 0


def test_one_call_larger_than_the_limit_still_runs_alone() -> None:
    """A call estimated above tokens_per_minute runs when the window is empty, not never."""
    limiter = RateLimiter(tokens_per_minute=10, period=10.0)
    llm_call(limiter, max_tokens=500)
    assert limiter.stats()["delayed"] == 0


def test_max_wait_refuses_instead_of_waiting() -> None:
    """A call that would wait longer than max_wait raises RateLimitExceeded before it is made."""
    limiter = RateLimiter(requests_per_minute=1, period=10.0, max_wait=0.01)
    rec = RecordingCallbacks()
    llm_call([limiter, rec])
    with pytest.raises(RateLimitExceeded, match="max_wait"):
        llm_call([limiter, rec])
    assert rec.types() == ["llm.start", "llm.end", "llm.error"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs requests_per_minute"),
        ({"requests_per_minute": 0}, "requests_per_minute must be >= 1, got 0"),
        ({"requests_per_minute": 1.5}, "requests_per_minute must be an integer or None, got 1.5"),
        ({"requests_per_minute": "60"}, r"requests_per_minute must be an integer or None, got '60' \(str\)"),
        ({"tokens_per_minute": 100, "period": 0}, "period must be > 0"),
        ({"tokens_per_minute": 100, "period": math.nan}, "period must be a finite number, got nan"),
        ({"requests_per_minute": 1, "max_wait": -1}, "max_wait must be >= 0, got -1"),
        ({"requests_per_minute": 1, "max_wait": math.nan}, "max_wait must be a finite number, got nan"),
        ({"requests_per_minute": 1, "max_wait": "5"}, r"max_wait must be a number or None, got '5' \(str\)"),
        ({"requests_per_minute": 1, "default_max_tokens": "1k"}, "default_max_tokens must be an integer"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs: dict[str, object], message: str) -> None:
    """Bad limits are refused when the limiter is built, naming the argument, the value and the rule."""
    with pytest.raises((ValueError, TypeError), match=message):
        RateLimiter(**kwargs)  # type: ignore[arg-type]


def test_failed_calls_do_not_leak_state() -> None:
    """Errors and refusals leave no per-run bookkeeping behind."""
    limiter = RateLimiter(requests_per_minute=100, tokens_per_minute=10_000, period=10.0)

    def fail() -> None:
        raise TimeoutError

    for _ in range(5):
        with pytest.raises(TimeoutError):
            llm_call(limiter, body=fail)
    assert limiter._entries == {}
