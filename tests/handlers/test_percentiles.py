"""LogHistogram: percentiles within 1 % of the exact ones, in bounded memory."""

from __future__ import annotations

import math
import random

import pytest

from llmhooks.handlers._percentiles import RELATIVE_ACCURACY, LogHistogram


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_within_one_percent_of_exact(seed: int) -> None:
    """p50/p95/p99 of 50,000 skewed latencies are within 1 % of the exact nearest-rank values."""
    rng = random.Random(seed)
    values = [rng.lognormvariate(5, 1.5) for _ in range(50_000)]
    h = LogHistogram()
    for v in values:
        h.add(v)
    for q in (0.5, 0.95, 0.99):
        got, want = h.percentile(q), exact(values, q)
        assert got is not None
        assert abs(got - want) <= RELATIVE_ACCURACY * want * 1.0001, (q, got, want)
    summary = h.summary()
    assert summary["count"] == 50_000
    assert summary["min"] == min(values) and summary["max"] == max(values)
    assert summary["mean"] == pytest.approx(sum(values) / len(values))


def test_memory_is_bounded_whatever_the_values() -> None:
    """Values spread over 12 orders of magnitude still use at most ~1,400 buckets."""
    h = LogHistogram()
    rng = random.Random(0)
    for _ in range(200_000):
        h.add(10 ** rng.uniform(-4, 10))
    assert h.bucket_count <= 1_400


def test_empty_and_invalid_values() -> None:
    """An empty histogram reports None; negative, NaN and infinite values are ignored."""
    h = LogHistogram()
    assert h.percentile(0.5) is None
    assert h.summary()["p99"] is None
    for bad in (-1.0, math.nan, math.inf):
        h.add(bad)
    assert h.count == 0
    h.add(0.0)
    assert h.percentile(0.5) == 0.0
