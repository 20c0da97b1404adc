"""TokenCounter: prompt, completion and total tokens, per model, safe under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from llmhooks import LLMEndEvent, TokenCounter

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


def test_models_beyond_max_models_are_counted_under_other() -> None:
    """A new model name per call cannot grow the table: the rest go to "(other)", totals exact."""
    counter = TokenCounter(max_models=3)
    for i in range(10):
        llm_call(counter, model=f"ft:model-{i}", input_tokens=10, output_tokens=1)
    assert set(counter.by_model) == {"ft:model-0", "ft:model-1", "ft:model-2", "(other)"}
    assert counter.by_model["(other)"]["calls"] == 7
    assert counter.by_model["(other)"]["prompt_tokens"] == 70
    assert (counter.calls, counter.prompt_tokens, counter.total_tokens) == (10, 100, 110)


def test_default_bound_holds_over_thousands_of_names() -> None:
    """20,000 distinct model names: 1,000 rows plus "(other)", every call counted."""
    counter = TokenCounter()
    assert counter.max_models == 1000
    end = counter.on_llm_end
    for i in range(20_000):
        end(LLMEndEvent(model=f"m{i}", input_tokens=1, output_tokens=1))
    assert len(counter.by_model) == 1001
    assert counter.by_model["(other)"]["calls"] == 19_000
    assert counter.calls == 20_000 and counter.total_tokens == 40_000


def test_bad_max_models_is_refused() -> None:
    """max_models must be a whole number >= 1."""
    with pytest.raises(ValueError, match="max_models must be >= 1, got 0"):
        TokenCounter(max_models=0)
    with pytest.raises(TypeError, match=r"max_models must be an integer, got '5' \(str\)"):
        TokenCounter(max_models="5")  # type: ignore[arg-type]
