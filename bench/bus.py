"""Cost of ``EventManager.send`` plus delivery to one subscriber, per event.

    python bench/bus.py

Interleaved rounds, medians, each figure also as a ratio to calling the
subscriber directly in the same run. Target (the issue): send + delivery to one
subscriber within 3 us per event; vision-agents' EventManager takes about 15 us
(their figure, quoted, not measured here: it starts an asyncio task per handler
per event).

Modes measured:
- burst: a producer sends a batch of events, then ``await wait()``;
- one at a time: send, then let the loop run (``await asyncio.sleep(0)``) before the
  next; the figure is net of the same loop without sending;
- sync code with no loop: delivery by the worker thread, ``flush()`` at the end;
- four threads sending at once into a manager bound to a running loop.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from llmhooks import EventManager, LLMEndEvent

TARGET_US = 3.0
VISION_AGENTS_US = 15.0
ROUNDS = 9
N = 20_000

EVENTS = [LLMEndEvent(model="m", input_tokens=i) for i in range(N)]


def _manager(async_subscriber: bool) -> tuple[EventManager, list[int]]:
    manager = EventManager(maxsize=4 * N)
    count = [0]
    if async_subscriber:

        async def on_end(event: LLMEndEvent) -> None:
            count[0] += 1

        manager.subscribe(on_end)
    else:

        def on_end_sync(event: LLMEndEvent) -> None:
            count[0] += 1

        manager.subscribe(on_end_sync)
    return manager, count


async def _burst(async_subscriber: bool) -> float:
    manager, count = _manager(async_subscriber)
    t0 = time.perf_counter()
    for e in EVENTS:
        manager.send(e)
    assert await manager.wait(timeout=60)
    elapsed = time.perf_counter() - t0
    assert count[0] == N
    return elapsed / N * 1e6


async def _one_at_a_time() -> float:
    manager, count = _manager(async_subscriber=True)
    n = N // 5
    t0 = time.perf_counter()
    for e in EVENTS[:n]:
        manager.send(e)
        await asyncio.sleep(0)
    assert await manager.wait(timeout=60)
    with_bus = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in EVENTS[:n]:
        await asyncio.sleep(0)
    loop_only = time.perf_counter() - t0
    assert count[0] == n
    return (with_bus - loop_only) / n * 1e6


def _sync_worker() -> float:
    manager, count = _manager(async_subscriber=False)
    t0 = time.perf_counter()
    for e in EVENTS:
        manager.send(e)
    assert manager.flush(timeout=60)
    elapsed = time.perf_counter() - t0
    manager.shutdown()
    assert count[0] == N
    return elapsed / N * 1e6


async def _threads() -> float:
    manager, count = _manager(async_subscriber=True)
    manager.send(EVENTS[0])  # binds the manager to this loop
    await manager.wait()
    parts = [EVENTS[i::4] for i in range(4)]

    def produce(events: list[LLMEndEvent]) -> None:
        for e in events:
            manager.send(e)

    threads = [threading.Thread(target=produce, args=(p,)) for p in parts]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        await asyncio.to_thread(t.join)
    assert await manager.wait(timeout=60)
    elapsed = time.perf_counter() - t0
    assert count[0] == N + 1
    return elapsed / N * 1e6


def _direct() -> float:
    count = [0]

    def on_end(event: LLMEndEvent) -> None:
        count[0] += 1

    t0 = time.perf_counter()
    for e in EVENTS:
        on_end(e)
    return (time.perf_counter() - t0) / N * 1e6


def main() -> None:
    t_start = time.perf_counter()
    cases: dict[str, Callable[[], float]] = {
        "direct call of the subscriber (baseline)": _direct,
        "burst, sync subscriber (async code)": lambda: asyncio.run(_burst(False)),
        "burst, async subscriber (async code)": lambda: asyncio.run(_burst(True)),
        "one at a time, async subscriber (net)": lambda: asyncio.run(_one_at_a_time()),
        "sync code, no loop: worker thread": _sync_worker,
        "4 threads -> loop, async subscriber": lambda: asyncio.run(_threads()),
    }
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for fn in cases.values():
        fn()  # warm up
    for _ in range(ROUNDS):
        for name, fn in cases.items():
            samples[name].append(fn())
    figures = {k: statistics.median(v) for k, v in samples.items()}
    base = figures["direct call of the subscriber (baseline)"]
    print("EventManager: send + delivery to one subscriber (per event)")
    for name, us in figures.items():
        line = f"  {name:<42} {us:7.2f} us  x{us / base:7.1f}"
        if name != "direct call of the subscriber (baseline)":
            line += f"   target <= {TARGET_US} us: {'PASS' if us <= TARGET_US else 'MISS'}"
            line += f"   vs ~{VISION_AGENTS_US:.0f} us (vision-agents): x{VISION_AGENTS_US / us:.1f} faster"
        print(line)
    print(f"\n({time.perf_counter() - t_start:.0f} s, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
