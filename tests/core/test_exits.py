"""Queued background events survive the ways real processes end, or are counted and reported.

Each case runs a real program in a subprocess. Its background handler appends every event
it gets to a file (one line per event, written unbuffered), so a test counts exactly what
was delivered. Where a case must prove that events were still queued when the process
began to exit, the handler is held at a gate that opens only then (a file the test
creates after sending the signal, or a thread that sees the main thread enter llmhooks'
exit flush), never by sleeping and hoping.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
N = 3000
DEADLINE = 60.0  # generous: a loaded 2-core machine may be slow, never this slow

PRELUDE = '''
import os, sys, threading, time
import llmhooks

OUT = sys.argv[1]
GATE = sys.argv[2]


class Writer(llmhooks.Callbacks):
    """Appends each event's model to OUT; optionally held at a gate, slowed, or hung."""

    background = True

    def __init__(self, delay=0.0, gate=None, hang_after=None):
        self.delay = delay
        self.gate = gate  # "file": wait for GATE to exist; a threading.Event: wait for it
        self.hang_after = hang_after
        self.seen = 0
        self.file = None

    def on_llm_start(self, event):
        if self.gate == "file":
            while not os.path.exists(GATE):
                time.sleep(0.002)
            self.gate = None
        elif self.gate is not None:
            self.gate.wait()
            self.gate = None
        if self.hang_after is not None and self.seen >= self.hang_after:
            threading.Event().wait()  # never returns
        if self.delay:
            time.sleep(self.delay)
        if self.file is None:
            self.file = open(OUT, "a", buffering=1)  # a line per write: nothing left in a buffer
        self.file.write(event.model + "\\n")
        self.seen += 1


def when_exit_flush_starts(callback):
    """Call ``callback`` (from a daemon thread) once the main thread is inside llmhooks' exit flush.

    Whichever way the process gets there (atexit, a multiprocessing finalizer, a signal),
    so a gate opened by it proves the events were still queued when the exit began.
    """
    main = threading.main_thread().ident

    def watch():
        while True:
            frame = sys._current_frames().get(main)
            while frame is not None and frame.f_code.co_name != "flush_at_exit":
                frame = frame.f_back
            if frame is not None:
                callback()
                return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()


def emit(handler, n, prefix="e"):
    manager = llmhooks.CallbackManager([handler])
    for i in range(n):
        manager.emit(llmhooks.LLMStartEvent(model=f"{prefix}{i}"))
    return manager
'''


SAY_WHEN_FLUSHING = 'when_exit_flush_starts(lambda: print("flushing", flush=True))\n'


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "program.py"
    path.write_text(PRELUDE + textwrap.dedent(body))
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {"PYTHONPATH": str(SRC), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra}
    return env


def _start(tmp_path: Path, body: str, **env: str) -> tuple[subprocess.Popen[str], Path, Path]:
    out, gate = tmp_path / "out.txt", tmp_path / "gate"
    proc = subprocess.Popen(
        [sys.executable, str(_script(tmp_path, body)), str(out), str(gate)],
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    return proc, out, gate


def _run(tmp_path: Path, body: str, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    proc, out, _gate = _start(tmp_path, body, **env)
    stdout, stderr = proc.communicate(timeout=DEADLINE)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return done, _lines(out)


def _lines(out: Path) -> list[str]:
    return out.read_text().splitlines() if out.exists() else []


def _wait_for_line(proc: subprocess.Popen[str], expected: str) -> None:
    """Read the program's stdout until it prints ``expected`` (or fail with its stderr)."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if sel.select(timeout=deadline - time.monotonic()):
                line = proc.stdout.readline()
                if line.strip() == expected:
                    return
                if not line:
                    break
    proc.kill()
    _out, err = proc.communicate()
    pytest.fail(f"the program never printed {expected!r}; stderr:\n{err}")


def _lost_reported(stderr: str) -> int:
    found = re.search(r"llmhooks: (\d+) background event\(s\) not delivered", stderr)
    assert found is not None, f"no loss report on stderr:\n{stderr}"
    return int(found.group(1))


def _expected(n: int = N, prefix: str = "e") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


# signals


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_delivers_every_queued_event_and_the_process_still_dies_of_it(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """``docker stop``/Kubernetes send SIGTERM: 3,000 queued events are all delivered, then the
    process ends killed by that signal, as it would have without llmhooks."""
    proc, out, gate = _start(
        tmp_path,
        f"""
        emit(Writer(delay=0.0001, gate="file"), {N})
        print("queued", flush=True)
        while True:
            time.sleep(3600)
        """,
    )
    _wait_for_line(proc, "queued")
    assert _lines(out) == []  # the handler is held at the gate: every event is still queued
    proc.send_signal(sig)
    gate.touch()
    _stdout, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == -sig, stderr
    assert _lines(out) == _expected()
    assert "not delivered" not in stderr


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_programs_own_sigterm_handler_is_kept_and_its_exit_flushes(tmp_path: Path, when: str) -> None:
    """A SIGTERM handler of the program's own, installed before or after llmhooks starts its
    worker, is never replaced; it runs, and its ``sys.exit`` delivers everything at exit."""
    install = """
        def own(signum, frame):
            print("own handler ran", file=sys.stderr, flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, own)
    """
    body = "import signal\n"
    if when == "before":
        body += textwrap.dedent(install) + f'emit(Writer(gate="file"), {N})\n'
    else:
        body += f'emit(Writer(gate="file"), {N})\n' + textwrap.dedent(install)
    body += textwrap.dedent(
        """
        assert signal.getsignal(signal.SIGTERM) is own
        print("queued", flush=True)
        while True:
            time.sleep(3600)
        """
    )
    proc, out, gate = _start(tmp_path, body)
    _wait_for_line(proc, "queued")
    assert _lines(out) == []
    proc.send_signal(signal.SIGTERM)
    gate.touch()
    _stdout, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 3, stderr
    assert "own handler ran" in stderr
    assert _lines(out) == _expected()


def test_a_signal_during_the_exit_flush_lets_it_finish_then_ends_the_process(tmp_path: Path) -> None:
    """SIGTERM arriving while the atexit flush is running (a service told to stop as it ends)
    does not cut the flush short: every event is delivered, then the process dies of it."""
    proc, out, gate = _start(
        tmp_path,
        SAY_WHEN_FLUSHING + f'emit(Writer(gate="file"), {N})\n',
    )
    _wait_for_line(proc, "flushing")
    proc.send_signal(signal.SIGTERM)
    gate.touch()
    _stdout, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == -signal.SIGTERM, stderr
    assert _lines(out) == _expected()


def test_a_second_ctrl_c_stops_the_exit_flush_and_says_what_was_lost(tmp_path: Path) -> None:
    """Ctrl-C while the exit flush waits: it stops waiting, and still reports the loss."""
    proc, out, _gate = _start(tmp_path, SAY_WHEN_FLUSHING + f'emit(Writer(gate="file"), {N})\n')
    _wait_for_line(proc, "flushing")
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, stderr  # the program's own exit code
    assert _lines(out) == []
    assert _lost_reported(stderr) == N
    assert "interrupted" in stderr


# children


CHILD_WORK = """
import multiprocessing


def work(n):
    # the handler is held until this child is inside llmhooks' exit flush, so what it
    # delivers was still queued when the target returned
    gate = threading.Event()
    when_exit_flush_starts(gate.set)
    emit(Writer(gate=gate), n)
    return os.getpid()
"""


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_multiprocessing_child_delivers_its_queue_when_its_target_returns(
    tmp_path: Path, method: str
) -> None:
    """A ``multiprocessing`` child whose target returns normally (a fork child then leaves
    through ``os._exit``) delivers everything it queued before it exits."""
    done, lines = _run(
        tmp_path,
        CHILD_WORK
        + f"""
if __name__ == "__main__":
    ctx = multiprocessing.get_context({method!r})
    child = ctx.Process(target=work, args=({N},))
    child.start()
    child.join({DEADLINE})
    print("exitcode", child.exitcode)
""",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["exitcode", "0"], done.stderr
    assert lines == _expected()
    assert "not delivered" not in done.stderr


def test_a_process_pool_worker_delivers_its_queue_when_the_pool_shuts_down(tmp_path: Path) -> None:
    """A ``ProcessPoolExecutor`` worker delivers what its tasks queued before it exits."""
    done, lines = _run(
        tmp_path,
        CHILD_WORK
        + f"""
from concurrent.futures import ProcessPoolExecutor

if __name__ == "__main__":
    with ProcessPoolExecutor(max_workers=1) as pool:
        pid = pool.submit(work, {N}).result()
    print("worker", pid != os.getpid())
""",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["worker", "True"], done.stderr
    assert lines == _expected()


def test_a_fork_child_delivers_its_own_events_once_and_never_its_parents(tmp_path: Path) -> None:
    """A bare ``os.fork()`` child that calls ``llmhooks.flush()`` before ``os._exit`` delivers
    its events; the parent's events queued at the fork are delivered once, by the parent."""
    done, lines = _run(
        tmp_path,
        f"""
        gate = threading.Event()
        writer = Writer(gate=gate)
        manager = emit(writer, {N}, prefix="p")  # all queued: the handler waits at the gate
        pid = os.fork()
        if pid == 0:
            # not gate.set(): the parent's worker may have held the Event's lock at the fork
            writer.gate = None
            for i in range(100):
                manager.emit(llmhooks.LLMStartEvent(model=f"c{{i}}"))
            ok = llmhooks.flush(30)
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        gate.set()
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["child", "0"], done.stderr
    assert [x for x in lines if x.startswith("c")] == _expected(100, "c")
    assert [x for x in lines if x.startswith("p")] == _expected(prefix="p")  # once each, in order


# when the exit flush gives up


def test_an_exit_flush_timeout_says_exactly_how_many_events_were_lost(tmp_path: Path) -> None:
    """With ``LLMHOOKS_EXIT_FLUSH_TIMEOUT=0.2`` and a 10 ms handler most of 3,000 events cannot
    be delivered: stderr says how many (queued - delivered, exactly), the exit code is the
    program's own."""
    done, lines = _run(
        tmp_path,
        f"""
        import atexit
        # registered first, so it runs after llmhooks' exit flush: what stats() says then
        atexit.register(lambda: print("lost", manager.stats()["Writer"]["lost"]))
        manager = emit(Writer(delay=0.01), {N})
        sys.exit(4)
        """,
        LLMHOOKS_EXIT_FLUSH_TIMEOUT="0.2",
    )
    assert done.returncode == 4, done.stderr
    assert lines == _expected(len(lines))  # delivered in order, none twice
    assert 0 < len(lines) < N
    assert _lost_reported(done.stderr) == N - len(lines)
    assert "(Writer: " in done.stderr  # the report names the handler
    assert done.stdout.split() == ["lost", str(N - len(lines))]  # and stats() counts it


def test_a_handler_that_hangs_forever_cannot_hang_the_exit(tmp_path: Path) -> None:
    """A handler stuck for good: the exit still ends after the flush timeout, and the loss is
    reported (every event after the hang)."""
    done, lines = _run(
        tmp_path,
        f"""
        emit(Writer(hang_after=5), {N})
        """,
        LLMHOOKS_EXIT_FLUSH_TIMEOUT="0.5",
    )
    assert done.returncode == 0, done.stderr
    assert lines == _expected(5)
    assert _lost_reported(done.stderr) == N - 5
