"""Per-handler delivery statistics: calls, failures, timeouts, drops, latency.

How calls are counted, in a minute: counting must not slow dispatch, so each route (one
manager, one event type) has one ``itertools.count`` (atomic in CPython), stepped once
per dispatch however many handlers the route has. A handler's ``calls`` is the sum of
the counters of the routes it is in, minus ``skipped`` (dispatches an earlier handler
cut short with an ``Abort``, so this one was never called). Routes are replaced when
handlers change, and managers built per call are collected: their final counts are
folded into ``_base`` so the list of tracked counters stays short. Latency is sampled
on one dispatch in ``SAMPLE_EVERY``.
"""

from __future__ import annotations

from collections import deque
from itertools import count
from typing import Any

from llmhooks.core._forksafe import fork_safe_lock

__all__ = ["SAMPLE_EVERY", "HandlerStats", "drain_retired", "retire_later", "retire_routes", "stats_for"]

SAMPLE_EVERY = 16  # power of two: the hot path tests ``n & (SAMPLE_EVERY - 1)``
_SAMPLES = 512


def _count_value(counter: count[int]) -> int:
    # itertools.count has no public read; its repr is "count(N)"
    return int(repr(counter)[6:-1])


class HandlerStats:
    """What happened to one handler's deliveries, shared by every manager it is in."""

    __slots__ = (
        "_base",
        "_counters",
        "_lock",
        "_samples",
        "dropped",
        "failures",
        "name",
        "skipped",
        "timeouts",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self._base = 0  # calls counted by routes that no longer exist
        self._counters: list[count[int]] = []
        self.failures = 0
        self.timeouts = 0
        self.dropped = 0
        self.skipped = 0  # counted by a route, never called: an earlier handler aborted the dispatch
        self._samples: deque[float] = deque(maxlen=_SAMPLES)
        self._lock = fork_safe_lock()

    def track(self, counter: count[int]) -> None:
        """Count every dispatch that ``counter`` counts as a call to this handler."""
        with self._lock:
            self._counters.append(counter)

    def retire(self, counter: count[int], value: int) -> None:
        """Fold a route's final count in and stop tracking it (its manager changed or died)."""
        with self._lock:
            for i, c in enumerate(self._counters):
                if c is counter:
                    del self._counters[i]
                    self._base += value
                    break

    def add_failure(self) -> None:
        with self._lock:
            self.failures += 1

    def add_timeout(self) -> None:
        with self._lock:
            self.timeouts += 1

    def add_dropped(self, n: int = 1) -> None:
        with self._lock:
            self.dropped += n

    def add_skipped(self) -> None:
        with self._lock:
            self.skipped += 1

    def add_sample(self, seconds: float) -> None:
        self._samples.append(seconds)

    @property
    def calls(self) -> int:
        """Deliveries made to this handler (exact, but for deliveries racing a re-route)."""
        drain_retired()
        with self._lock:
            return self._base + sum(_count_value(c) for c in self._counters) - self.skipped

    def snapshot(self) -> dict[str, Any]:
        """Return ``calls, failures, timeouts, dropped, latency_mean_us, latency_p95_us``."""
        samples = sorted(self._samples)
        mean = p95 = None
        if samples:
            mean = sum(samples) / len(samples) * 1e6
            p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))] * 1e6
        return {
            "calls": self.calls,
            "failures": self.failures,
            "timeouts": self.timeouts,
            "dropped": self.dropped,
            "latency_mean_us": mean,
            "latency_p95_us": p95,
            "latency_samples": len(samples),
        }


_lock = fork_safe_lock()


def stats_for(handler: object) -> HandlerStats:
    """The one ``HandlerStats`` of ``handler``, kept on the handler itself."""
    stats = getattr(handler, "_llmhooks_stats", None)
    if stats is not None:
        return stats  # type: ignore[no-any-return]
    with _lock:
        stats = getattr(handler, "_llmhooks_stats", None)
        if stats is None:
            stats = HandlerStats(type(handler).__name__)
            try:
                object.__setattr__(handler, "_llmhooks_stats", stats)
            except AttributeError:  # __slots__ without room for it: stats per registration
                pass
    return stats


# routes of collected managers, queued by their finalizers: folding them there could run
# inside garbage collection while this thread holds a stats lock
_RETIRED: deque[list[tuple[count[int], tuple[HandlerStats, ...]]]] = deque()


def retire_routes(counted: list[tuple[count[int], tuple[HandlerStats, ...]]]) -> None:
    """Fold the final counts of replaced routes into their handlers' stats; empties ``counted``."""
    while counted:
        counter, stats = counted.pop()
        value = _count_value(counter)
        for st in stats:
            st.retire(counter, value)


def retire_later(counted: list[tuple[count[int], tuple[HandlerStats, ...]]]) -> None:
    """Queue a collected manager's routes; ``drain_retired`` folds them outside any lock."""
    _RETIRED.append(counted)


def drain_retired() -> None:
    """Fold every queued route list (called when routes change and when stats are read)."""
    while _RETIRED:
        try:
            counted = _RETIRED.popleft()
        except IndexError:
            return
        retire_routes(counted)
