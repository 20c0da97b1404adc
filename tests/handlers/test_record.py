"""EventRecorder and replay: every event to JSONL or SQLite, fed back in order to any handlers."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from llmhooks import (
    CostLimiter,
    EventRecorder,
    LLMErrorEvent,
    MetricsCallbacks,
    TokenCounter,
    callbacks_context,
    replay,
    tool_run,
)
from llmhooks.handlers.record import ReplayResult, areplay, read_events
from llmhooks.testing import RecordingCallbacks

from .calls import allm_call, in_tasks, in_threads, llm_call


def session(callbacks: list[object]) -> None:
    """A small session: a streamed call, a tool call, a failed call."""
    with callbacks_context(callbacks):  # type: ignore[arg-type]
        llm_call(tokens=["4"], input_tokens=10, output_tokens=1, latency_ms=100.0)
        with tool_run("calc", arguments={"x": 2}) as run:
            run.finish(result=4)

        def fail() -> None:
            raise TimeoutError("slow")

        with pytest.raises(TimeoutError):
            llm_call(body=fail)


@pytest.mark.parametrize("name", ["session.jsonl", "session.db"])
def test_replay_gives_the_same_events_in_order(tmp_path: Path, name: str) -> None:
    """Recorded events come back with the same types, run ids and fields, in order."""
    live = RecordingCallbacks()
    with EventRecorder(tmp_path / name) as recorder:
        session([recorder, live])
    replayed = RecordingCallbacks()
    result = replay(tmp_path / name, replayed)
    assert (result.events, result.skipped) == (len(live.events), 0)
    assert replayed.types() == live.types()
    assert [e.run_id for e in replayed.events] == [e.run_id for e in live.events]
    assert [e.to_dict() for e in replayed.events][:-1] == [e.to_dict() for e in live.events][:-1]
    error = replayed.of_type(LLMErrorEvent)[0]
    assert error.error_message == "slow" and error.error_type == "TimeoutError"


def test_jsonl_has_one_event_per_line(tmp_path: Path) -> None:
    """Each line is one event's to_dict(), written as it happens."""
    path = tmp_path / "events.jsonl"
    recorder = EventRecorder(path)
    llm_call(recorder)
    lines = path.read_text().splitlines()  # readable before close(): flushed per event
    assert [json.loads(line)["type"] for line in lines] == ["llm.start", "llm.end"]
    recorder.close()


def test_handlers_rerun_on_recorded_traffic(tmp_path: Path) -> None:
    """Replaying into MetricsCallbacks gives the same figures as live."""
    path = tmp_path / "s.jsonl"
    live = MetricsCallbacks()
    with EventRecorder(path) as recorder:
        session([recorder, live])
    again = MetricsCallbacks()
    replay(path, [again])
    assert again.snapshot() == live.snapshot()


def test_truncated_last_line_is_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A crash mid-write leaves half a line: replay skips it, counts it and says so."""
    path = tmp_path / "s.jsonl"
    with EventRecorder(path) as recorder:
        llm_call(recorder)
    with open(path, "a") as f:
        f.write('{"type": "llm.start", "run_id": "abc", "provi')
    rec = RecordingCallbacks()
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        result = replay(path, rec)
    assert (result.events, result.skipped) == (2, 1)
    assert rec.types() == ["llm.start", "llm.end"]
    assert "skipped 1" in caplog.text


def test_replay_counts_aborts_and_goes_on(tmp_path: Path) -> None:
    """A limiter refusing a recorded call is counted in aborted; later events still arrive."""
    path = tmp_path / "s.jsonl"
    with EventRecorder(path) as recorder:
        for _ in range(3):
            llm_call(recorder, model="m", input_tokens=10_000, output_tokens=0)  # $0.01 each
    limiter = CostLimiter(max_cost=0.015, estimate=0.01, prices={"m": {"input": 1, "output": 1}})
    counter = TokenCounter()
    result = replay(path, [limiter, counter])
    assert result.aborted == 2  # 0.01 spent + 0.01 estimated > 0.015, twice
    assert result.events == 6
    assert counter.calls == 3
    assert limiter.spent == pytest.approx(0.01)


async def test_areplay_awaits_async_handlers(tmp_path: Path) -> None:
    """areplay delivers through aemit: async handler methods are awaited."""
    path = tmp_path / "s.jsonl"
    with EventRecorder(path) as recorder:
        await allm_call(recorder, tokens=["a", "b"])
    seen: list[str] = []

    class Async(RecordingCallbacks):
        async def on_llm_token_async(self, event: object) -> None:
            await asyncio.sleep(0)
            seen.append(event.token)  # type: ignore[attr-defined]

    result = await areplay(path, [Async()])
    assert result.events == 4 and seen == ["a", "b"]


def test_read_events_yields_events(tmp_path: Path) -> None:
    """read_events iterates a recording without any handler."""
    path = tmp_path / "s.db"
    with EventRecorder(path) as recorder:
        llm_call(recorder)
    assert [e.type for e in read_events(path)] == ["llm.start", "llm.end"]


@pytest.mark.parametrize("name", ["many.jsonl", "many.sqlite"])
def test_50_concurrent_calls_in_threads_all_recorded(tmp_path: Path, name: str) -> None:
    """50 overlapping calls in threads: every event recorded whole, each run complete."""
    path = tmp_path / name
    with EventRecorder(path) as recorder:
        in_threads(50, lambda i: llm_call(recorder, tokens=["x"] * 5))
    rec = RecordingCallbacks()
    result = replay(path, rec)
    assert (result.events, result.skipped) == (50 * 7, 0)
    rec.assert_terminated()
    assert len(rec.runs()) == 50


async def test_50_concurrent_calls_in_tasks_all_recorded(tmp_path: Path) -> None:
    """50 overlapping calls as tasks: every event recorded."""
    path = tmp_path / "tasks.jsonl"
    with EventRecorder(path) as recorder:
        await in_tasks(50, lambda i: allm_call(recorder, body=lambda: asyncio.sleep(0.001)))
    assert replay(path, RecordingCallbacks()).events == 100


def test_background_recording_off_the_callers_thread(tmp_path: Path) -> None:
    """background=True writes from the worker; close() waits for it."""
    path = tmp_path / "bg.jsonl"
    with EventRecorder(path, background=True, flush_every=10) as recorder:
        for _ in range(20):
            llm_call(recorder)
    assert replay(path, RecordingCallbacks()).events == 40


def test_flush_every_batches_and_flush_writes_out(tmp_path: Path) -> None:
    """With flush_every=N, flush() makes everything recorded so far readable."""
    path = tmp_path / "b.db"
    recorder = EventRecorder(path, flush_every=1000)
    llm_call(recorder)
    recorder.flush()
    assert len(list(read_events(path))) == 2
    recorder.close()


def test_events_after_close_are_counted_not_written(tmp_path: Path) -> None:
    """A closed recorder drops later events and counts them."""
    path = tmp_path / "c.jsonl"
    recorder = EventRecorder(path)
    recorder.close()
    llm_call(recorder)
    assert recorder.dropped == 2 and path.read_text() == ""


def test_bad_arguments_raise_at_construction(tmp_path: Path) -> None:
    """flush_every < 1 and unknown formats are refused when the recorder is built."""
    with pytest.raises(ValueError, match="flush_every must be >= 1"):
        EventRecorder(tmp_path / "x.jsonl", flush_every=0)
    with pytest.raises(ValueError, match="format must be 'jsonl' or 'sqlite'"):
        EventRecorder(tmp_path / "x.jsonl", format="csv")  # type: ignore[arg-type]


def test_recording_is_redacted(tmp_path: Path) -> None:
    """Secrets in a call's payload never reach the file (runs redact before handlers see events)."""
    path = tmp_path / "r.jsonl"
    secret = "sk-proj-abcdefghijklmnopqrstuvwx1234"
    with EventRecorder(path) as recorder:
        llm_call(recorder, messages=[{"role": "user", "content": f"my key is {secret}"}])
    text = path.read_text()
    assert secret not in text
    assert "my key is" in text


LONE_SURROGATE = "half an emoji: \ud83d"


@pytest.mark.parametrize("name", ["s.jsonl", "s.db"])
@pytest.mark.parametrize("flush_every", [1, 3])
def test_lone_surrogate_is_recorded_escaped_and_nothing_is_lost(
    tmp_path: Path, name: str, flush_every: int
) -> None:
    """A string UTF-8 cannot encode is written escaped; the events before and after it all arrive.

    Before, SQLite lost every later event (a failed INSERT left a transaction open) and JSONL
    dropped the event.
    """
    path = tmp_path / name
    with EventRecorder(path, flush_every=flush_every) as recorder:
        for i in range(100):
            prompt = LONE_SURROGATE if i == 1 else f"call {i}"
            llm_call(recorder, messages=[{"role": "user", "content": prompt}])
    assert recorder.recorded == 200
    events = list(read_events(path))
    assert len(events) == 200
    assert events[2].messages == [{"role": "user", "content": LONE_SURROGATE}]
    assert events[-1].type == "llm.end"


NEVER_CLOSED = """
import sys
from llmhooks import EventRecorder, llm_run
recorder = EventRecorder(sys.argv[1], flush_every=1000, background=sys.argv[2] == "bg")
for i in range(10):
    with llm_run(provider="p", model="m", prompt=f"call {i}", callbacks=[recorder]) as run:
        run.finish(response="ok")
# no close(): the program just ends
"""


@pytest.mark.parametrize("name", ["tail.db", "tail.jsonl"])
@pytest.mark.parametrize("mode", ["inline", "bg"])
def test_recorder_never_closed_keeps_its_tail_at_exit(tmp_path: Path, name: str, mode: str) -> None:
    """A recorder the program never closes: what it had not yet committed is written at exit."""
    path = tmp_path / name
    subprocess.run([sys.executable, "-c", NEVER_CLOSED, str(path), mode], check=True, timeout=60)
    assert len(list(read_events(path))) == 20


def test_pending_events_are_flushed_after_flush_interval(tmp_path: Path) -> None:
    """flush_every=1000 and a quiet program: the first event is readable within flush_interval."""
    import sqlite3
    import time

    path = tmp_path / "quiet.db"
    recorder = EventRecorder(path, flush_every=1000, flush_interval=0.05)
    llm_call(recorder)
    deadline = time.monotonic() + 10
    rows = 0
    while time.monotonic() < deadline:
        with sqlite3.connect(path) as db:  # another connection sees committed rows only
            rows = db.execute("SELECT count(*) FROM events").fetchone()[0]
        if rows == 2:
            break
        time.sleep(0.01)
    assert rows == 2
    recorder.close()


def test_replay_skips_unreadable_lines_and_reads_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Bytes that are not UTF-8, JSON nested too deeply, an unknown type: each skipped, counted, named.

    Before, the first such line ended the reading and everything after it was lost.
    """
    path = tmp_path / "mixed.jsonl"
    with EventRecorder(path) as recorder:
        llm_call(recorder)
    with open(path, "ab") as f:
        f.write(b'{"type": "llm.start", "run_id": "\xff\xfe"}\n')  # line 3: not UTF-8
        f.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")  # line 4: deeper than the parser goes
        f.write(b'{"type": "no.such.event"}\n')  # line 5: a type this version does not know
    with EventRecorder(path) as recorder:
        llm_call(recorder)
    rec = RecordingCallbacks()
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        result = replay(path, rec)
    assert rec.types() == ["llm.start", "llm.end", "llm.start", "llm.end"]
    assert result.events == 4
    assert (result.skipped, result.skipped_at) == (3, [3, 4, 5])
    assert result.reasons == {"not UTF-8": 1, "nested too deeply": 1, "unknown event type": 1}
    assert "skipped 3 unreadable record(s)" in caplog.text and "at line 3, 4, 5" in caplog.text


def test_sqlite_row_that_is_not_utf8_is_skipped(tmp_path: Path) -> None:
    """A row whose text is not UTF-8 is skipped and counted; the rows after it are read."""
    import sqlite3

    path = tmp_path / "bad.db"
    with EventRecorder(path) as recorder:
        llm_call(recorder)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO events (type, data) VALUES ('llm.start', CAST(? AS TEXT))", (b'{"type":"\xff"}',)
        )
    with EventRecorder(path) as recorder:
        llm_call(recorder)
    result = ReplayResult()
    events = list(read_events(path, result=result))
    assert [e.type for e in events] == ["llm.start", "llm.end", "llm.start", "llm.end"]
    assert (result.skipped, result.skipped_at, result.reasons) == (1, [3], {"not UTF-8": 1})


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"flush_every": "100"}, TypeError, r"flush_every must be an integer, got '100' \(str\)"),
        ({"flush_every": 0}, ValueError, "flush_every must be >= 1, got 0"),
        ({"flush_interval": math.nan}, ValueError, "flush_interval must be a finite number, got nan"),
        ({"flush_interval": 0}, ValueError, "flush_interval must be > 0"),
        ({"background": "yes"}, TypeError, "background must be True or False"),
        ({"fsync": 1}, TypeError, "fsync must be True or False"),
    ],
)
def test_bad_options_raise_at_construction(
    tmp_path: Path, kwargs: dict[str, object], error: type, message: str
) -> None:
    """Each option is checked when the recorder is built, naming it, what was given and the rule."""
    with pytest.raises(error, match=message):
        EventRecorder(tmp_path / "x.jsonl", **kwargs)  # type: ignore[arg-type]


def test_path_under_a_file_is_refused_clearly(tmp_path: Path) -> None:
    """A path whose folder is a file: a ValueError naming both, not a NotADirectoryError traceback."""
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=r"path .*out\.jsonl.* is under .*notes\.txt.*, which is a file"):
        EventRecorder(tmp_path / "notes.txt" / "out.jsonl")
    with pytest.raises(TypeError, match="path must be a file path"):
        EventRecorder(42)  # type: ignore[arg-type]


SIGTERMED = """
import os, signal, sys
from llmhooks import EventRecorder, llm_run
recorder = EventRecorder(sys.argv[1], flush_every=1000)
for i in range(10):
    with llm_run(provider="p", model="m", prompt=f"call {i}", callbacks=[recorder]) as run:
        run.finish(response="ok")
os.kill(os.getpid(), signal.SIGTERM)  # what docker stop sends
signal.pause()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32", reason="POSIX signals")
def test_uncommitted_tail_survives_sigterm(tmp_path: Path) -> None:
    """SIGTERM ends the program as SIGTERM does, after the recorder has committed what it held."""
    path = tmp_path / "term.db"
    proc = subprocess.run([sys.executable, "-c", SIGTERMED, str(path)], timeout=60)
    assert proc.returncode == -signal.SIGTERM
    assert len(list(read_events(path))) == 20


def test_background_recorder_keeps_every_event_of_a_burst_from_threads(tmp_path: Path) -> None:
    """16 threads x 1,000 events into a background recorder with a small queue: all written."""
    import threading

    from llmhooks import CallbackManager, LLMStartEvent
    from llmhooks.handlers.record import EventRecorder, read_events

    class SmallQueue(EventRecorder):
        background_queue_size = 32

    recorder = SmallQueue(tmp_path / "burst.jsonl", background=True, flush_every=100)
    manager = CallbackManager([recorder])

    def burst(k: int) -> None:
        for i in range(1000):
            manager.emit(LLMStartEvent(model=f"{k}-{i}"))

    threads = [threading.Thread(target=burst, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert recorder.flush(30) is True
    recorder.close()
    assert recorder.dropped == 0 and recorder.recorded == 16_000
    models = {e.model for e in read_events(tmp_path / "burst.jsonl")}
    assert len(models) == 16_000


def _wait_until(condition: object, seconds: float = 30.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("overflow", ["block", "drop_newest"])
def test_each_lost_event_is_counted_once_and_close_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, overflow: str
) -> None:
    """A background recorder whose writes are stuck when close() gives up: every event it
    never wrote is counted exactly once in ``dropped`` (queued, refused after close, or
    discarded by a full queue), and close() logs how many."""
    import threading

    from llmhooks import CallbackManager, LLMStartEvent

    gate = threading.Event()

    class Stuck(EventRecorder):
        background_queue_size = 4
        background_overflow = overflow

        def on_event(self, event: object) -> None:
            gate.wait(30)
            super().on_event(event)  # type: ignore[arg-type]

    recorder = Stuck(tmp_path / "stuck.jsonl", background=True)
    manager = CallbackManager([recorder])
    sent = 4 if overflow == "block" else 10  # block: never more than the queue holds, so no wait
    for i in range(sent):
        manager.emit(LLMStartEvent(model=f"m{i}"))
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        recorder.close(timeout=0.2)
    assert "not written" in caplog.text
    gate.set()  # the stuck write goes on: it and the rest arrive after close(), and are refused
    queue = recorder._llmhooks_queue  # type: ignore[attr-defined]
    assert _wait_until(lambda: queue.undelivered() == 0)
    assert recorder.recorded == 0 and (tmp_path / "stuck.jsonl").read_text() == ""
    assert recorder.dropped == sent
    manager.emit(LLMStartEvent(model="late"))  # after close: counted once more
    assert _wait_until(lambda: queue.undelivered() == 0)
    assert recorder.dropped == sent + 1


def test_replay_arguments_of_the_wrong_kind_are_named(tmp_path: Path) -> None:
    """``replay(path, 5)`` and ``replay(5, [])`` say what they take, not "'int' is not iterable"."""
    path = tmp_path / "r.jsonl"
    EventRecorder(path).close()
    with pytest.raises(
        TypeError, match=r"callbacks must be a handler, a list of handlers or a CallbackManager, got 5"
    ):
        replay(path, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"path must be a file path \(str or os.PathLike\), got 5 \(int\)"):
        replay(5, [])  # type: ignore[arg-type]
