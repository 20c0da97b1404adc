"""Dispatch overhead, as ratios to a direct method call measured in the same run.

Run: python bench/dispatch.py   (one process, interleaved repeats, medians)

Two levels are measured:

- dispatch: prebuilt events through ``CallbackManager.emit``/``aemit``, the path every
  producer shares; the issue's targets apply here;
- run API: ``with llm_run(...)`` start+end (or a 100-token stream) as producers use it,
  which adds building the events, ids, context and redaction of payloads.
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
from llmhooks import CallbackManager, Callbacks, LLMEndEvent, LLMStartEvent, LLMTokenEvent, llm_run
from llmhooks.core.background import get_worker

REPEATS = 11
N = 20_000


class Sink(Callbacks):
    def on_llm_start(self, event: LLMStartEvent) -> None:
        pass

    def on_llm_end(self, event: LLMEndEvent) -> None:
        pass

    def on_llm_token(self, event: LLMTokenEvent) -> None:
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
    none = CallbackManager()
    one = CallbackManager([Sink()])
    ten = CallbackManager([Sink() for _ in range(10)])
    bg = CallbackManager([BackgroundSink()])
    amgr = CallbackManager([AsyncSink()])
    msgs = [{"role": "user", "content": "hi"}]
    start_ev = LLMStartEvent(provider="p", model="m", messages=msgs)
    end_ev = LLMEndEvent(provider="p", model="m", response="ok", input_tokens=1, output_tokens=1)
    token_evs = [LLMTokenEvent(provider="p", model="m", token="tok", index=i) for i in range(100)]
    words = ["tok"] * 100
    loop = asyncio.new_event_loop()

    def emit_pair(mgr: CallbackManager) -> Callable[[], None]:
        emit = mgr.emit

        def call() -> None:
            emit(start_ev)
            emit(end_ev)

        return call

    def emit_stream() -> None:
        emit = one.emit
        for ev in token_evs:
            emit(ev)

    def aemit_pair() -> float:
        async def many() -> None:
            aemit = amgr.aemit
            for _ in range(N):
                await aemit(start_ev)
                await aemit(end_ev)

        return _loop_ns(loop, many) - _loop_ns(loop, _empty_loop(direct))

    def run_pair(mgr: CallbackManager | None) -> Callable[[], None]:
        def call() -> None:
            with llm_run(provider="p", model="m", messages=msgs, callbacks=mgr) as run:
                run.finish(response="ok", input_tokens=1, output_tokens=1)

        return call

    def run_stream() -> None:
        with llm_run(provider="p", model="m", streaming=True, callbacks=one) as run:
            for w in words:
                run.token(w)

    def arun_pair() -> float:
        async def many() -> None:
            for _ in range(N):
                async with llm_run(provider="p", model="m", messages=msgs, callbacks=amgr) as run:
                    await run.afinish(response="ok")

        return _loop_ns(loop, many) - _loop_ns(loop, _empty_loop(direct))

    def background(fn: Callable[[], None]) -> float:
        value = per_call_ns(fn, 5000)
        get_worker().flush(10)  # keep the queue from overflowing between repeats
        return value

    cases: list[tuple[str, Callable[[], float], float | None]] = [
        ("direct method call (baseline)", lambda: per_call_ns(lambda: direct.method(None)), None),
        ("dispatch start+end, 0 handlers", lambda: per_call_ns(emit_pair(none)), 150),
        ("dispatch start+end, 1 sync handler", lambda: per_call_ns(emit_pair(one)), 1000),
        ("dispatch start+end, 10 sync handlers", lambda: per_call_ns(emit_pair(ten)), 2000),
        ("dispatch start+end, 1 async handler (aemit)", aemit_pair, 1500),
        ("dispatch 100-token stream, 1 handler", lambda: per_call_ns(emit_stream, N // 20), 25000),
        ("dispatch start+end, 1 background handler (caller)", lambda: background(emit_pair(bg)), None),
        ("run API start+end, 0 handlers", lambda: per_call_ns(run_pair(None)), None),
        ("run API start+end, 1 sync handler", lambda: per_call_ns(run_pair(one)), None),
        ("run API start+end, 10 sync handlers", lambda: per_call_ns(run_pair(ten)), None),
        ("run API start+end, 1 async handler", arun_pair, None),
        ("run API 100-token stream, 1 handler", lambda: per_call_ns(run_stream, N // 20), None),
        ("run API start+end, 1 background handler (caller)", lambda: background(run_pair(bg)), None),
    ]
    results: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(REPEATS):
        for name, measure, _target in cases:
            results[name].append(measure())
    base = statistics.median(results[cases[0][0]])
    print(
        f"llmhooks {llmhooks.__version__} dispatch benchmark, python {sys.version.split()[0]}, "
        f"{REPEATS} interleaved repeats, medians"
    )
    print(f"{'case':52} {'median':>10} {'x direct':>9} {'target':>16}")
    for name, _m, target in cases:
        med = statistics.median(results[name])
        verdict = f"{target:>7.0f}ns {'PASS' if med <= target else 'MISS'}" if target is not None else ""
        print(f"{name:52} {med:>8.0f}ns {med / base:>8.1f}x {verdict:>16}")
    get_worker().flush(10)


def _empty_loop(direct: Direct) -> Callable[[], object]:
    async def many() -> None:
        for _ in range(N):
            direct.method(None)

    return many


def _loop_ns(loop: asyncio.AbstractEventLoop, coro_fn: Callable[[], object]) -> float:
    t0 = time.perf_counter_ns()
    loop.run_until_complete(coro_fn())  # type: ignore[arg-type]
    return (time.perf_counter_ns() - t0) / N


if __name__ == "__main__":
    main()
