"""What a producer pays per run, against the peers, as ratios to a direct method call.

Run: python bench/runs.py   (one process; thread CPU time; medians of interleaved repeats)

Peers are benchmark-only dependencies measured in the same run:
- ai-infra 1.19 (``pip install --no-deps ai-infra==1.19.0``; its ``callbacks.py`` is loaded
  by file path, as its package ``__init__`` pulls in its whole stack): ``llm_call`` start+end,
  events built and dispatched to one handler, to none (an empty manager) and to ten;
- langchain-core: the prebuilt ``CallbackManager`` with one handler, ``on_llm_start`` and the
  run manager's ``on_llm_end``.
A peer that is not installed is reported as such, not guessed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import llmhooks
from llmhooks import CallbackManager, Callbacks, LLMEndEvent, LLMStartEvent, LLMTokenEvent, llm_run
from llmhooks.instrument import llm_chat_callback

REPEATS = 15
AI_INFRA_ONE = "peer: ai-infra llm_call start+end, 1 handler"
ISSUE_AI_INFRA = 31.0  # ai-infra's 1-handler case in the issue's own measurement, x direct
N = 4_000
MSGS = [{"role": "user", "content": "hi"}]


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


class Direct:
    def method(self, event: object) -> None:
        pass


def cpu_ns(fn: Callable[[], object], n: int = N) -> float:
    """Thread CPU time per call of ``fn``, in ns."""
    t0 = time.thread_time_ns()
    for _ in range(n):
        fn()
    return (time.thread_time_ns() - t0) / n


def _ai_infra() -> Any | None:
    spec = importlib.util.find_spec("ai_infra")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "callbacks.py"
    mod_spec = importlib.util.spec_from_file_location("ai_infra_callbacks_bench", path)
    if mod_spec is None or mod_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[mod_spec.name] = module
    mod_spec.loader.exec_module(module)
    return module


def ai_infra_case(handlers: int = 1) -> Callable[[], float] | None:
    ai = _ai_infra()
    if ai is None:
        return None

    class AISink(ai.Callbacks):  # type: ignore[misc, name-defined]
        def on_llm_start(self, event: Any) -> None:
            pass

        def on_llm_end(self, event: Any) -> None:
            pass

    manager = ai.CallbackManager([AISink() for _ in range(handlers)])

    def call() -> None:
        with manager.llm_call("p", "m", MSGS) as ctx:
            ctx.set_response("ok", input_tokens=1, output_tokens=1)

    return lambda: cpu_ns(call)


def langchain_case() -> Callable[[], float] | None:
    try:
        from langchain_core.callbacks import BaseCallbackHandler
        from langchain_core.callbacks.manager import CallbackManager as LCManager
        from langchain_core.outputs import Generation, LLMResult
    except ImportError:
        return None

    class LCSink(BaseCallbackHandler):
        def on_llm_start(self, serialized: Any, prompts: Any, **kwargs: Any) -> None:
            pass

        def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            pass

    manager = LCManager(handlers=[LCSink()])
    result = LLMResult(generations=[[Generation(text="ok")]])

    def call() -> None:
        (run,) = manager.on_llm_start({"name": "m"}, ["hi"])
        run.on_llm_end(result)

    return lambda: cpu_ns(call)


def import_ms() -> float:
    """Median wall time of ``import llmhooks`` above ``python -c pass``, in ms."""
    src = str(Path(__file__).resolve().parents[1] / "src")

    def wall(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": src})
        return time.perf_counter() - t0

    base = statistics.median(wall("pass") for _ in range(9))
    full = statistics.median(wall("import llmhooks") for _ in range(9))
    return (full - base) * 1000


def main() -> None:
    direct = Direct()
    one = CallbackManager([Sink()])
    empty = CallbackManager([])
    ten = CallbackManager([Sink() for _ in range(10)])
    amgr = CallbackManager([AsyncSink()])
    loop = asyncio.new_event_loop()

    def run_pair(mgr: CallbackManager) -> Callable[[], None]:
        def call() -> None:
            with llm_run(provider="p", model="m", messages=MSGS, callbacks=mgr) as run:
                run.finish(response="ok", input_tokens=1, output_tokens=1)

        return call

    def arun_pair() -> float:
        async def many() -> None:
            for _ in range(N):
                async with llm_run(provider="p", model="m", messages=MSGS, callbacks=amgr) as run:
                    await run.afinish(response="ok", input_tokens=1, output_tokens=1)

        async def empty_loop() -> None:
            for _ in range(N):
                direct.method(None)

        def timed(coro_fn: Callable[[], Any]) -> float:
            t0 = time.thread_time_ns()
            loop.run_until_complete(coro_fn())
            return (time.thread_time_ns() - t0) / N

        return timed(many) - timed(empty_loop)

    words = ["tok"] * 100

    def per_token() -> float:
        def stream() -> None:
            with llm_run(provider="p", model="m", streaming=True, callbacks=one) as run:
                for w in words:
                    run.token(w)

        def no_tokens() -> None:
            with llm_run(provider="p", model="m", streaming=True, callbacks=one):
                pass

        return (cpu_ns(stream, N // 20) - cpu_ns(no_tokens, N // 20)) / len(words)

    class MyLLM:
        model = "m"

        def __init__(self, callbacks: Any) -> None:
            self.callbacks = callbacks

        @llm_chat_callback()
        def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> str:
            return "ok"

    decorated = MyLLM(one)

    cases: list[tuple[str, Callable[[], float] | None, str]] = [
        ("direct method call (baseline)", lambda: cpu_ns(lambda: direct.method(None)), ""),
        ("llm_run start+finish, 1 sync handler", lambda: cpu_ns(run_pair(one)), "<= 30x, < ai-infra"),
        ("llm_run start+finish, empty manager", lambda: cpu_ns(run_pair(empty)), "<= 11x"),
        ("llm_run start+finish, 10 handlers", lambda: cpu_ns(run_pair(ten)), "<= 45x"),
        ("async with + afinish, 1 async handler", arun_pair, "<= 45x"),
        ("per streamed token, 1 handler", per_token, "<= 15x"),
        ("llm_chat_callback method, 1 handler", lambda: cpu_ns(lambda: decorated.chat(MSGS)), "<= 40x"),
        (AI_INFRA_ONE, ai_infra_case(), ""),
        ("peer: ai-infra llm_call start+end, empty manager", ai_infra_case(0), ""),
        ("peer: ai-infra llm_call start+end, 10 handlers", ai_infra_case(10), ""),
        ("peer: langchain-core manager start+end, 1 handler", langchain_case(), ""),
    ]
    results: dict[str, list[float]] = {name: [] for name, m, _ in cases if m is not None}
    for _ in range(REPEATS):
        for name, measure, _t in cases:
            if measure is not None:
                results[name].append(measure())
    base = statistics.median(results[cases[0][0]])
    print(
        f"llmhooks {llmhooks.__version__} run path, python {sys.version.split()[0]}, thread CPU time, "
        f"medians of {REPEATS} interleaved repeats; baseline {base:.0f} ns"
    )
    # the issue's targets were set on another machine, where ai-infra's 1-handler case was 31x:
    # the same targets as multiples of ai-infra's case measured here are machine-independent
    peer = results.get(AI_INFRA_ONE)
    peer_med = statistics.median(peer) if peer else None
    print(f"{'case':52} {'median':>9} {'x direct':>9} {'x ai-infra':>10}  target (x ai-infra)")
    for name, measure, target in cases:
        if measure is None:
            print(f"{name:52} {'not installed':>19}")
            continue
        med = statistics.median(results[name])
        rel = f"{med / peer_med:>9.2f}x" if peer_med else f"{'':>10}"
        scaled = ""
        if target and peer_med:
            limit = float(target.split()[1].rstrip("x,"))
            scaled = f" ({limit / ISSUE_AI_INFRA:.2f})"
        print(f"{name:52} {med:>7.0f}ns {med / base:>8.1f}x {rel}  {target}{scaled}")
    print(f"{'import llmhooks above python -c pass':52} {import_ms():>7.1f}ms {'':>9}  <= 30 ms")


if __name__ == "__main__":
    main()
