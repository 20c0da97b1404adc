"""Cost of redaction: its share of a run, per payload, and on hostile inputs.

    python bench/redaction.py

Ratios to a direct method call measured in the same run, timed with the thread's
CPU time (``time.thread_time_ns``), median of interleaved repeats. "Share of a run"
is the difference between ``llm_run`` start+end with one handler with redaction on
(the default) and off (``configure_redaction(enabled=False)``), over the run with it
on. The hostile inputs (a dict referencing itself, JWT-like text, a big history seen
before) are timed once per repeat and printed in milliseconds: they are about bounds,
not ratios.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from llmhooks import CallbackManager, Callbacks, LLMEndEvent, LLMStartEvent, llm_run
from llmhooks.core.redaction import configure_redaction, redact_fields, redact_value, reset_redaction

REPEATS = 11
N = 20_000

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that answers briefly and precisely."},
    {"role": "user", "content": "Summarise the causes of the decline of the Roman empire in three points."},
]
HISTORY = [
    {"role": "user" if i % 2 else "assistant", "content": f"turn {i}: " + "some earlier words " * 8}
    for i in range(20)
]


class Sink(Callbacks):
    def on_llm_start(self, event: LLMStartEvent) -> None:
        pass

    def on_llm_end(self, event: LLMEndEvent) -> None:
        pass


class Direct:
    def method(self, event: object) -> None:
        pass


def per_call_ns(fn: Callable[[], Any], n: int = N) -> float:
    t0 = time.thread_time_ns()
    for _ in range(n):
        fn()
    return (time.thread_time_ns() - t0) / n


def once_ms(fn: Callable[[], Any]) -> float:
    t0 = time.thread_time_ns()
    fn()
    return (time.thread_time_ns() - t0) / 1e6


def _run_cases() -> dict[str, Callable[[], float]]:
    direct = Direct()
    one = CallbackManager([Sink()])

    def run_pair() -> None:
        with llm_run(provider="p", model="m", messages=MESSAGES, callbacks=one) as run:
            run.finish(response="ok", input_tokens=1, output_tokens=1)

    def run_without_redaction() -> float:
        configure_redaction(enabled=False)
        try:
            return per_call_ns(run_pair)
        finally:
            reset_redaction()

    start = {
        "messages": MESSAGES,
        "prompt": None,
        "temperature": 0.7,
        "max_tokens": 256,
        "tools": None,
        "streaming": False,
        "params": {"top_p": 1.0},
    }
    end = {"response": "ok", "input_tokens": 1, "output_tokens": 1, "latency_ms": 0.5}
    state = {"inputs": {"messages": HISTORY, "step": 3, "config": {"thread_id": "t-1"}}}
    text = "The empire declined because of economic troubles, overreliance on slave labour... " * 4
    counter = iter(range(10**9))

    def end_fresh() -> Any:
        return redact_fields({"response": f"{next(counter)} {text}", "input_tokens": 10})

    leaky = {"messages": [{"role": "user", "content": "my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123"}]}
    return {
        "direct method call (baseline)": lambda: per_call_ns(lambda: direct.method(None)),
        "run start+end, 1 handler, redaction on": lambda: per_call_ns(run_pair),
        "run start+end, 1 handler, redaction off": run_without_redaction,
        "start payload, 2 messages seen before": lambda: per_call_ns(lambda: redact_fields(start)),
        "end payload, short response": lambda: per_call_ns(lambda: redact_fields(end)),
        "graph state, 20 messages seen before": lambda: per_call_ns(lambda: redact_fields(state)),
        "end payload, fresh 340-char response": lambda: per_call_ns(end_fresh),
        "payload holding a key (copy + replace)": lambda: per_call_ns(lambda: redact_fields(leaky)),
    }


def _hostile_cases() -> dict[str, Callable[[], float]]:
    loop: dict[str, Any] = {"text": "hello"}
    loop["a"] = loop
    loop["b"] = loop
    counter = iter(range(10**9))
    history = [{"role": "user", "content": ("a long clean history line. " * 40) + str(i)} for i in range(100)]
    big = "".join(m["content"] for m in history) * 30  # 3.3 MB, clean
    redact_value(big)  # seen once before

    def jwt_like() -> float:
        text = f"{next(counter)} " + "eyJhbGciOi-" * 12_000  # 132 KB, a JWT header every 11 chars
        return once_ms(lambda: redact_value(text))

    def fresh_big() -> float:
        text = f"{next(counter)} " + big  # the same 3.3 MB, never seen
        return once_ms(lambda: redact_value(text))

    return {
        "dict referencing itself twice": lambda: once_ms(lambda: redact_value(loop)),
        "132 KB of JWT-like text (fresh)": jwt_like,
        "3.3 MB clean string (fresh)": fresh_big,
        "3.3 MB clean string, seen before": lambda: once_ms(lambda: redact_value(big)),
    }


def main() -> None:
    reset_redaction()
    cases = _run_cases()
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(REPEATS):
        for name, measure in cases.items():
            results[name].append(measure())
    med = {name: statistics.median(v) for name, v in results.items()}
    base = med["direct method call (baseline)"]
    print(f"redaction benchmark, python {sys.version.split()[0]}, {REPEATS} interleaved repeats, CPU time")
    print(f"{'case':48} {'median':>10} {'x direct':>9}")
    for name, value in med.items():
        print(f"{name:48} {value:>8.0f}ns {value / base:>8.1f}x")
    on = med["run start+end, 1 handler, redaction on"]
    off = med["run start+end, 1 handler, redaction off"]
    print(f"redaction's share of a run: {(on - off) / on:.1%} ({on - off:.0f} ns of {on:.0f} ns)")
    hostile = _hostile_cases()
    times: dict[str, list[float]] = {name: [] for name in hostile}
    for _ in range(3):
        for name, measure in hostile.items():
            times[name].append(measure())
    print(f"\n{'hostile input (one call)':48} {'median':>10}")
    for name, values in times.items():
        print(f"{name:48} {statistics.median(values):>8.2f}ms")


if __name__ == "__main__":
    main()
