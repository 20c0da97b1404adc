"""``RedisRateLimiter`` on a real Redis: one sliding window for every thread, task and process."""

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

from llmhooks import LLMStartEvent, RateLimitExceeded, llm_run
from llmhooks.handlers.redis import RateLimitUnavailable, RedisRateLimiter

ROOT = Path(__file__).resolve().parents[3]


def _call(limiter: RedisRateLimiter, max_tokens: int | None = None, used: int = 2) -> bool:
    try:
        with llm_run(provider="p", model="m", max_tokens=max_tokens, callbacks=[limiter]) as run:
            run.finish(input_tokens=used // 2, output_tokens=used - used // 2)
        return True
    except RateLimitExceeded:
        return False


def test_bad_arguments_fail_at_construction(redis_url: str, redis_prefix: str) -> None:
    """No limit or a malformed one: a clear error naming it."""
    with pytest.raises(ValueError, match="needs requests_per_minute"):
        RedisRateLimiter(redis=redis_url)
    with pytest.raises(ValueError, match="requests_per_minute must be >= 1"):
        RedisRateLimiter(0, redis=redis_url)
    with pytest.raises(ValueError, match="period must be > 0"):
        RedisRateLimiter(5, period=0, redis=redis_url)


def test_64_threads_and_200_tasks_get_exactly_the_requests_allowed(redis_url: str, redis_prefix: str) -> None:
    """With ``max_wait=0`` the window admits exactly ``requests_per_minute`` calls, however many race."""
    limiter = RedisRateLimiter(
        100, max_wait=0, redis=redis_url, prefix=redis_prefix, name="threads", timeout=5.0
    )
    with ThreadPoolExecutor(64) as pool:
        assert sum(pool.map(lambda _: sum(_call(limiter) for _ in range(3)), range(64))) == 100

    async_limiter = RedisRateLimiter(
        100, max_wait=0, redis=redis_url, prefix=redis_prefix, name="tasks", timeout=5.0
    )

    async def one() -> bool:
        try:
            async with llm_run(provider="p", model="m", callbacks=[async_limiter]) as run:
                await run.afinish(input_tokens=1, output_tokens=1)
            return True
        except RateLimitExceeded:
            return False

    async def tasks() -> int:
        return sum(await asyncio.gather(*(one() for _ in range(200))))

    assert asyncio.run(tasks()) == 100


def test_processes_share_one_window(redis_url: str, redis_prefix: str) -> None:
    """Three processes, six calls each, five allowed per minute: five admitted in all."""
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.handlers.redis._workers",
                "rate",
                redis_url,
                redis_prefix,
                "procs",
                "6",
                "5",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    assert sum(json.loads(p.communicate(timeout=60)[0])["admitted"] for p in procs) == 5


def test_a_call_waits_for_its_turn(redis_url: str, redis_prefix: str) -> None:
    """A call over the limit is delayed, not refused, until a slot frees."""
    limiter = RedisRateLimiter(2, period=0.5, redis=redis_url, prefix=redis_prefix, name="wait", timeout=5.0)
    started = time.monotonic()
    for _ in range(3):
        assert _call(limiter)
    assert time.monotonic() - started >= 0.45
    stats = limiter.stats()
    assert stats["delayed"] == 1 and 0.3 < stats["waited_s"] <= 0.5


def test_tokens_estimated_at_start_and_replaced_at_end(redis_url: str, redis_prefix: str) -> None:
    """Each call reserves its estimate; its real usage frees what it did not use."""
    limiter = RedisRateLimiter(
        tokens_per_minute=100, max_wait=0, redis=redis_url, prefix=redis_prefix, name="tokens", timeout=5.0
    )
    admitted = [_call(limiter, max_tokens=30, used=30) for _ in range(4)]
    assert admitted == [True, True, True, False]  # 3 x 30 fit in 100, a 4th does not
    other = RedisRateLimiter(
        tokens_per_minute=100, max_wait=0, redis=redis_url, prefix=redis_prefix, name="tokens2", timeout=5.0
    )
    assert [_call(other, max_tokens=30, used=5) for _ in range(5)] == [True] * 5  # each frees 25
    assert other.stats()["window_tokens"] == 25


def test_a_retried_ticket_is_the_same_ticket(redis_url: str, redis_prefix: str) -> None:
    """The start of one run asked twice (a retry after a timeout) takes one slot."""
    limiter = RedisRateLimiter(1, max_wait=0, redis=redis_url, prefix=redis_prefix, name="retry", timeout=5.0)
    event = LLMStartEvent(provider="p", model="m", run_id="run-a")
    limiter.on_llm_start(event)
    limiter.on_llm_start(event)
    with pytest.raises(RateLimitExceeded, match="more than max_wait=0s"):
        limiter.on_llm_start(LLMStartEvent(provider="p", model="m", run_id="run-b"))


def test_redis_down_allow_by_default_refuse_when_asked(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis frozen: the default lets calls through at once with a warning; ``refuse`` refuses them."""
    allow = RedisRateLimiter(1, max_wait=0, redis=server.url, name="a", timeout=0.2)
    refuse = RedisRateLimiter(1, max_wait=0, redis=server.url, name="r", timeout=0.2, on_unavailable="refuse")
    server.pause()
    with caplog.at_level(logging.WARNING, logger="llmhooks.redis"):
        started = time.monotonic()
        assert all(_call(allow) for _ in range(5))
        assert time.monotonic() - started < 0.5
    assert "calls go unlimited (on_unavailable='allow')" in caplog.text
    with pytest.raises(RateLimitUnavailable, match="on_unavailable='refuse'"):
        refuse.on_llm_start(LLMStartEvent(provider="p", model="m", run_id="x"))
