"""Cost of each built-in handler per non-streaming LLM call, and MetricsCallbacks memory at 1M calls.

Run: python bench/handlers.py   (one process, interleaved repeats, medians of thread CPU time)

Each case is one ``with llm_run(...): run.finish(...)`` (start + end events) with one
handler. The baseline is the same call with a handler that does nothing on start and
end, measured in the same run; "overhead" is a case minus that baseline, and "x sink"
its ratio. Targets are on the overhead: what a handler adds to each call.
Memory: MetricsCallbacks fed 1,000,000 llm.end events (20 models, skewed latencies)
and 100,000 tool.end events, its deep size (everything it references) measured
after 10,000, 100,000 and 1,000,000 calls.
First call: in a fresh process each, a CostTracker or CostLimiter is built, then one
call is made; construction time, the first call's wall-clock time and its latency (as
its llm.end reports it) show where the price table is read.
Many models: a TokenCounter, a CostTracker and a CostLimiter fed 20,000 calls of
distinct model names (in a fresh process); the memory they and their caches keep
(tracemalloc, after gc) and the time taken.
"""

from __future__ import annotations

import gc
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import types
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import llmhooks
from llmhooks import (
    CallbackManager,
    Callbacks,
    CostLimiter,
    CostTracker,
    EventRecorder,
    LLMEndEvent,
    LLMStartEvent,
    LoggingCallbacks,
    MetricsCallbacks,
    PrintCallbacks,
    RateLimiter,
    StreamingProgress,
    TokenCounter,
    ToolEndEvent,
    llm_run,
)
from llmhooks.core.background import get_worker

REPEATS = 11
N = 4_000
MEMORY_CALLS = 1_000_000
MSGS = [{"role": "user", "content": "What is the capital of France?"}]


class Sink(Callbacks):
    def on_llm_start(self, event: LLMStartEvent) -> None:
        pass

    def on_llm_end(self, event: LLMEndEvent) -> None:
        pass


def call_with(manager: CallbackManager) -> Callable[[], None]:
    def call() -> None:
        with llm_run(
            provider="openai", model="gpt-4o", messages=MSGS, max_tokens=256, callbacks=manager
        ) as run:
            run.finish(response="Paris.", input_tokens=14, output_tokens=3, cached_input_tokens=0)

    return call


def per_call_ns(fn: Callable[[], None], n: int = N) -> float:
    t0 = time.thread_time_ns()  # this thread's CPU time: other processes on the machine do not count
    for _ in range(n):
        fn()
    return (time.thread_time_ns() - t0) / n


def handler_cases(tmp: Path, devnull: object) -> dict[str, tuple[Callbacks, float | None]]:
    """name -> (handler, target overhead in ns)."""
    log_on = logging.getLogger("bench.events")
    log_on.addHandler(logging.StreamHandler(devnull))  # type: ignore[arg-type]
    log_on.setLevel(logging.INFO)
    log_on.propagate = False
    log_off = logging.getLogger("bench.quiet")
    log_off.setLevel(logging.WARNING)
    log_off.propagate = False
    cases: dict[str, tuple[Callbacks, float | None]] = {
        "LoggingCallbacks (INFO, written)": (LoggingCallbacks(logger=log_on), 25_000),
        "LoggingCallbacks (level disabled)": (LoggingCallbacks(logger=log_off), 1_000),
        "PrintCallbacks (to /dev/null)": (PrintCallbacks(file=devnull), 25_000),  # type: ignore[arg-type]
        "MetricsCallbacks": (MetricsCallbacks(), 3_000),
        "TokenCounter": (TokenCounter(), 1_500),
        "CostTracker (genai-prices)": (CostTracker(), 5_000),
        "CostTracker (own price table)": (
            CostTracker(prices={"gpt-4o": {"input": 2.5, "output": 10}}),
            5_000,
        ),
        "CostLimiter (genai-prices)": (CostLimiter(max_cost=1e12), 10_000),
        "RateLimiter (never waits)": (
            RateLimiter(requests_per_minute=10**9, tokens_per_minute=10**12),
            5_000,
        ),
        "StreamingProgress (call not streamed)": (StreamingProgress(on_chunk=lambda c: None), 1_000),
        "EventRecorder JSONL, flush per event": (EventRecorder(tmp / "a.jsonl"), 50_000),
        "EventRecorder JSONL, flush_every=100": (EventRecorder(tmp / "b.jsonl", flush_every=100), 40_000),
        "EventRecorder SQLite, commit_every=100": (EventRecorder(tmp / "c.db", flush_every=100), 60_000),
        "EventRecorder JSONL, background (producer)": (
            EventRecorder(tmp / "d.jsonl", background=True),
            5_000,
        ),
    }
    return cases


def deep_size(obj: object) -> int:
    """Bytes of ``obj`` and everything it references (not classes, modules, functions or locks)."""
    seen: set[int] = set()
    stack = [obj]
    total = 0
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type(threading.Lock()))
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, skip):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        else:
            for klass in type(o).__mro__:
                for slot in getattr(klass, "__slots__", ()):
                    if hasattr(o, slot):
                        stack.append(getattr(o, slot))
            if hasattr(o, "__dict__"):
                stack.append(vars(o))
    return total


def memory_after(counts: tuple[int, ...]) -> list[tuple[int, int, float]]:
    """(calls, bytes held by a MetricsCallbacks, seconds) after each count in ``counts``."""
    rng = random.Random(1)
    pool = [
        LLMEndEvent(
            provider="openai",
            model=f"model-{i % 20}",
            input_tokens=rng.randint(10, 5000),
            output_tokens=rng.randint(1, 800),
            cached_input_tokens=rng.randint(0, 10),
            latency_ms=rng.lognormvariate(6, 1.2),
            time_to_first_token_ms=rng.lognormvariate(5, 1.0),
            cost=0.001,
        )
        for i in range(10_000)
    ]
    tools = [
        ToolEndEvent(tool_name=f"tool-{i % 10}", latency_ms=rng.lognormvariate(3, 1.5)) for i in range(1_000)
    ]
    metrics = MetricsCallbacks()
    on_end, on_tool = metrics.on_llm_end, metrics.on_tool_end
    out = []
    done = 0
    t0 = time.perf_counter()
    for target in counts:
        while done < target:
            on_end(pool[done % 10_000])
            if done % 10 == 0:
                on_tool(tools[done % 1_000])
            done += 1
        out.append((done, deep_size(metrics), time.perf_counter() - t0))
    assert metrics.total_calls == counts[-1]
    return out


def first_call(kind: str) -> None:
    """In this (fresh) process: build a ``kind`` handler, make one call, print the two times."""
    t0 = time.perf_counter()
    handler: Callbacks = CostTracker() if kind == "CostTracker" else CostLimiter(max_cost=1e12)
    built_ms = (time.perf_counter() - t0) * 1e3
    seen: list[float] = []

    class Latency(Callbacks):
        def on_llm_end(self, event: LLMEndEvent) -> None:
            seen.append(event.latency_ms or 0.0)

    t1 = time.perf_counter()
    call_with(CallbackManager([handler, Latency()]))()
    wall_ms = (time.perf_counter() - t1) * 1e3
    print(f"{built_ms:.1f} {wall_ms:.1f} {seen[0]:.1f}")


def many_models(n: int) -> None:
    """In this (fresh) process: ``n`` distinct model names through three handlers; memory kept.

    Prints the bytes kept in all, the part allocated inside genai-prices (its own lookup
    caches, which llmhooks does not bound), the seconds taken and the by_model row counts.
    """
    logging.getLogger("llmhooks").setLevel(logging.ERROR)  # one warning per unknown model before
    handlers = [TokenCounter(), CostTracker(), CostLimiter(max_cost=1e12)]
    manager = CallbackManager(handlers)
    gc.collect()
    tracemalloc.start(1)  # the innermost frame tells whose cache an allocation is in
    before = tracemalloc.take_snapshot()
    t0 = time.perf_counter()
    for i in range(n):
        run_id = f"{i:016x}"
        model = f"ft:gpt-4o-mini:acme:{i}"
        manager.emit(LLMStartEvent(run_id=run_id, provider="openai", model=model, messages=MSGS))
        manager.emit(
            LLMEndEvent(run_id=run_id, provider="openai", model=model, input_tokens=9, output_tokens=3)
        )
    secs = time.perf_counter() - t0
    gc.collect()
    diff = tracemalloc.take_snapshot().compare_to(before, "traceback")
    tracemalloc.stop()
    held = sum(d.size_diff for d in diff)
    third = sum(d.size_diff for d in diff if any("genai_prices" in f.filename for f in d.traceback))
    rows = len(handlers[0].by_model), len(handlers[1].by_model)  # type: ignore[attr-defined]
    print(f"{held} {third} {secs:.2f} {rows[0]} {rows[1]}")


def in_fresh_process(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True, timeout=600
    )
    return out.stdout.split()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmpdir, open(os.devnull, "w") as devnull:
        tmp = Path(tmpdir)
        cases = handler_cases(tmp, devnull)
        calls: dict[str, Callable[[], None]] = {
            "baseline: 1 no-op handler": call_with(CallbackManager([Sink()]))
        }
        for name, (handler, _target) in cases.items():
            calls[name] = call_with(CallbackManager([handler]))
        results: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(REPEATS):
            for name, fn in calls.items():
                results[name].append(per_call_ns(fn))
                if "background" in name:
                    get_worker().flush(30)  # keep the queue from overflowing between cases
        for handler, _ in cases.values():
            if isinstance(handler, EventRecorder):
                handler.close()

    base = statistics.median(results["baseline: 1 no-op handler"])
    print(f"llmhooks {llmhooks.__version__} handler benchmark, python {sys.version.split()[0]}")
    print("per non-streaming call (start + end), median of", REPEATS, "x", N, "calls")
    print(f"{'case':44} {'per call':>10} {'overhead':>10} {'x sink':>7} {'target':>10}")
    print(f"{'baseline: 1 no-op handler':44} {base:>8.0f}ns {'':>10} {1.0:>6.1f}x")
    for name, (_handler, target) in cases.items():
        med = statistics.median(results[name])
        over = med - base
        verdict = f"{target:>8.0f}ns {'PASS' if over <= target else 'MISS'}" if target is not None else ""
        print(f"{name:44} {med:>8.0f}ns {over:>8.0f}ns {med / base:>6.1f}x {verdict}")

    print()
    print(f"MetricsCallbacks memory (deep size), {MEMORY_CALLS:,} llm.end + {MEMORY_CALLS // 10:,} tool.end")
    rows = memory_after((10_000, 100_000, MEMORY_CALLS))
    first = rows[0][1]
    for n, held, secs in rows:
        ratio = held / first
        print(
            f"  after {n:>9,} calls: {held / 1024:>8.1f} KiB  ({ratio:.2f}x the 10k figure, at {secs:.1f}s)"
        )
    held = rows[-1][1]
    target_kib = 1024
    print(
        f"  target: <= {target_kib} KiB at 1M calls and < 1.5x the 10k figure: "
        f"{'PASS' if held <= target_kib * 1024 and held < 1.5 * first else 'MISS'}"
    )

    print()
    print("first call after building the handler (fresh process each, median of 5, wall-clock ms)")
    for kind in ("CostTracker", "CostLimiter"):
        runs = [tuple(map(float, in_fresh_process("--first-call", kind))) for _ in range(5)]
        built, wall, latency = (statistics.median(r[i] for r in runs) for i in range(3))
        verdict = "PASS" if wall <= 20 else "MISS"
        print(
            f"  {kind:12} built in {built:>6.1f} ms; first call {wall:>6.1f} ms "
            f"(its latency_ms {latency:>5.1f}); target first call <= 20 ms: {verdict}"
        )

    print()
    names = 20_000
    held_b, third_b, secs, token_rows, cost_rows = in_fresh_process("--many-models", str(names))
    held, third = int(held_b) / 2**20, int(third_b) / 2**20
    print(f"TokenCounter + CostTracker + CostLimiter after {names:,} distinct model names (fresh process)")
    print(
        f"  memory kept {held:>5.1f} MiB ({held - third:.1f} MiB llmhooks, {third:.1f} MiB inside "
        f"genai-prices' own caches), {float(secs):.1f} s; by_model rows {token_rows} / {cost_rows}"
    )
    print(f"  target: llmhooks' part <= 4 MiB: {'PASS' if held - third <= 4 else 'MISS'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--first-call"]:
        first_call(sys.argv[2])
    elif sys.argv[1:2] == ["--many-models"]:
        many_models(int(sys.argv[2]))
    else:
        main()
