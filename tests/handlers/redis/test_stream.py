"""The event stream on a real Redis: shipped once, collected once, through restarts and crashes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import redis
from tests.handlers.redis._server import RedisServer, free_port, own_stream

from llmhooks import LLM, Callbacks, Event, flush, run_context
from llmhooks.core.stats import stats_for
from llmhooks.handlers.collector import Collector
from llmhooks.handlers.redis import RedisStreamConsumer, RedisStreamShipper, RedisTokenLedger
from llmhooks.handlers.shipping import encode_event
from llmhooks.testing import RecordingCallbacks

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


class Counting(Callbacks):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        with self.lock:
            self.counts[event.type] += 1


def _collect(
    url: str, stream: str, handlers: list[Callbacks], group: str = "g", idle: float = 0.5
) -> Collector:
    collector = Collector(RedisStreamConsumer(url, stream=stream, group=group), handlers, block=0.05)
    collector.run(idle_exit=idle)
    return collector


def test_every_event_arrives_once_as_it_was(redis_url: str, redis_prefix: str) -> None:
    """Plain and streamed calls: the collector rebuilds the same events, user ids included."""
    truth = RecordingCallbacks()
    llm = LLM(provider="offline", callbacks=[truth, RedisStreamShipper(redis_url, stream=redis_prefix + "s")])
    with run_context(user_id="alice"):
        for i in range(20):
            llm.chat(f"what is {i} plus 1?")
        for _ in llm.stream("tell me a story"):
            pass
    assert flush(10)
    got = RecordingCallbacks()
    collector = _collect(redis_url, redis_prefix + "s", [got])
    assert collector.stats.handled == len(truth.events) and collector.stats.duplicates == 0
    key = lambda e: (e.run_id, e.type, getattr(e, "index", 0))  # noqa: E731
    assert sorted(map(key, got.events)) == sorted(map(key, truth.events))
    by_key = {key(e): e for e in got.events}
    for event in truth.events:
        assert by_key[key(event)].to_dict() == event.to_dict()
    assert {e.user_id for e in got.events} == {"alice"}


def test_a_batch_resent_after_a_timeout_is_handled_once(server: RedisServer) -> None:
    """Redis frozen during an export: the batch lands, is resent, and is still handled once."""
    stream = own_stream()
    shipper = RedisStreamShipper(server.url, stream=stream, timeout=0.2, retry_for=20)
    truth = RecordingCallbacks()
    llm = LLM(provider="offline", callbacks=[truth])
    for i in range(25):
        llm.chat(f"call {i}")
    payloads = [encode_event(e) for e in truth.events]
    assert shipper.send(payloads[:1])  # connected
    server.pause()
    sender = threading.Thread(target=shipper.send, args=(payloads[1:],))
    sender.start()
    deadline = time.monotonic() + 10
    while shipper.stats()["retries"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    server.resume()
    sender.join(20)
    length = redis.Redis.from_url(server.url).xlen(stream)
    assert length > len(payloads)  # the timed-out batch was applied, then resent
    got = Counting()
    collector = _collect(server.url, stream, [got])
    assert collector.stats.handled == len(payloads) == 50
    assert collector.stats.duplicates == length - len(payloads)
    assert got.counts == Counter({"llm.start": 25, "llm.end": 25})


def test_redis_killed_and_restarted_mid_load_loses_nothing_and_counts_nothing_twice(
    server: RedisServer,
) -> None:
    """kill -9 with append-only persistence while workers ship and a collector reads."""
    truth, got = Counting(), Counting()
    stream = own_stream()
    shipper = RedisStreamShipper(server.url, stream=stream, timeout=0.3)
    llm = LLM(provider="offline", callbacks=[truth, shipper])
    consumer = RedisStreamConsumer(server.url, stream=stream, group="g", timeout=0.3)
    collector = Collector(consumer, [got], block=0.05, batch_size=32)
    stop = threading.Event()
    reader = threading.Thread(target=collector.run, kwargs={"stop": stop})
    reader.start()
    try:
        for i in range(300):
            llm.chat(f"call {i}")
            if i == 100:
                server.kill()
            if i == 150:
                server.start()
            if i % 10 == 0:
                time.sleep(0.01)
        assert flush(60)
        deadline = time.monotonic() + 60
        while True:  # until the group has nothing left to read or to acknowledge
            backlog = consumer.backlog()
            if collector.stats.handled >= 600 and backlog["lag"] == 0 and backlog["pending"] == 0:
                break
            assert time.monotonic() < deadline and reader.is_alive(), (collector.stats, backlog)
            time.sleep(0.05)
    finally:
        stop.set()
        reader.join(30)
    assert not reader.is_alive()
    assert got.counts == truth.counts == Counter({"llm.start": 300, "llm.end": 300})
    assert collector.stats.handled == 600 and collector.stats.errors > 0


class Slow(Counting):
    def on_event(self, event: Event) -> None:
        time.sleep(0.05)
        super().on_event(event)


def test_a_slow_collectors_batch_is_not_taken_over_while_it_works(redis_url: str, redis_prefix: str) -> None:
    """Batches taking longer than claim_idle: the live collector extends its claims; nothing twice."""
    truth = RecordingCallbacks()
    llm = LLM(provider="offline", callbacks=[truth, RedisStreamShipper(redis_url, stream=redis_prefix + "s")])
    for i in range(15):
        llm.chat(f"call {i}")
    assert flush(10)
    got = [Slow(), Slow()]
    # one batch of 30 events: one collector takes it (1.5 s), the other looks for stale
    # entries every 0.2 s; claims last 1 s unless extended
    collectors = [
        Collector(
            RedisStreamConsumer(redis_url, stream=redis_prefix + "s", group="g", claim_idle=1.0),
            [handler],
            batch_size=30,
            block=0.05,
            claim_every=0.2,
        )
        for handler in got
    ]
    threads = [threading.Thread(target=c.run, kwargs={"idle_exit": 1.0}) for c in collectors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum((g.counts for g in got), Counter()) == Counter({"llm.start": 15, "llm.end": 15})
    assert sum(c.stats.duplicates for c in collectors) == 0


def test_malformed_entries_are_counted_and_acknowledged(redis_url: str, redis_prefix: str) -> None:
    """Entries that are not llmhooks events never stall the group."""
    r = redis.Redis.from_url(redis_url)
    r.xadd(redis_prefix + "s", {"e": "not json"})
    r.xadd(redis_prefix + "s", {"e": json.dumps({"type": "no.such.type", "event_id": "x-1"})})
    r.xadd(redis_prefix + "s", {"other": "field"})
    collector = _collect(redis_url, redis_prefix + "s", [Counting()])
    assert (collector.stats.malformed, collector.stats.handled) == (3, 0)
    assert collector.stats.backlog["pending"] == 0 and collector.stats.backlog["lag"] == 0


def test_the_shipper_never_blocks_callers_while_redis_is_down(server: RedisServer) -> None:
    """Redis stopped: calls go on at full speed; the queued events are delivered once it is back."""
    truth = Counting()
    stream = own_stream()
    shipper = RedisStreamShipper(server.url, stream=stream, timeout=0.2)
    llm = LLM(provider="offline", callbacks=[truth, shipper])
    server.stop()
    started = time.monotonic()
    for i in range(200):
        llm.chat(f"call {i}")
    assert time.monotonic() - started < 0.5
    server.start()
    assert flush(60)
    got = Counting()
    _collect(server.url, stream, [got])
    assert got.counts == truth.counts


def _ship(url: str, stream: str, calls: int) -> Counter[str]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.handlers.redis._workers", "ship", url, stream, str(calls)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return Counter(json.loads(out))


def _collector(url: str, stream: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [str(BIN / "llmhooks"), "collect", "--redis", url, "--stream", stream, "--group", "g", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_collectors_share_a_group_and_take_over_a_dead_ones_entries(
    redis_url: str, redis_prefix: str
) -> None:
    """A collector killed mid-batch: the two others share the stream and handle its entries once."""
    truth = _ship(redis_url, redis_prefix + "s", 50)
    dead = _collector(
        redis_url,
        redis_prefix + "s",
        "--batch",
        "50",
        "--claim-idle",
        "0.5",
        "tests.handlers.redis._workers:Stuck",
    )
    assert dead.stdout is not None and dead.stdout.readline().strip() == "stuck"
    dead.send_signal(signal.SIGKILL)
    dead.wait(10)
    args = ["--claim-idle", "0.5", "--batch", "20", "--exit-when-idle", "1.5", "--progress", "0.3", "--json"]
    live = [
        _collector(redis_url, redis_prefix + "s", *args, "tokens", "tests.handlers.redis._workers:Slow")
        for _ in range(2)
    ]
    for proc in live:  # both are reading before the rest is shipped
        assert proc.stderr is not None and "feeding tokens" in proc.stderr.readline()
    truth += _ship(redis_url, redis_prefix + "s", 100)
    results = []
    for proc in live:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "events (+" in err and "pending" in err  # progress lines while it ran
        results.append(json.loads(out))
    stats = [r["collector"] for r in results]
    assert sum((Counter(s["by_type"]) for s in stats), Counter()) == truth
    assert all(s["handled"] > 0 for s in stats) and sum(s["duplicates"] for s in stats) == 0
    assert sum(s["claimed"] for s in stats) >= 50  # the dead collector's batch
    assert sum(r["handlers"]["tokens"]["calls"] for r in results) == 150


def test_collect_feeds_the_prometheus_exporter_behind_metrics_port(redis_url: str, redis_prefix: str) -> None:
    """``llmhooks collect --metrics-port N prometheus``: the workers' calls show on /metrics."""
    llm = LLM(provider="offline", callbacks=[RedisStreamShipper(redis_url, stream=redis_prefix + "s")])
    for i in range(7):
        llm.chat(f"call {i}")
    assert flush(10)
    port = free_port()
    proc = _collector(
        redis_url, redis_prefix + "s", "--metrics-port", str(port), "--progress", "0", "prometheus"
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
            except OSError:
                body = ""
            requests = [line for line in body.splitlines() if line.startswith("llmhooks_llm_requests_total{")]
            if requests and requests[0].endswith(" 7.0"):
                assert 'model="llmhooks-offline"' in requests[0]
                break
            assert time.monotonic() < deadline and proc.poll() is None, body[-2000:]
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_collect_cli_rejects_a_bad_handler_spec(redis_url: str, redis_prefix: str) -> None:
    """An unknown handler or unreadable arguments: exit status 2 and the reason."""
    for spec, reason in (("nosuch", "has no 'nosuch'"), ("record(path=open('x'))", "must be literals")):
        proc = _collector(redis_url, redis_prefix + "s", spec)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 2 and reason in err


def test_entries_whose_ledger_write_failed_stay_pending_until_it_succeeds(
    redis_url: str, redis_prefix: str, server: RedisServer
) -> None:
    """The ledger's Redis away while a collector runs: nothing is acknowledged until the ledger counted it."""
    truth = RecordingCallbacks()
    llm = LLM(provider="offline", callbacks=[truth, RedisStreamShipper(redis_url, stream=redis_prefix + "s")])
    with run_context(user_id="u"):
        for i in range(10):
            llm.chat(f"call {i}")
    assert flush(10)
    server.stop()
    ledger = RedisTokenLedger(server.url, prefix="c:", background=False, retry_for=0, timeout=0.2)
    consumer = RedisStreamConsumer(redis_url, stream=redis_prefix + "s", group="g")
    collector = Collector(consumer, [ledger], block=0.05)
    stop = threading.Event()
    reader = threading.Thread(target=collector.run, kwargs={"stop": stop})
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while collector.stats.errors < 2:
            assert time.monotonic() < deadline and reader.is_alive()
            time.sleep(0.02)
        assert consumer.backlog()["pending"] == 20  # read, not acknowledged: the ledger has not counted it
        server.start()
        while consumer.backlog()["pending"]:
            assert time.monotonic() < deadline and reader.is_alive()
            time.sleep(0.05)
    finally:
        stop.set()
        reader.join(30)
    assert ledger.totals("u").calls == 10
    assert (collector.stats.handled, collector.stats.duplicates, collector.stats.handler_errors) == (20, 0, 0)


def test_shipper_drops_and_failures_are_counted_in_stats_and_reported_at_close(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis away and a small queue: what was dropped or given up shows in stats() and at close()."""
    server.stop()
    shipper = RedisStreamShipper(server.url, stream="s", timeout=0.1, retry_for=0.3, queue_size=5)
    llm = LLM(provider="offline", callbacks=[shipper])
    for i in range(100):
        llm.chat(f"call {i}")
    assert flush(30)
    stats = shipper.stats()
    assert stats["dropped"] > 0 and stats["failed"] > 0
    assert stats["dropped"] + stats["failed"] == 200 and stats["shipped"] == 0 and stats["queued"] == 0
    # one delivery engine: the core's per-handler queue, whose drops the handler's stats show too
    assert stats_for(shipper).snapshot()["dropped"] == stats["dropped"]
    with caplog.at_level(logging.WARNING, logger="llmhooks.ship"):
        shipper.close()
    assert f"{stats['dropped']} dropped (queue full)" in caplog.text
    assert f"{stats['failed']} given up" in caplog.text


def test_shipper_losses_are_reported_when_the_process_exits(tmp_path: Path) -> None:
    """A worker exiting after losing events says so on stderr, without anyone calling close()."""
    code = (
        "from llmhooks import LLM, flush\n"
        "from llmhooks.handlers.redis import RedisStreamShipper\n"
        f"url = 'redis://127.0.0.1:{free_port()}/0'\n"
        "s = RedisStreamShipper(url, timeout=0.1, retry_for=0.2, queue_size=3)\n"
        "llm = LLM(provider='offline', callbacks=[s])\n"
        "for i in range(20):\n"
        "    llm.chat('hi')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True
    )
    assert "EventShipper" in proc.stderr and "dropped (queue full)" in proc.stderr, proc.stderr


def test_entries_trimmed_before_they_were_collected_are_counted_and_reported(
    redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """MAXLEN trims 80 entries no collector had read: the collector counts and reports exactly those."""
    truth = RecordingCallbacks()
    llm = LLM(provider="offline", callbacks=[truth])
    for i in range(55):
        llm.chat(f"call {i}")
    payloads = [encode_event(e) for e in truth.events]
    r = redis.Redis.from_url(redis_url)
    consumer = RedisStreamConsumer(redis_url, stream=redis_prefix + "s", group="g")
    for payload in payloads[:10]:
        r.xadd(redis_prefix + "s", {"e": payload})
    collector = Collector(consumer, [Counting()], block=0.05)
    collector.run(idle_exit=0.3)
    assert collector.stats.handled == 10
    for payload in payloads[10:]:  # 100 more while no collector runs; the stream keeps the last 20
        r.xadd(redis_prefix + "s", {"e": payload}, maxlen=20, approximate=False)
    with caplog.at_level(logging.WARNING, logger="llmhooks.collect"):
        collector.run(idle_exit=0.3)
    assert (collector.stats.handled, collector.stats.trimmed) == (30, 80)
    assert "80 entries were trimmed from the stream before they were collected" in caplog.text
    assert collector.stats.backlog["trimmed"] == 80 and collector.stats.backlog["lag"] == 0
    assert "80 trimmed" in collector.stats.line("c", 0.0)


class Broken(Callbacks):
    """A batch handler with a bug: redelivering its batch would not cure it."""

    def on_batch(self, events: list[Event]) -> None:
        raise ValueError("a bug")


def test_a_batch_handlers_bug_is_counted_and_does_not_stall_the_group(
    redis_url: str, redis_prefix: str
) -> None:
    """Not a server away but a bug: logged, counted in handler_errors, the entries acknowledged."""
    llm = LLM(provider="offline", callbacks=[RedisStreamShipper(redis_url, stream=redis_prefix + "s")])
    for i in range(3):
        llm.chat(f"call {i}")
    assert flush(10)
    got = Counting()
    collector = _collect(redis_url, redis_prefix + "s", [Broken(), got])
    assert (collector.stats.handled, collector.stats.handler_errors) == (6, 1)
    assert got.counts == Counter({"llm.start": 3, "llm.end": 3})
    assert collector.stats.backlog["pending"] == 0


def test_pending_entries_trimmed_before_they_were_handled_count_as_trimmed(
    redis_url: str, redis_prefix: str
) -> None:
    """A dead collector's entries trimmed away before another took them over: counted, not silent."""
    stream = redis_prefix + "s"
    r = redis.Redis.from_url(redis_url)
    dead = RedisStreamConsumer(redis_url, stream=stream, group="g", consumer="dead", claim_idle=0.1)
    for i in range(5):
        r.xadd(stream, {"e": json.dumps({"type": "llm.start", "event_id": f"x-{i}"})})
    assert len(dead.read(10, 0.05)) == 5  # read, never acknowledged: it died
    r.xtrim(stream, maxlen=0, approximate=False)
    live = RedisStreamConsumer(redis_url, stream=stream, group="g", consumer="live", claim_idle=0.1)
    collector = Collector(live, [Counting()], block=0.05, claim_every=0)
    deadline = time.monotonic() + 10
    while collector.stats.trimmed < 5:  # taken over once idle for claim_idle
        assert time.monotonic() < deadline
        collector.step()
    assert collector.stats.trimmed == 5 and collector.stats.handled == 0
    backlog = live.backlog()
    assert (backlog["trimmed"], backlog["pending"]) == (5, 0)
