"""TokenCounter: prompt, completion and total tokens, per model, safe under concurrency."""

from __future__ import annotations

import asyncio

from llmhooks import TokenCounter

from .calls import allm_call, in_tasks, in_threads, llm_call


def test_counts_prompt_completion_and_total_per_model() -> None:
    """Totals and a row per model, cached and reasoning tokens included."""
    counter = TokenCounter()
    llm_call(counter, model="gpt-4o", input_tokens=100, output_tokens=40, cached=60, reasoning=5)
    llm_call(counter, model="gpt-4o-mini", input_tokens=10, output_tokens=2)
    assert (counter.prompt_tokens, counter.completion_tokens, counter.total_tokens) == (110, 42, 152)
    assert (counter.cached_tokens, counter.reasoning_tokens, counter.calls) == (60, 5, 2)
    assert counter.by_model["gpt-4o"] == {
        "calls": 1,
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "total_tokens": 140,
        "cached_tokens": 60,
        "reasoning_tokens": 5,
    }
    assert counter.by_model["gpt-4o-mini"]["total_tokens"] == 12


def test_missing_usage_counts_as_zero_and_estimates_are_flagged() -> None:
    """A call without usage adds nothing; producer-estimated usage is counted and flagged."""
    counter = TokenCounter()
    llm_call(counter, input_tokens=None, output_tokens=None)
    llm_call(counter, input_tokens=5, output_tokens=5, usage_estimated=True)
    assert counter.total_tokens == 10
    assert counter.calls == 2
    assert counter.usage_estimated == 1
    assert counter.snapshot()["usage_estimated"] == 1


def test_reset() -> None:
    """reset() sets every count back to zero."""
    counter = TokenCounter()
    llm_call(counter)
    counter.reset()
    assert (counter.total_tokens, counter.by_model) == (0, {})


def test_50_concurrent_calls_in_threads() -> None:
    """50 overlapping calls in threads: every token counted once."""
    counter = TokenCounter()
    in_threads(50, lambda i: llm_call(counter, model=f"m{i % 3}", input_tokens=i, output_tokens=2))
    assert counter.prompt_tokens == sum(range(50))
    assert counter.completion_tokens == 100
    assert sum(row["calls"] for row in counter.by_model.values()) == 50


async def test_50_concurrent_calls_in_tasks() -> None:
    """50 overlapping calls as tasks: every token counted once."""
    counter = TokenCounter()
    await in_tasks(
        50, lambda i: allm_call(counter, input_tokens=i, output_tokens=2, body=lambda: asyncio.sleep(0.001))
    )
    assert counter.prompt_tokens == sum(range(50))
    assert counter.total_tokens == sum(range(50)) + 100
