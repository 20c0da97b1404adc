"""Seed 002's Redis token accounting, its examples run with the import changed to llmhooks.

The examples are those of AIECS's ``custom_callbacks`` and ``token_usage_repository``
documents; where they elide something (``LLMClient``, ``performance_callback``), the
smallest real thing stands in: the offline ``LLM`` and small dict-style handlers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.handlers.redis._server import RedisServer

from llmhooks import LLM, flush, llm_run
from llmhooks.compat import (
    CustomAsyncCallbackHandler,
    DetailedRedisTokenCallbackHandler,
    RedisTokenCallbackHandler,
    configure_token_usage,
    create_composite_callback,
    create_detailed_token_callback,
    create_token_callback,
    token_usage_repo,
)
from llmhooks.handlers.redis import RedisConnection

logger = logging.getLogger(__name__)


@pytest.fixture(autouse=True)
def _repo(redis_url: str, redis_prefix: str) -> Iterator[None]:
    configure_token_usage(RedisConnection(redis_url, timeout=5.0), prefix=redis_prefix + "seed002:")
    yield
    configure_token_usage()


class PerformanceCallback(CustomAsyncCallbackHandler):
    """Stands in for the seed's ``performance_callback``."""

    def __init__(self) -> None:
        self.durations: list[float] = []

    async def on_llm_start(self, messages: list[dict], **kwargs: Any) -> None:
        pass

    async def on_llm_end(self, response: dict, **kwargs: Any) -> None:
        self.durations.append(response.get("response_time", 0.0))

    async def on_llm_error(self, error: Exception, **kwargs: Any) -> None:
        pass


async def test_basic_token_callback_example() -> None:
    """'Basic usage statistics': create_token_callback, then the user's total for the cycle."""
    callback = create_token_callback(user_id="user_123", cycle_start_date="2024-01-01")
    messages = [{"role": "user", "content": "What is 2+2?"}]
    client = LLM(provider="offline")
    response = await client.achat(messages, callbacks=[callback])
    stats = await token_usage_repo.get_usage_stats("user_123", "2024-01-01")
    assert stats == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": response.usage.total_tokens}


async def test_detailed_and_composite_example() -> None:
    """'Detailed usage statistics' combined with other handlers in a composite."""
    detailed_callback = create_detailed_token_callback(user_id="user_123", cycle_start_date="2024-01-01")
    performance_callback = PerformanceCallback()
    composite_callback = create_composite_callback(detailed_callback, performance_callback)
    response = await LLM(provider="offline").achat("Hello there", callbacks=[composite_callback])
    stats = await token_usage_repo.get_usage_stats(user_id="user_123", cycle_start_date="2024-01-01")
    usage = response.usage
    assert stats == {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    assert len(performance_callback.durations) == 1


async def test_monitoring_system_example_in_sync_code_too() -> None:
    """'Build complete monitoring system': both token handlers and a custom one, per query."""
    monitoring_callbacks = create_composite_callback(
        create_token_callback("user_123"),
        create_detailed_token_callback("user_123"),
        PerformanceCallback(),
    )

    async def process_user_query(user_id: str, query: str) -> Any:
        messages = [{"role": "user", "content": query}]
        return await LLM(provider="offline").achat(messages, callbacks=[monitoring_callbacks])

    first = await process_user_query("user_123", "count these four words")
    second = await asyncio.to_thread(
        LLM(provider="offline").chat, "and these", callbacks=[monitoring_callbacks]
    )
    stats = await token_usage_repo.get_usage_stats("user_123")  # the current month
    total = first.usage.total_tokens + second.usage.total_tokens
    # the basic handler adds tokens_used to total_tokens, the detailed one prompt + completion
    assert stats["total_tokens"] == 2 * total
    assert stats["prompt_tokens"] + stats["completion_tokens"] == total


async def test_repository_examples() -> None:
    """The repository's own examples: increments, limits, queries, reset."""
    await token_usage_repo.increment_detailed_usage(
        user_id="user_123", prompt_tokens=150, completion_tokens=75, cycle_start_date="2024-01-01"
    )
    await token_usage_repo.increment_total_usage(
        user_id="user_123", total_tokens=225, cycle_start_date="2024-01-01"
    )
    await token_usage_repo.increment_prompt_tokens(user_id="user_123", prompt_tokens=150)
    await token_usage_repo.increment_completion_tokens(user_id="user_123", completion_tokens=75)

    await token_usage_repo.set_usage_limit(user_id="user_123", limit=10000, cycle_start_date="2024-01-01")
    limit_check = await token_usage_repo.check_usage_limit(user_id="user_123", cycle_start_date="2024-01-01")
    if limit_check["exceeded"]:
        print(f"User has exceeded limit! Current usage: {limit_check['current_usage']}")
    else:
        print(f"Remaining usage: {limit_check['remaining']} tokens")
    assert limit_check == {"exceeded": False, "current_usage": 450, "limit": 10000, "remaining": 9550}

    stats = await token_usage_repo.get_usage_stats(user_id="user_123", cycle_start_date="2024-01-01")
    assert stats == {"prompt_tokens": 150, "completion_tokens": 75, "total_tokens": 450, "usage_limit": 10000}
    month = await token_usage_repo.get_usage_stats("user_123")
    assert (month["prompt_tokens"], month["completion_tokens"], month["total_tokens"]) == (150, 75, 0)

    async def get_batch_usage_stats(user_ids: list[str]) -> dict[str, dict[str, int]]:
        results = {}
        for user_id in user_ids:
            results[user_id] = await token_usage_repo.get_usage_stats(user_id, "2024-01-01")
        return results

    def calculate_usage_rate(stats: dict[str, int], limit: int) -> float:
        total_usage = stats.get("total_tokens", 0)
        return (total_usage / limit) * 100 if limit > 0 else 0

    batch = await get_batch_usage_stats(["user_123", "nobody"])
    assert calculate_usage_rate(batch["user_123"], 10000) == 4.5 and batch["nobody"]["total_tokens"] == 0

    await token_usage_repo.set_usage_limit("user_123", 400, "2024-01-01")
    assert (await token_usage_repo.check_usage_limit("user_123", "2024-01-01"))["exceeded"] is True
    assert (await token_usage_repo.check_usage_limit("nobody", "2024-01-01"))["remaining"] == float("inf")

    await token_usage_repo.reset_usage(user_id="user_123", cycle_start_date="2024-01-01")
    assert (await token_usage_repo.get_usage_stats("user_123", "2024-01-01"))["total_tokens"] == 0


async def test_one_detailed_handler_serves_200_concurrent_calls_exactly() -> None:
    """The seed kept per-call state on the instance; here 200 concurrent calls through one handler add up."""
    handler = DetailedRedisTokenCallbackHandler("user_c", "2024-01-01")
    llm = LLM(provider="offline", callbacks=[handler])
    responses = await asyncio.gather(*(llm.achat("x " * (i % 7 + 1)) for i in range(200)))
    stats = await token_usage_repo.get_usage_stats("user_c", "2024-01-01")
    assert stats["prompt_tokens"] == sum(r.usage.input_tokens for r in responses)
    assert stats["completion_tokens"] == sum(r.usage.output_tokens for r in responses)


async def test_usage_the_provider_did_not_report_is_estimated_apart() -> None:
    """No usage reported: the seed's four-characters estimate, kept out of the exact counts."""
    handler = DetailedRedisTokenCallbackHandler("user_e", "2024-01-01")
    async with llm_run(
        model="m", messages=[{"role": "user", "content": "y" * 40}], callbacks=[handler]
    ) as run:
        await run.afinish(response="z" * 20)
    stats = await token_usage_repo.get_usage_stats("user_e", "2024-01-01")
    assert stats == {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "estimated_prompt_tokens": 10,
        "estimated_completion_tokens": 5,
    }


def test_empty_user_is_refused_and_redis_failures_never_break_the_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The seed's constructor check; a failing write is logged, and the call goes on."""
    with pytest.raises(ValueError, match="user_id must be provided for RedisTokenCallbackHandler"):
        RedisTokenCallbackHandler("")
    configure_token_usage("redis://127.0.0.1:1/0", retry_for=0.1)  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="llmhooks.compat"):
        assert LLM(provider="offline").chat("hi", callbacks=[create_token_callback("u")]).text
    assert "Failed to record token usage for user 'u'" in caplog.text


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((5,), TypeError, r"user_id must be a string \(the user's id\), got 5 \(int\)"),
        (("u", "jan"), ValueError, r"cycle_start_date must be None .* 'YYYY-MM-DD', got 'jan' \(str\)"),
        (("u", "2024-13-01"), ValueError, r"cycle_start_date must be .*got '2024-13-01'"),
        (("u", 20240101), ValueError, r"cycle_start_date must be .*got 20240101 \(int\)"),
    ],
)
def test_seed_handlers_check_their_arguments_when_built(
    args: tuple[object, ...], error: type, message: str
) -> None:
    """A user id that is no string, a cycle that is no date: refused when built, not on the first write."""
    for cls in (RedisTokenCallbackHandler, DetailedRedisTokenCallbackHandler):
        with pytest.raises(error, match=message):
            cls(*args)
    with pytest.raises(error, match=message):
        create_token_callback(*args)  # type: ignore[arg-type]


async def test_a_frozen_redis_costs_each_call_at_most_the_timeout_and_loses_no_count(
    server: RedisServer,
) -> None:
    """Redis frozen (SIGSTOP): writes, reads and LLM calls return within the configured timeout;
    the increments are kept and written once Redis answers again, each counted once."""
    configure_token_usage(server.url, prefix="frozen:", timeout=0.2)
    assert flush(10)  # nothing of an earlier test left
    before = token_usage_repo.stats()
    await token_usage_repo.increment_total_usage("uf", 1, "2024-01-01")  # connected, script loaded
    server.pause()
    bound = 0.2 * 3  # the timeout, with room for a loaded machine: not the seconds of retries

    async def timed(call: Any) -> tuple[float, Any]:
        started = time.monotonic()
        result = await call
        return time.monotonic() - started, result

    took, _ = await timed(token_usage_repo.increment_total_usage("uf", 10, "2024-01-01", run_id="r1"))
    assert took < bound
    took, _ = await timed(token_usage_repo.increment_detailed_usage("uf", 3, 4, "2024-01-01"))
    assert took < bound
    took, stats = await timed(token_usage_repo.get_usage_stats("uf", "2024-01-01"))
    assert took < bound and stats == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    took, limit = await timed(token_usage_repo.check_usage_limit("uf", "2024-01-01"))
    assert took < bound and limit["exceeded"] is False
    handlers = [create_token_callback("uf", "2024-01-01"), create_detailed_token_callback("uf", "2024-01-01")]
    llm = LLM(provider="offline")
    for _ in range(3):
        took, response = await timed(llm.achat("hello", callbacks=handlers))
        assert took < 2 * bound  # two handlers, each bounded
    assert token_usage_repo.stats()["deferred"] - before["deferred"] >= 5
    server.resume()
    assert flush(30)
    stats = await token_usage_repo.get_usage_stats("uf", "2024-01-01")
    tokens = response.usage
    assert stats["total_tokens"] == 1 + 10 + 7 + 3 * 2 * tokens.total_tokens
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (
        3 + 3 * tokens.input_tokens,
        4 + 3 * tokens.output_tokens,
    )
    after = token_usage_repo.stats()
    assert (after["failed"], after["dropped"], after["pending"]) == (before["failed"], before["dropped"], 0)
