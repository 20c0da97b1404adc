"""Fault benchmark: what is delivered, lost and counted as dropped when things go wrong.

Run: python bench/faults.py   (about half a minute; not run in CI)

Three parts, each printed as a table (counts, and ratios where a ratio makes sense):

- chaos: 10,000 runs (5,000 sync on 4 threads, 5,000 async) through handlers that raise,
  hang past their timeout and abort at random, between two recorders. Counted: calls
  broken (the caller saw anything but its own exception or an ``Abort``), runs whose
  recorders did not get exactly one terminal event per start;
- exit modes: a real program queues 3,000 events behind a slow-ish background handler
  that appends each to a file, then ends in one of the ways services end. Counted from
  the file: delivered and lost; from stderr: the loss llmhooks reported;
- bursts: 16 threads x 5,000 events into one background handler whose queue drops the
  oldest, drops the newest or blocks, at several sizes: delivered + dropped == sent.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import llmhooks
from llmhooks import Abort, CallbackManager, Callbacks, Event, LLMStartEvent, llm_run
from llmhooks.testing import RecordingCallbacks

SRC = Path(__file__).resolve().parents[1] / "src"
RUNS = 10_000
QUEUED = 3_000
BURST_THREADS, BURST_EACH = 16, 5_000


# chaos


class SyncChaos(Callbacks):
    """Sync methods that raise or abort at random."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def on_event(self, event: Event) -> None:
        r = self.rng.random()
        if r < 0.10:
            raise RuntimeError("chaos: handler failed")
        if r < 0.13:
            raise Abort("chaos: handler refused")


class AsyncChaos(Callbacks):
    """Async methods that raise, abort, or hang far past their timeout at random."""

    timeout = 0.002

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    async def chaos(self) -> None:
        r = self.rng.random()
        if r < 0.10:
            raise RuntimeError("chaos: async handler failed")
        if r < 0.12:
            raise Abort("chaos: async handler refused")
        if r < 0.14:
            await asyncio.sleep(60)  # abandoned after `timeout`

    # one method per event: an ``on_event_async`` catch-all is not dispatched (see the report)
    async def on_llm_start_async(self, event: Event) -> None:
        await self.chaos()

    async def on_llm_token_async(self, event: Event) -> None:
        await self.chaos()

    async def on_llm_end_async(self, event: Event) -> None:
        await self.chaos()

    async def on_llm_error_async(self, event: Event) -> None:
        await self.chaos()


def _lifecycle(rec: RecordingCallbacks) -> tuple[int, int]:
    """``(runs started without exactly one terminal event, terminal events without a start)``."""
    kinds: dict[str, list[str]] = {}
    for e in rec.events:
        kinds.setdefault(e.run_id, []).append(e.type.rsplit(".", 1)[-1])
    bad = orphans = 0
    for seen in kinds.values():
        terminals = seen.count("end") + seen.count("error")
        if seen.count("start"):
            bad += not (seen.count("start") == 1 and terminals == 1)
        else:
            orphans += terminals
    return bad, orphans


def chaos() -> list[tuple[str, str]]:
    first, last = RecordingCallbacks(), RecordingCallbacks()
    handlers = [first, SyncChaos(1), AsyncChaos(2), SyncChaos(3), AsyncChaos(4), last]
    broken = aborted = own_errors = bodies_raised = 0
    lock = threading.Lock()

    def outcome(i: int, exc: BaseException | None, body_failed: bool) -> None:
        nonlocal broken, aborted, own_errors, bodies_raised
        with lock:
            bodies_raised += body_failed
            if exc is None:
                broken += body_failed  # the caller's own error must never be swallowed
            elif isinstance(exc, ValueError) and body_failed:
                own_errors += 1
            elif isinstance(exc, Abort) and not body_failed:
                aborted += 1
            else:
                broken += 1

    def sync_call(i: int) -> None:
        body_failed = False
        try:
            with llm_run(model="m", callbacks=handlers) as run:
                run.token("a")
                if i % 7 == 0:
                    body_failed = True
                    raise ValueError("the caller's own error")
                run.finish(response="a")
        except BaseException as exc:
            outcome(i, exc, body_failed)
        else:
            outcome(i, None, body_failed)

    def thread_work(ids: range) -> None:
        for i in ids:
            sync_call(i)

    half = RUNS // 2
    threads = [threading.Thread(target=thread_work, args=(range(k, half, 4),)) for k in range(4)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def async_call(i: int) -> None:
        body_failed = False
        try:
            async with llm_run(model="m", callbacks=handlers) as run:
                await run.atoken("a")
                if i % 7 == 0:
                    body_failed = True
                    raise ValueError("the caller's own error")
                await run.afinish(response="a")
        except BaseException as exc:
            outcome(i, exc, body_failed)
        else:
            outcome(i, None, body_failed)

    async def many() -> None:
        for start in range(half, RUNS, 500):
            await asyncio.gather(*(async_call(i) for i in range(start, min(start + 500, RUNS))))

    asyncio.run(many())
    seconds = time.perf_counter() - started
    starts = sum(e.type == "llm.start" for e in first.events)
    late_starts = sum(e.type == "llm.start" for e in last.events)
    bad_first, orphans_first = _lifecycle(first)
    bad_last, orphans_last = _lifecycle(last)
    stats = CallbackManager(handlers).stats()
    failures = sum(s["failures"] for s in stats.values())
    timeouts = sum(s["timeouts"] for s in stats.values())
    return [
        ("runs (5,000 sync on 4 threads, 5,000 async)", f"{RUNS:,}"),
        ("broken calls", f"{broken} ({broken / RUNS:.2%})"),
        ("bodies that raised: the caller got its own error", f"{own_errors:,} of {bodies_raised:,}"),
        ("refused by a handler (the caller got Abort)", f"{aborted:,}"),
        ("handler failures isolated and counted", f"{failures:,}"),
        ("async handler calls abandoned at their timeout", f"{timeouts:,}"),
        ("starts seen by the first / last recorder", f"{starts:,} / {late_starts:,}"),
        ("started runs without exactly one terminal event", f"{bad_first + bad_last}"),
        ("terminal events of runs whose start a handler refused", f"{orphans_first + orphans_last:,}"),
        ("wall time", f"{seconds:.1f} s"),
    ]


# exit modes

PROGRAM = """
import os, sys, threading, time, multiprocessing, multiprocessing.util
import llmhooks

OUT = sys.argv[1]


class Writer(llmhooks.Callbacks):
    background = True

    def __init__(self, delay, hang_after=None):
        self.delay, self.hang_after, self.seen, self.file = delay, hang_after, 0, None

    def on_llm_start(self, event):
        if self.hang_after is not None and self.seen >= self.hang_after:
            threading.Event().wait()
        time.sleep(self.delay)
        if self.file is None:
            self.file = open(OUT, "a", buffering=1)
        self.file.write(event.model + "\\n")
        self.seen += 1


def delivered():
    return sum(1 for _ in open(OUT)) if os.path.exists(OUT) else 0


def queue(n, delay=0.0002, hang_after=None):
    manager = llmhooks.CallbackManager([Writer(delay, hang_after)])
    for i in range(n):
        manager.emit(llmhooks.LLMStartEvent(model=f"e{i}"))
    return manager


def child(n):
    queue(n)
    print("at exit", delivered(), flush=True)
"""

WAIT_FOR_SIGNAL = "queue(N)\nprint('queued', flush=True)\ntime.sleep(600)"
MODES: list[tuple[str, str, dict[str, str], int | None]] = [
    ("normal exit", "queue(N)\nprint('at exit', delivered(), flush=True)", {}, None),
    (
        "SIGTERM (docker stop, Kubernetes)",
        "queue(N)\nprint('queued', flush=True)\ntime.sleep(600)",
        {},
        signal.SIGTERM,
    ),
    ("SIGHUP", "queue(N)\nprint('queued', flush=True)\ntime.sleep(600)", {}, signal.SIGHUP),
    (
        "multiprocessing child (fork)",
        "if __name__ == '__main__':\n"
        "    p = multiprocessing.get_context('fork').Process(target=child, args=(N,))\n"
        "    p.start(); p.join()",
        {},
        None,
    ),
    (
        "multiprocessing child (spawn)",
        "if __name__ == '__main__':\n"
        "    p = multiprocessing.get_context('spawn').Process(target=child, args=(N,))\n"
        "    p.start(); p.join()",
        {},
        None,
    ),
    (
        "ProcessPoolExecutor worker",
        "from concurrent.futures import ProcessPoolExecutor\n"
        "if __name__ == '__main__':\n"
        "    with ProcessPoolExecutor(1) as pool:\n"
        "        pool.submit(child, N).result()",
        {},
        None,
    ),
    (
        "bare fork child: flush(), os._exit",
        "pid = os.fork()\nif pid == 0:\n    child(N); llmhooks.flush(30); os._exit(0)\nos.waitpid(pid, 0)",
        {},
        None,
    ),
    (
        "bare fork child: os._exit, no flush (not covered)",
        "pid = os.fork()\nif pid == 0:\n    child(N); os._exit(0)\nos.waitpid(pid, 0)",
        {},
        None,
    ),
    (
        "exit flush timeout 0.2 s, 10 ms handler",
        "queue(N, delay=0.01)\nprint('at exit', delivered(), flush=True)",
        {"LLMHOOKS_EXIT_FLUSH_TIMEOUT": "0.2"},
        None,
    ),
    (
        "handler hangs for ever, timeout 0.5 s",
        "queue(N, hang_after=100)\nprint('at exit', delivered(), flush=True)",
        {"LLMHOOKS_EXIT_FLUSH_TIMEOUT": "0.5"},
        None,
    ),
]


def _count_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def exit_mode(tmp: Path, name: str, body: str, env: dict[str, str], sig: int | None) -> list[str]:
    slug = re.sub(r"\W+", "-", name)
    out, script = tmp / f"{slug}.txt", tmp / f"{slug}.py"
    script.write_text(PROGRAM + f"N = {QUEUED}\n" + textwrap.dedent(body) + "\n")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out)],
        env={"PYTHONPATH": str(SRC), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.perf_counter()
    assert proc.stdout is not None
    at_exit: int | None = None
    if sig is not None:
        assert proc.stdout.readline().strip() == "queued"
        at_exit = _count_lines(out)
        proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    seconds = time.perf_counter() - started
    found = re.search(r"at exit (\d+)", stdout)
    if found:
        at_exit = int(found.group(1))
    delivered = _count_lines(out)
    reported = re.search(r"llmhooks: (\d+) background event\(s\) not delivered", stderr)
    status = proc.returncode
    return [
        name,
        "?" if at_exit is None else f"{QUEUED - at_exit:,}",
        f"{delivered:,}",
        f"{QUEUED - delivered:,}",
        reported.group(1) if reported else "0",
        f"{delivered / QUEUED:.1%}",
        f"signal {-status}" if status < 0 else str(status),
        f"{seconds:.1f} s",
    ]


# bursts


class Counted(Callbacks):
    background = True

    def __init__(self, size: int, policy: str) -> None:
        self.background_queue_size = size
        self.background_overflow = policy
        self.got = 0

    def on_llm_start(self, event: LLMStartEvent) -> None:
        self.got += 1
        sum(range(40))  # about a microsecond of work, so small queues overflow


def burst(size: int, policy: str) -> list[str]:
    handler = Counted(size, policy)
    manager = CallbackManager([handler])
    event = LLMStartEvent(model="m")

    def produce() -> None:
        for _ in range(BURST_EACH):
            manager.emit(event)

    threads = [threading.Thread(target=produce) for _ in range(BURST_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert llmhooks.flush(60)
    sent = BURST_THREADS * BURST_EACH
    dropped = manager.stats()["Counted"]["dropped"]
    exact = handler.got + dropped == sent
    return [
        policy,
        f"{size:,}",
        f"{sent:,}",
        f"{handler.got:,}",
        f"{dropped:,}",
        f"{handler.got / sent:.1%}",
        "yes" if exact else f"NO ({handler.got + dropped - sent:+})",
    ]


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Print ``rows`` under ``headers``: the first column left-aligned, the others right."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("-" * len(line(headers)))
    for r in rows:
        print(line(r))
    print()


def main() -> None:
    import logging

    logging.getLogger("llmhooks").setLevel(logging.CRITICAL)  # chaos is meant to fail: no log flood
    print(f"llmhooks {llmhooks.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} cores\n")

    print(f"Chaos: {RUNS:,} runs, handlers that raise, hang past a timeout and abort at random")
    table(["", "count"], [list(row) for row in chaos()])

    print(f"Exit modes: {QUEUED:,} events queued behind a background handler writing each to a file")
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, body, env, sig in MODES:
            rows.append(exit_mode(Path(tmp), name, body, env, sig))
    headers = [
        "exit",
        "queued at exit",
        "delivered",
        "lost",
        "reported lost",
        "delivered %",
        "status",
        "took",
    ]
    table(headers, rows)

    print(f"Bursts: {BURST_THREADS} threads x {BURST_EACH:,} events into one background handler")
    burst_rows = [
        burst(size, policy)
        for policy in ("drop_oldest", "drop_newest", "block")
        for size in (64, 1024, 10_000)
    ]
    table(
        ["policy", "queue", "sent", "delivered", "dropped", "delivered %", "delivered+dropped==sent"],
        burst_rows,
    )


if __name__ == "__main__":
    main()
