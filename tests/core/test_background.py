"""Background delivery: off the caller's thread, bounded, counted, flushed at exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from llmhooks import CallbackManager, Callbacks, LLMStartEvent, flush, llm_run
from llmhooks.core.background import BackgroundWorker

START = LLMStartEvent(model="m")


class SlowBackground(Callbacks):
    background = True

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.threads: list[str] = []
        self.gate = gate

    def on_llm_start(self, event: LLMStartEvent) -> None:
        if self.gate is not None:
            self.gate.wait(5)
        self.threads.append(threading.current_thread().name)


def test_background_handler_runs_off_the_callers_thread() -> None:
    """A background handler is called from the worker thread, and flush waits for it."""
    h = SlowBackground()
    with llm_run(model="m", callbacks=h):
        pass
    assert flush(5)
    assert h.threads == ["llmhooks-background"]


def test_slow_background_handler_does_not_slow_the_caller() -> None:
    """The caller returns while the background handler is still blocked."""
    gate = threading.Event()
    h = SlowBackground(gate)
    mgr = CallbackManager([h])
    for _ in range(5):
        mgr.emit(START)
    assert h.threads == []  # nothing delivered yet: the handler is blocked, the caller is not
    gate.set()
    assert flush(5)
    assert len(h.threads) == 5


def test_overflow_drops_oldest_and_counts() -> None:
    """With a full queue the oldest event is dropped and counted per handler and worker."""
    worker = BackgroundWorker(maxsize=3)
    gate = threading.Event()
    got: list[int] = []

    def slow(ev: int) -> None:
        gate.wait(5)
        got.append(ev)

    from llmhooks.core.stats import HandlerStats

    stats = HandlerStats("slow")
    for i in range(10):
        worker.submit(slow, i, stats, lambda exc, ev: None)
    gate.set()
    assert worker.flush(5)
    assert worker.dropped == stats.dropped
    assert len(got) + worker.dropped == 10
    assert got[-3:] == [7, 8, 9]  # the newest survive
    worker.shutdown()


def test_block_policy_loses_nothing() -> None:
    """policy='block' makes the producer wait instead of dropping."""
    worker = BackgroundWorker(maxsize=2, policy="block")
    got: list[int] = []
    from llmhooks.core.stats import HandlerStats

    stats = HandlerStats("h")
    for i in range(200):
        worker.submit(got.append, i, stats, lambda exc, ev: None)
    assert worker.flush(5)
    assert got == list(range(200)) and worker.dropped == 0
    worker.shutdown()


def test_bad_worker_settings_are_refused() -> None:
    """maxsize and policy are validated with the value in the message."""
    with pytest.raises(ValueError, match="maxsize must be >= 1, got 0"):
        BackgroundWorker(maxsize=0)
    with pytest.raises(ValueError, match="policy must be"):
        BackgroundWorker(policy="never")  # type: ignore[arg-type]


def test_background_failure_is_isolated_and_counted() -> None:
    """A background handler that raises is counted as a failure; the worker keeps going."""

    class Bad(Callbacks):
        background = True

        def __init__(self) -> None:
            self.n = 0

        def on_llm_start(self, event: LLMStartEvent) -> None:
            self.n += 1
            raise RuntimeError("bg broke")

    h = Bad()
    mgr = CallbackManager([h])
    for _ in range(3):
        mgr.emit(START)
    assert flush(5)
    assert h.n == 3
    assert mgr.stats()["Bad"]["failures"] == 3


def test_background_handlers_emit_nothing_themselves() -> None:
    """Runs made inside a background handler are suppressed (no feedback loops)."""
    from llmhooks.testing import RecordingCallbacks

    rec = RecordingCallbacks()

    class Exporter(Callbacks):
        background = True

        def on_llm_start(self, event: LLMStartEvent) -> None:
            with llm_run(model="exporter-call", callbacks=rec):
                pass

    with llm_run(model="m", callbacks=Exporter()):
        pass
    assert flush(5)
    assert rec.events == []


def test_normal_exit_flushes_background_events(tmp_path: Path) -> None:
    """A program that exits normally delivers every queued background event first."""
    out = tmp_path / "out.txt"
    script = textwrap.dedent(
        f"""
        import time, llmhooks

        class Writer(llmhooks.Callbacks):
            background = True
            def on_llm_end(self, event):
                time.sleep(0.002)
                with open({str(out)!r}, "a") as f:
                    f.write(event.response + "\\n")

        w = Writer()
        for i in range(200):
            with llmhooks.llm_run(model="m", callbacks=w) as run:
                run.finish(response=str(i))
        """
    )
    src = Path(__file__).resolve().parents[2] / "src"
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().split() == [str(i) for i in range(200)]
