"""Redis killed (SIGKILL) and restarted with append-only persistence in the middle of a load.

Workers on one shared budget ship every event to the stream; a collector feeds the token
ledger from it. Nothing may be lost or counted twice: the budget's spend, the ledger's
calls and tokens and the collected events all equal what the workers did, and every part
reconnects by itself.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from tests.handlers.redis._server import RedisServer, own_stream

from llmhooks import Callbacks, Event, flush, llm_run, run_context
from llmhooks.handlers.collector import Collector
from llmhooks.handlers.redis import (
    RedisCostLimiter,
    RedisStreamConsumer,
    RedisStreamShipper,
    RedisTokenLedger,
)

COST = 0.01  # USD per call: 10,000 micro-USD


class Truth(Callbacks):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        with self.lock:
            self.counts[event.type] += 1


def test_budget_ledger_and_stream_survive_a_kill_9_and_every_part_resumes(server: RedisServer) -> None:
    """Mid-load SIGKILL and restart: spend, ledger and collected events are exact afterwards."""
    url = server.url
    limiter = RedisCostLimiter(
        max_cost=1000.0, estimate=COST, redis=url, name="b", prefix="r:", on_unavailable="allow", timeout=0.3
    )
    stream = own_stream()
    shipper = RedisStreamShipper(url, stream=stream, timeout=0.3, retry_for=60)
    truth = Truth()
    ledger = RedisTokenLedger(url, prefix="r:", background=False, retry_for=0, timeout=0.3)
    consumer = RedisStreamConsumer(url, stream=stream, group="g", timeout=0.3)
    collector = Collector(consumer, [ledger], block=0.05, batch_size=64)
    stop = threading.Event()
    reader = threading.Thread(target=collector.run, kwargs={"stop": stop})
    reader.start()
    third = threading.Event()

    def worker(n: int) -> None:
        for i in range(150):
            with (
                run_context(user_id=f"u{n}"),
                llm_run(provider="p", model="m", callbacks=[limiter, truth, shipper]) as run,
            ):
                run.finish(input_tokens=10, output_tokens=3, cost=COST)
            if i == 50:
                third.set()
            time.sleep(0.002)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in workers:
        t.start()
    try:
        assert third.wait(30)
        server.kill()
        deadline = time.monotonic() + 10
        while collector.stats.errors == 0:  # the collector noticed: restart now
            assert time.monotonic() < deadline
            time.sleep(0.01)
        server.start()
        for t in workers:
            t.join(120)
        assert flush(60) and limiter.flush(30)
        deadline = time.monotonic() + 60
        while True:  # the collector drains the group by itself after the restart
            backlog = consumer.backlog()
            if backlog["lag"] == 0 and backlog["pending"] == 0:
                break
            assert time.monotonic() < deadline and reader.is_alive(), backlog
            time.sleep(0.05)
    finally:
        stop.set()
        reader.join(30)
    assert truth.counts == Counter({"llm.start": 600, "llm.end": 600})
    assert collector.stats.by_type == truth.counts and collector.stats.handled == 1200
    rows = ledger.listing()
    assert {r.user_id: r.calls for r in rows} == {f"u{n}": 150 for n in range(4)}
    assert all(r.input_tokens == 10 * r.calls and r.output_tokens == 3 * r.calls for r in rows)
    assert sum(r.cost_micros for r in rows) == 600 * 10_000
    assert round(limiter.spent * 1_000_000) == 600 * 10_000
    assert shipper.stats()["failed"] == 0 and shipper.stats()["dropped"] == 0
