"""Dispatch overhead of the run API, as ratios to a direct method call measured in the same run.

Run: python bench/dispatch.py   (one process, interleaved repeats, medians)

Cases (per start+end "call", or per stream):
  0 handlers, 1 / 10 sync handlers, 1 async handler (async with), a 100-token stream with
  1 handler, and the producer-side cost of a background handler. Emit-only figures (prebuilt
  events through CallbackManager.emit) show the dispatcher alone, without event construction.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import llmhooks
from llmhooks import CallbackManager, Callbacks, LLMEndEvent, LLMStartEvent, llm_run
from llmhooks.core.background import get_worker

REPEATS = 15
N = 20_000


class Sink(Callbacks):
    def on_llm_start(self, event: LLMStartEvent) -> None:
        pass

    def on_llm_end(self, event: LLMEndEvent) -> None:
        pass

    def on_llm_token(self, event: object) -> None:
        pass


class AsyncSink(Callbacks):
    async def on_llm_start(self, event: LLMStartEvent) -> None:
        pass

    async def on_llm_end(self, event: LLMEndEvent) -> None:
        pass


class BackgroundSink(Sink):
    background = True


class Direct:
    def method(self, event: object) -> None:
        pass


def per_call_ns(fn: Callable[[], None], n: int = N) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) / n


def main() -> None:
    direct = Direct()
    one = CallbackManager([Sink()])
    ten = CallbackManager([Sink() for _ in range(10)])
    bg = CallbackManager([BackgroundSink()])
    amgr = CallbackManager([AsyncSink()])
    msgs = [{"role": "user", "content": "hi"}]
    start_ev = LLMStartEvent(provider="p", model="m")
    end_ev = LLMEndEvent(provider="p", model="m")
    tokens = ["tok"] * 100
    loop = asyncio.new_event_loop()

    def baseline() -> None:
        direct.method(None)

    def run_with(cb: CallbackManager | None) -> Callable[[], None]:
        def call() -> None:
            with llm_run(provider="p", model="m", messages=msgs, callbacks=cb) as run:
                run.finish(response="ok", input_tokens=1, output_tokens=1)

        return call

    def emit_only(cb: CallbackManager) -> Callable[[], None]:
        emit = cb.emit

        def call() -> None:
            emit(start_ev)
            emit(end_ev)

        return call

    def stream_100() -> None:
        with llm_run(provider="p", model="m", streaming=True, callbacks=one) as run:
            for t in tokens:
                run.token(t)

    def async_one() -> None:
        async def many() -> None:
            for _ in range(N):
                async with llm_run(provider="p", model="m", messages=msgs, callbacks=amgr) as run:
                    await run.afinish(response="ok")

        loop.run_until_complete(many())

    def async_baseline() -> None:
        async def many() -> None:
            for _ in range(N):
                direct.method(None)

        loop.run_until_complete(many())

    cases: dict[str, tuple[Callable[[], float], float | None]] = {
        "direct method call (baseline)": (lambda: per_call_ns(baseline), None),
        "run start+end, 0 handlers": (lambda: per_call_ns(run_with(None)), 150),
        "run start+end, 1 sync handler": (lambda: per_call_ns(run_with(one)), 1000),
        "run start+end, 10 sync handlers": (lambda: per_call_ns(run_with(ten)), 2000),
        "run start+end, 1 async handler (async with)": (
            lambda: _timed_loop(async_one) - _timed_loop(async_baseline),
            1500,
        ),
        "stream of 100 tokens, 1 handler": (lambda: per_call_ns(stream_100, N // 20), 25000),
        "run start+end, 1 background handler (producer)": (lambda: _bg(run_with(bg)), None),
        "emit start+end (prebuilt events), 1 handler": (lambda: per_call_ns(emit_only(one)), None),
        "emit start+end (prebuilt events), 10 handlers": (lambda: per_call_ns(emit_only(ten)), None),
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(REPEATS):
        for name, (measure, _target) in cases.items():
            results[name].append(measure())
    base = statistics.median(results["direct method call (baseline)"])
    print(f"llmhooks {llmhooks.__version__} dispatch benchmark, python {sys.version.split()[0]}")
    print(f"{'case':52} {'median':>10} {'x direct':>9} {'target':>9}")
    for name, (_m, target) in cases.items():
        med = statistics.median(results[name])
        verdict = ""
        if target is not None:
            verdict = f"{target:>7.0f}ns {'PASS' if med <= target else 'MISS'}"
        print(f"{name:52} {med:>8.0f}ns {med / base:>8.1f}x {verdict}")
    get_worker().flush(10)


def _timed_loop(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / N


def _bg(fn: Callable[[], None]) -> float:
    value = per_call_ns(fn, 5000)
    get_worker().flush(10)  # keep the queue from overflowing between repeats
    return value


if __name__ == "__main__":
    main()
