"""A log-bucket histogram: percentiles within 1 % in bounded memory.

Values (milliseconds) fall into buckets whose bounds grow by a constant ratio
``gamma = (1 + a) / (1 - a)`` with ``a = 0.01`` (the DDSketch mapping), so any
reported percentile is within 1 % of a value actually observed at that rank.
Values are clamped to ``[MIN_VALUE, MAX_VALUE]``, which bounds a histogram to
about 1,400 buckets however many values it sees (a few dozen in practice)::

    h = LogHistogram()
    for ms in latencies:
        h.add(ms)
    h.percentile(0.99), h.summary()
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["RELATIVE_ACCURACY", "LogHistogram"]

RELATIVE_ACCURACY = 0.01
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_INV_LOG_GAMMA = 1.0 / math.log(_GAMMA)
_REPR_FACTOR = 2.0 / (1.0 + _GAMMA)  # bucket i represents 2 * gamma**i / (1 + gamma)
MIN_VALUE = 1e-3  # 1 microsecond, in ms: smaller values count in the zero bucket
MAX_VALUE = 1e9  # about 11.5 days, in ms


class LogHistogram:
    """Counts of values per logarithmic bucket, plus exact count, sum, min and max.

    Not locked: the owner serialises ``add`` (``MetricsCallbacks`` holds its lock).
    """

    __slots__ = ("_buckets", "_zero", "count", "max", "min", "total")

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self._zero = 0
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, value: float) -> None:
        """Record one value (negative and non-finite values are ignored)."""
        if not value >= 0.0:  # also rejects NaN
            return
        if value > MAX_VALUE:
            if value == math.inf:
                return
            value = MAX_VALUE
        self.count += 1
        self.total += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if value < MIN_VALUE:
            self._zero += 1
            return
        key = math.ceil(math.log(value) * _INV_LOG_GAMMA)
        buckets = self._buckets
        buckets[key] = buckets.get(key, 0) + 1

    @property
    def bucket_count(self) -> int:
        """Buckets in use (memory is proportional to this)."""
        return len(self._buckets) + (1 if self._zero else 0)

    def percentile(self, q: float) -> float | None:
        """The value at quantile ``q`` (0..1, nearest rank), or None when empty."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = self._zero
        if seen >= rank:
            return self.min
        for key in sorted(self._buckets):
            seen += self._buckets[key]
            if seen >= rank:
                value = _REPR_FACTOR * _GAMMA**key
                return min(max(value, self.min), self.max)
        return self.max

    def summary(self) -> dict[str, Any]:
        """``count``, ``min``, ``max``, ``mean``, ``p50``, ``p95``, ``p99`` (JSON-safe)."""
        if self.count == 0:
            return {"count": 0, "min": None, "max": None, "mean": None, "p50": None, "p95": None, "p99": None}
        return {
            "count": self.count,
            "min": self.min,
            "max": self.max,
            "mean": self.total / self.count,
            "p50": self.percentile(0.50),
            "p95": self.percentile(0.95),
            "p99": self.percentile(0.99),
        }
