"""Scale-out: worker processes on one shared budget, shipping every event to one stream, read by collectors.

Run: python bench/scaleout.py [--workers 8] [--calls 10000] [--collectors 2] [--json]

It starts a redis-server of its own (a free port, a temporary folder, no persistence),
then ``--collectors`` ``llmhooks collect`` processes (one consumer group, handlers
``tokens`` and ``ledger``), then ``--workers`` processes making ``--calls`` offline LLM
calls each with ``RedisCostLimiter`` (a budget that runs out part-way) and
``RedisStreamShipper``. Each worker counts what it emitted (the ground truth).

Checked (exit status 1 if any fails): the events the collectors handled, by type, and
their token totals (``TokenCounter``) and per-user ledger equal the ground truth
exactly; no event was handled twice; the budget was never overspent by more than one
in-flight call per worker.

Reported: end-to-end throughput (events from the workers' start to the last one handled),
event-to-handled lag p50/p99 per collector, and the caller-side cost per call, as CPU
(``time.thread_time_ns`` of the calling thread) and as wall-clock time (``perf_counter_ns``:
what the caller waited, the shared budget's round trips to Redis included), medians of
interleaved repeats in this process, with the shipper as a ratio to the same calls without it: with the shared
budget (the scale-out run's handlers), and with a handler that takes the events and does
nothing (so both sides build the same events; "no handler" is shown for reference).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from llmhooks import LLM, BudgetExceeded, Callbacks, Event, LLMEndEvent, flush, run_context  # noqa: E402
from llmhooks.handlers.redis import (  # noqa: E402
    RedisCostLimiter,
    RedisStreamConsumer,
    RedisStreamShipper,
    TokenLedger,
)

PRICES = {"llmhooks-offline": {"input": 1.0, "output": 4.0}}  # USD per million tokens, illustrative
STREAM, GROUP, PREFIX = "bench:events", "bench", "bench:"
MAX_TOKENS = 16


class Truth(Callbacks):
    """What a worker emitted: events by type, tokens, and calls per user."""

    def __init__(self) -> None:
        self.by_type: Counter[str] = Counter()
        self.input = self.output = 0
        self.users: Counter[str] = Counter()

    def on_event(self, event: Event) -> None:
        self.by_type[event.type] += 1

    def on_llm_end(self, event: LLMEndEvent) -> None:
        self.by_type[event.type] += 1
        self.input += event.input_tokens or 0
        self.output += event.output_tokens or 0
        self.users[event.user_id or "anonymous"] += 1


def _prompt(worker: int, i: int) -> str:
    return f"worker {worker} call {i}: " + "please echo these words " * (1 + i % 4)


def worker_main(url: str, worker: int, calls: int, budget: float) -> None:
    limiter = RedisCostLimiter(
        max_cost=budget, redis=url, name="bench", prefix=PREFIX, prices=PRICES, lease=30, timeout=2.0
    )
    truth = Truth()
    shipper = RedisStreamShipper(url, stream=STREAM, maxlen=None)
    llm = LLM(provider="offline", callbacks=[limiter, truth, shipper])
    refused = 0
    biggest = 0.0
    for i in range(calls):
        prompt = _prompt(worker, i)
        with run_context(user_id=f"user-{(worker * 7 + i) % 10}"):
            try:
                llm.chat(prompt, max_tokens=MAX_TOKENS)
            except BudgetExceeded:
                refused += 1
    assert flush(120), "the shipper did not deliver within 120 s"
    for i in range(calls):  # the most one call could cost: its reservation
        biggest = max(biggest, limiter.estimate(_start(worker, i)) or 0.0)
    out = {
        "by_type": dict(truth.by_type),
        "input_tokens": truth.input,
        "output_tokens": truth.output,
        "users": dict(truth.users),
        "refused": refused,
        "max_call_cost": biggest,
        "shipper": shipper.stats(),
    }
    print(json.dumps(out), flush=True)


def _start(worker: int, i: int) -> Any:
    from llmhooks import LLMStartEvent

    return LLMStartEvent(
        provider="offline",
        model="llmhooks-offline",
        messages=[{"role": "user", "content": _prompt(worker, i)}],
        max_tokens=MAX_TOKENS,
    )


# the redis-server of this run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(folder: str) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("bench/scaleout.py needs redis-server (Debian: apt install redis-server)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            folder,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("redis-server did not start") from None
            time.sleep(0.02)
    return proc, f"redis://127.0.0.1:{port}/0"


# caller-side cost, in this process


class Sink(Callbacks):
    """Takes every event and does nothing: the cost of building the events, shipped or not."""

    def on_event(self, event: Event) -> None:
        pass


def caller_cost(url: str, calls: int = 1000, repeats: int = 7) -> dict[str, dict[str, float]]:
    """Median ns per call of each case, interleaved repeats: ``cpu`` (the calling thread's
    CPU time) and ``wall`` (wall-clock time the caller spent, waits included)."""
    budget = RedisCostLimiter(max_cost=1e9, redis=url, name="cost", prefix=PREFIX, prices=PRICES)
    shipper = RedisStreamShipper(url, stream="bench:cost", maxlen=10_000)
    cases = {
        "none": LLM(provider="offline"),
        "sink": LLM(provider="offline", callbacks=[Sink()]),
        "shipper": LLM(provider="offline", callbacks=[shipper]),
        "budget": LLM(provider="offline", callbacks=[budget]),
        "budget+shipper": LLM(provider="offline", callbacks=[budget, shipper]),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    walls: dict[str, list[float]] = {name: [] for name in cases}
    for llm in cases.values():  # warm up
        for _ in range(100):
            llm.chat("warm up", max_tokens=MAX_TOKENS)
    flush(60)
    for _ in range(repeats):
        for name, llm in cases.items():
            t0, w0 = time.thread_time_ns(), time.perf_counter_ns()
            for i in range(calls):
                llm.chat(f"cost {i} please echo", max_tokens=MAX_TOKENS)
            samples[name].append((time.thread_time_ns() - t0) / calls)
            walls[name].append((time.perf_counter_ns() - w0) / calls)
            flush(60)  # the shipper's backlog must not spill into the next case
    return {
        "cpu": {name: statistics.median(values) for name, values in samples.items()},
        "wall": {name: statistics.median(values) for name, values in walls.items()},
    }


# the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--collectors", type=int, default=2)
    parser.add_argument(
        "--budget-share", type=float, default=0.6, help="budget as a share of all calls' cost"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-cost", action="store_true", help="skip the caller-side cost measurement")
    parser.add_argument("--worker", nargs=4, metavar=("URL", "N", "CALLS", "BUDGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, n, calls, budget = args.worker
        worker_main(url, int(n), int(calls), float(budget))
        return 0

    folder = tempfile.mkdtemp(prefix="llmhooks-scaleout-")
    server, url = start_redis(folder)
    try:
        return run(args, url)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _budget(url: str, workers: int, calls: int, share: float) -> float:
    """``share`` of what all calls would cost at their estimates (upper bounds of their real costs)."""
    limiter = RedisCostLimiter(max_cost=1.0, redis=url, name="estimate", prefix=PREFIX, prices=PRICES)
    return share * sum(limiter.estimate(_start(w, i)) or 0.0 for w in range(workers) for i in range(calls))


def run(args: argparse.Namespace, url: str) -> int:
    budget = _budget(url, args.workers, args.calls, args.budget_share)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    llmhooks_cli = [sys.executable, "-m", "llmhooks"]
    logs = [
        Path(tempfile.mkstemp(prefix="llmhooks-collector-", suffix=".log")[1]) for _ in range(args.collectors)
    ]
    collectors = [
        subprocess.Popen(
            [
                *llmhooks_cli,
                *("collect", "--redis", url, "--stream", STREAM, "--group", GROUP, "--batch", "512"),
                *("--progress", "5", "--json", "tokens", f"ledger(prefix={PREFIX!r})"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )
        for log in logs
    ]
    deadline = time.monotonic() + 60
    while not all("feeding" in log.read_text() for log in logs):  # all reading before the first event
        if time.monotonic() > deadline or any(p.poll() is not None for p in collectors):
            raise SystemExit("a collector did not start: " + " ".join(log.read_text() for log in logs))
        time.sleep(0.05)
    started = time.time()
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", url, str(n), str(args.calls), repr(budget)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(args.workers)
    ]
    truths = []
    for proc in workers:
        out, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise SystemExit(f"worker failed: {err[-3000:]}")
        truths.append(json.loads(out))
    workers_done = time.time()
    consumer = RedisStreamConsumer(url, stream=STREAM, group=GROUP, consumer="bench-observer")
    while True:  # every entry delivered and acknowledged: stop the collectors (they finish their batch)
        backlog = consumer.backlog()
        if backlog["lag"] == 0 and backlog["pending"] == 0:
            break
        time.sleep(0.2)
    summaries = []
    for proc in collectors:
        proc.send_signal(signal.SIGTERM)
    for proc, log in zip(collectors, logs, strict=True):
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"collector failed: {log.read_text()[-3000:]}")
        summaries.append(json.loads(out))
        log.unlink()
    truth_types = sum((Counter(t["by_type"]) for t in truths), Counter())
    got_types = sum((Counter(s["collector"]["by_type"]) for s in summaries), Counter())
    events = sum(truth_types.values())
    calls_ended = truth_types["llm.end"]
    in_tokens = sum(t["input_tokens"] for t in truths)
    out_tokens = sum(t["output_tokens"] for t in truths)
    tokens = [s["handlers"]["tokens"] for s in summaries]
    users = sum((Counter(t["users"]) for t in truths), Counter())
    ledger = TokenLedger(url, prefix=PREFIX)
    cycle = ledger.cycles()
    rows = {r.user_id: r for c in cycle for r in ledger.listing(c)}
    spent = RedisCostLimiter(max_cost=budget, redis=url, name="bench", prefix=PREFIX, prices=PRICES).spent
    max_call = max(t["max_call_cost"] for t in truths)
    last = max(s["collector"]["last_handled"] or 0 for s in summaries)
    checks = {
        "events by type equal the ground truth": got_types == truth_types,
        "no event handled twice": sum(s["collector"]["handled"] for s in summaries) == events,
        "tokens equal the ground truth": (
            sum(t["prompt_tokens"] for t in tokens) == in_tokens
            and sum(t["completion_tokens"] for t in tokens) == out_tokens
            and sum(t["calls"] for t in tokens) == calls_ended
        ),
        "ledger per user equals the ground truth": (
            {u: r.calls for u, r in rows.items()} == dict(users)
            and sum(r.input_tokens for r in rows.values()) == in_tokens
            and sum(r.output_tokens for r in rows.values()) == out_tokens
        ),
        "budget overspent by at most one in-flight call per worker": spent
        <= budget + args.workers * max_call,
        "every collector took a share": all(s["collector"]["handled"] > 0 for s in summaries),
    }
    result: dict[str, Any] = {
        "workers": args.workers,
        "calls_per_worker": args.calls,
        "collectors": args.collectors,
        "events": events,
        "refused_calls": sum(t["refused"] for t in truths),
        "budget_usd": budget,
        "spent_usd": spent,
        "overspend_usd": max(0.0, spent - budget),
        "throughput_events_per_s": events / max(1e-9, last - started),
        "workers_seconds": workers_done - started,
        "lag_ms": [
            {"p50": s["collector"]["lag_ms"]["p50"], "p99": s["collector"]["lag_ms"]["p99"]}
            for s in summaries
        ],
        "handled_per_collector": [s["collector"]["handled"] for s in summaries],
        "checks": checks,
        "ok": all(checks.values()),
    }
    if not args.no_cost:
        measured = caller_cost(url)
        for kind in ("cpu", "wall"):
            cost = measured[kind]
            result[f"caller_{kind}_ns_per_call"] = cost
            result[f"caller_{kind}_ratio_shipper_vs_sink"] = cost["shipper"] / cost["sink"]
            result[f"caller_{kind}_ratio_budget_shipper_vs_budget"] = cost["budget+shipper"] / cost["budget"]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _report(result)
    return 0 if result["ok"] else 1


def _report(r: dict[str, Any]) -> None:
    print(
        f"scale-out: {r['workers']} workers x {r['calls_per_worker']} offline calls, "
        f"{r['collectors']} collectors"
    )
    print(f"  events shipped and handled   {r['events']}  (per collector: {r['handled_per_collector']})")
    print(f"  end-to-end throughput        {r['throughput_events_per_s']:,.0f} events/s")
    for i, lag in enumerate(r["lag_ms"]):
        if lag["p50"] is None:
            print(f"  collector {i} handled nothing")
            continue
        print(
            f"  collector {i} lag             p50 {lag['p50']:.1f} ms, p99 {lag['p99']:.1f} ms "
            "(event to handled)"
        )
    print(
        f"  budget                       ${r['budget_usd']:.4f}, spent ${r['spent_usd']:.4f}, "
        f"overspend ${r['overspend_usd']:.6f}, {r['refused_calls']} calls refused"
    )
    for kind, label in (("cpu", "caller CPU per call (us) "), ("wall", "caller wall per call (us)")):
        key = f"caller_{kind}_ns_per_call"
        if key not in r:
            continue
        c = {name: ns / 1000 for name, ns in r[key].items()}
        print(
            f"  {label}    no handler {c['none']:.1f}; events built, not shipped "
            f"{c['sink']:.1f}; shipped {c['shipper']:.1f} (x{r[f'caller_{kind}_ratio_shipper_vs_sink']:.2f})"
        )
        print(
            f"                               shared budget {c['budget']:.1f}; budget + shipper "
            f"{c['budget+shipper']:.1f} (x{r[f'caller_{kind}_ratio_budget_shipper_vs_budget']:.2f})"
        )
    for name, ok in r["checks"].items():
        print(f"  [{'ok' if ok else 'FAILED'}] {name}")


if __name__ == "__main__":
    sys.exit(main())
