"""End-to-end overhead of ``instrument_openai`` / ``instrument_anthropic`` on real SDK calls.

Run: python bench/sdk_overhead.py   (one process plus the server's, about 40 s)

The official SDKs call the test suite's wire server (``tests/llm/_wire.py``), run in
its own process so its threads do not compete for this one's GIL: HTTP on
127.0.0.1, SSE streaming. Each case times the same call on a plain client and on
an instrumented twin, interleaved call by call with the order alternating, and
compares medians: wall clock (the target) and this thread's CPU time (steadier on
a busy machine). Handlers: ``Meter`` takes start, token and end events; ``EndOnly``
only end events (a cost or usage tracker). Target: instrumented/plain <= 1.02.

A local call is about a millisecond, so fixed costs weigh far more here than
against a real provider (hundreds of milliseconds): ``+us`` is the absolute cost.
The paced case has the server wait between chunks, as a (very fast) model would.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import anthropic  # noqa: E402
import openai  # noqa: E402
from tests.llm._wire import FastWireServer  # noqa: E402

from llmhooks import Callbacks, instrument_anthropic, instrument_openai  # noqa: E402
from llmhooks.events import LLMEndEvent, LLMStartEvent, LLMTokenEvent  # noqa: E402

ROUNDS = 300
WARMUP = 30
TARGET = 1.02
TEXT = " ".join(f"word{i}" for i in range(40))  # 40 streamed deltas
MESSAGES: list[Any] = [{"role": "user", "content": "Tell me something"}]
PACED: list[Any] = [{"role": "user", "content": "Tell me something [paced]"}]
PACE = 0.002  # seconds between streamed chunks in the paced case (a fast model gives ~10-50 ms)


class Meter(Callbacks):
    """Counts calls, tokens and usage."""

    def __init__(self) -> None:
        self.calls = 0
        self.tokens = 0
        self.usage = 0

    def on_llm_start(self, event: LLMStartEvent) -> None:
        self.calls += 1

    def on_llm_token(self, event: LLMTokenEvent) -> None:
        self.tokens += 1

    def on_llm_end(self, event: LLMEndEvent) -> None:
        self.usage += event.total_tokens or 0


class EndOnly(Callbacks):
    """Adds up usage; takes no token events."""

    def __init__(self) -> None:
        self.usage = 0

    def on_llm_end(self, event: LLMEndEvent) -> None:
        self.usage += event.total_tokens or 0


def serve(conn: Any) -> None:
    """Run the wire server in its own process until told to stop."""
    with FastWireServer() as srv:
        srv.reply(TEXT, chunk_delay=PACE, match="[paced]", times=10**9)
        srv.reply(TEXT, times=10**9)
        conn.send((srv.base_url, srv.openai_base_url))
        conn.recv()


Timing = tuple[float, float, float, float]


def interleaved(plain: Callable[[], None], instrumented: Callable[[], None], rounds: int = ROUNDS) -> Timing:
    """Median wall and CPU seconds of each, timed call by call in alternating order."""
    for _ in range(min(WARMUP, rounds)):
        plain()
        instrumented()
    wall: tuple[list[float], list[float]] = ([], [])
    cpu: tuple[list[float], list[float]] = ([], [])
    clock, cpu_clock = time.perf_counter, time.thread_time
    for i in range(rounds):
        order = ((0, plain), (1, instrumented)) if i % 2 else ((1, instrumented), (0, plain))
        for k, fn in order:
            c0 = cpu_clock()
            t0 = clock()
            fn()
            wall[k].append(clock() - t0)
            cpu[k].append(cpu_clock() - c0)
    med = statistics.median
    return med(wall[0]), med(wall[1]), med(cpu[0]), med(cpu[1])


def report(name: str, timing: Timing) -> bool:
    base, inst, cbase, cinst = timing
    ratio = inst / base
    ok = ratio <= TARGET
    print(
        f"{name:<44} {base * 1e6:7.0f} {inst * 1e6:7.0f} us  "
        f"ratio {ratio:5.3f} ({(inst - base) * 1e6:+5.0f} us)"
        f"   cpu ratio {cinst / cbase:5.3f} ({(cinst - cbase) * 1e6:+5.0f} us)   "
        f"target <= {TARGET:.2f} {'PASS' if ok else 'MISS'}"
    )
    return ok


def main() -> None:
    meter, end_only = Meter(), EndOnly()
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    server = ctx.Process(target=serve, args=(there,), daemon=True)
    server.start()
    base_url, url = here.recv()
    results: list[bool] = []
    loop = asyncio.new_event_loop()
    try:
        oa = lambda: openai.OpenAI(base_url=url, api_key="bench", max_retries=0)  # noqa: E731
        an = lambda: anthropic.Anthropic(base_url=base_url, api_key="bench", max_retries=0)  # noqa: E731
        plain, inst, inst_end = (
            oa(),
            instrument_openai(oa(), callbacks=meter),
            instrument_openai(oa(), callbacks=end_only),
        )
        aplain, ainst = an(), instrument_anthropic(an(), callbacks=meter)
        oplain = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
        oinst = instrument_openai(
            openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0), callbacks=meter
        )

        def chat(client: openai.OpenAI) -> Callable[[], None]:
            return lambda: client.chat.completions.create(model="m", messages=MESSAGES) and None

        def chat_stream(client: openai.OpenAI, messages: list[Any] = MESSAGES) -> Callable[[], None]:
            def call() -> None:
                opts: Any = {"include_usage": True}
                for _ in client.chat.completions.create(
                    model="m", messages=messages, stream=True, stream_options=opts
                ):
                    pass

            return call

        def messages(client: anthropic.Anthropic) -> Callable[[], None]:
            return lambda: client.messages.create(model="c", max_tokens=64, messages=MESSAGES) and None

        def messages_stream(client: anthropic.Anthropic) -> Callable[[], None]:
            def call() -> None:
                for _ in client.messages.create(model="c", max_tokens=64, messages=MESSAGES, stream=True):
                    pass

            return call

        def achat_stream(client: openai.AsyncOpenAI) -> Callable[[], None]:
            async def call() -> None:
                opts: Any = {"include_usage": True}
                stream = await client.chat.completions.create(
                    model="m", messages=MESSAGES, stream=True, stream_options=opts
                )
                async for _ in stream:
                    pass

            return lambda: loop.run_until_complete(call())

        print(f"openai {openai.__version__}, anthropic {anthropic.__version__}; {ROUNDS} interleaved rounds")
        print(f"{'case':<44} {'plain':>7} {'instr.':>7} (wall medians)")
        results.append(report("openai chat, Meter", interleaved(chat(plain), chat(inst))))
        results.append(
            report(
                "openai chat streamed 40 deltas, Meter", interleaved(chat_stream(plain), chat_stream(inst))
            )
        )
        results.append(
            report(
                "openai chat streamed 40 deltas, EndOnly",
                interleaved(chat_stream(plain), chat_stream(inst_end)),
            )
        )
        results.append(
            report(
                "openai chat async streamed 40 deltas, Meter",
                interleaved(achat_stream(oplain), achat_stream(oinst)),
            )
        )
        results.append(
            report(
                f"openai chat streamed, {PACE * 1000:g} ms/chunk, Meter",
                interleaved(chat_stream(plain, PACED), chat_stream(inst, PACED), rounds=60),
            )
        )
        results.append(report("anthropic messages, Meter", interleaved(messages(aplain), messages(ainst))))
        results.append(
            report(
                "anthropic streamed 40 deltas, Meter",
                interleaved(messages_stream(aplain), messages_stream(ainst)),
            )
        )
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        here.send("stop")
        server.join(10)
    print(f"handlers saw {meter.calls} calls, {meter.tokens} tokens")
    print("overall:", "PASS" if all(results) else "MISS")


if __name__ == "__main__":
    main()
