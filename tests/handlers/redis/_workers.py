"""Worker processes for the cross-process tests: ``python -m tests.handlers.redis._workers KIND ...``.

- ``budget URL PREFIX NAME CALLS``: CALLS calls of $0.01 on a shared $1.00 budget; prints the
  admitted count as JSON.
- ``hold URL PREFIX NAME LEASE``: reserves one $0.60 call and never finishes it; prints
  ``reserved`` and sleeps until killed.
- ``ship URL STREAM CALLS``: CALLS offline LLM calls shipped to STREAM; prints the events
  of each type it emitted, as JSON (the ground truth a collector must match).
- ``Stuck``: a handler that hangs on its first event (a collector that dies mid-batch);
  ``Slow``: one that takes 5 ms per event.
- ``rate URL PREFIX NAME CALLS RPM``: CALLS calls through a shared limit of RPM per minute that
  never waits (``max_wait=0``); prints the admitted count as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

from llmhooks import LLM, BudgetExceeded, Callbacks, Event, RateLimitExceeded, flush, llm_run, run_context
from llmhooks.handlers.redis import RedisCostLimiter, RedisRateLimiter, RedisStreamShipper


class Counting(Callbacks):
    """Counts events by type (the ground truth of what was shipped)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def on_event(self, event: Event) -> None:
        self.counts[event.type] += 1


class Stuck(Callbacks):
    """Hangs on its first event, after saying so on stdout."""

    def on_event(self, event: Event) -> None:
        print("stuck", flush=True)
        time.sleep(3600)


class Slow(Callbacks):
    """Takes 5 ms per event (so one collector cannot drain a stream alone)."""

    def on_event(self, event: Event) -> None:
        time.sleep(0.005)


def ship(url: str, stream: str, calls: int) -> None:
    truth = Counting()
    llm = LLM(provider="offline", callbacks=[truth, RedisStreamShipper(url, stream=stream)])
    for i in range(calls):
        with run_context(user_id=f"u{i % 3}"):
            llm.chat(f"hello number {i}")
    assert flush(30)
    print(json.dumps(dict(truth.counts)), flush=True)


def budget(url: str, prefix: str, name: str, calls: int) -> None:
    limiter = RedisCostLimiter(max_cost=1.0, estimate=0.01, redis=url, prefix=prefix, name=name, timeout=5.0)
    admitted = 0
    for _ in range(calls):
        try:
            with llm_run(provider="p", model="m", callbacks=[limiter]) as run:
                run.finish(input_tokens=1, output_tokens=1, cost=0.01)
            admitted += 1
        except BudgetExceeded:
            pass
    print(json.dumps({"admitted": admitted}), flush=True)


def hold(url: str, prefix: str, name: str, lease: float) -> None:
    limiter = RedisCostLimiter(max_cost=1.0, estimate=0.60, redis=url, prefix=prefix, name=name, lease=lease)
    run = llm_run(provider="p", model="m", callbacks=[limiter])
    run.__enter__()
    print("reserved", flush=True)
    time.sleep(3600)


def rate(url: str, prefix: str, name: str, calls: int, rpm: int) -> None:
    limiter = RedisRateLimiter(
        requests_per_minute=rpm, max_wait=0, redis=url, prefix=prefix, name=name, timeout=5.0
    )
    admitted = 0
    for _ in range(calls):
        try:
            with llm_run(provider="p", model="m", callbacks=[limiter]) as run:
                run.finish(input_tokens=1, output_tokens=1)
            admitted += 1
        except RateLimitExceeded:
            pass
    print(json.dumps({"admitted": admitted}), flush=True)


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    if kind == "budget":
        budget(args[0], args[1], args[2], int(args[3]))
    elif kind == "hold":
        hold(args[0], args[1], args[2], float(args[3]))
    elif kind == "ship":
        ship(args[0], args[1], int(args[2]))
    elif kind == "rate":
        rate(args[0], args[1], args[2], int(args[3]), int(args[4]))
    else:
        raise SystemExit(f"unknown worker {kind!r}")
