"""Delivery guarantees of the manager: terminal events reach everyone, background queues per handler."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

from llmhooks import (
    Abort,
    CallbackManager,
    Callbacks,
    Event,
    InvalidHandlerError,
    LLMEndEvent,
    LLMStartEvent,
    flush,
    llm_run,
)
from llmhooks.testing import RecordingCallbacks

START = LLMStartEvent(model="m")
END = LLMEndEvent(model="m")


class AbortOnEnd(Callbacks):
    def on_llm_end(self, event: LLMEndEvent) -> None:
        raise Abort("stop at the end")


def test_an_abort_on_a_terminal_event_still_reaches_every_later_handler() -> None:
    """A handler aborting on ``llm.end`` does not cost the handlers after it their end event."""
    later = RecordingCallbacks()
    manager = CallbackManager([AbortOnEnd(), later])
    with pytest.raises(Abort, match="stop at the end"), llm_run(model="m", callbacks=manager) as run:
        run.finish(response="ok")
    assert later.types() == ["llm.start", "llm.end"]


def test_a_raise_errors_failure_on_an_error_event_reaches_every_handler() -> None:
    """``raise_errors`` on an error handler: the others still get the error event."""

    class Strict(Callbacks):
        raise_errors = True

        def on_llm_error(self, event: Event) -> None:
            raise RuntimeError("strict handler")

    later = RecordingCallbacks()
    manager = CallbackManager([Strict(), later])
    with pytest.raises(KeyError), llm_run(model="m", callbacks=manager):
        raise KeyError("the caller's own error")
    assert later.types() == ["llm.start", "llm.error"]


def test_a_start_abort_still_stops_later_handlers_and_they_are_not_counted() -> None:
    """A refused start reaches no later handler, and stats() counts only calls that happened."""

    class Refuse(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise Abort("no")

    later = RecordingCallbacks()
    manager = CallbackManager([Refuse(), later])
    for _ in range(3):
        with pytest.raises(Abort):
            manager.emit(START)
    assert later.events == []
    assert manager.stats()["RecordingCallbacks"]["calls"] == 0
    assert manager.stats()["Refuse"]["calls"] == 3


async def test_on_x_async_on_a_manager_is_aemit() -> None:
    """``await manager.on_llm_start_async(e)`` awaits async handlers and lets raise_errors out."""
    seen: list[str] = []

    class Slow(Callbacks):
        async def on_llm_start_async(self, event: LLMStartEvent) -> None:
            await asyncio.sleep(0)
            seen.append("done")

    class Strict(Callbacks):
        raise_errors = True

        async def on_llm_end_async(self, event: LLMEndEvent) -> None:
            raise RuntimeError("strict")

    manager = CallbackManager([Slow(), Strict()])
    await manager.on_llm_start_async(START)
    assert seen == ["done"]
    with pytest.raises(RuntimeError, match="strict"):
        await manager.on_llm_end_async(END)


@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (lambda: CallbackManager(123), InvalidHandlerError, "handlers must be a list"),  # type: ignore[arg-type]
        (
            lambda: CallbackManager(RecordingCallbacks()),
            InvalidHandlerError,
            "CallbackManager\\(\\[handler\\]\\)",
        ),  # type: ignore[arg-type]
        (lambda: CallbackManager(timeout=-1), ValueError, "timeout must be > 0, got -1"),
        (lambda: CallbackManager(concurrent="yes"), TypeError, "concurrent must be True or False"),  # type: ignore[arg-type]
    ],
)
def test_bad_manager_arguments_fail_at_construction(build: Any, error: type, words: str) -> None:
    """Each names the argument, what was given and what is allowed."""
    with pytest.raises(error, match=words):
        build()


def test_bad_handler_settings_fail_at_registration() -> None:
    """``priority="high"`` or ``timeout="soon"`` are refused when the handler is added."""
    high = RecordingCallbacks()
    high.priority = "high"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="priority must be an integer, got 'high'"):
        CallbackManager([high])
    soon = RecordingCallbacks()
    soon.timeout = "soon"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="timeout must be a number or None, got 'soon'"):
        CallbackManager([soon])
    odd = RecordingCallbacks()
    odd.background = True
    odd.background_overflow = "sometimes"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="background_overflow must be one of"):
        CallbackManager([odd])


class Gated(Callbacks):
    background = True

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate
        self.got = 0

    def on_llm_start(self, event: LLMStartEvent) -> None:
        self.gate.wait(10)
        self.got += 1


class Counter(Callbacks):
    background = True

    def __init__(self) -> None:
        self.got = 0

    def on_llm_start(self, event: LLMStartEvent) -> None:
        self.got += 1


def test_a_slow_background_handler_never_holds_up_a_fast_one() -> None:
    """Each background handler has its own queue and worker: a blocked one delays no other."""
    gate = threading.Event()
    slow, fast = Gated(gate), Counter()
    manager = CallbackManager([slow, fast])
    try:
        for _ in range(2000):
            manager.emit(START)
        deadline = time.monotonic() + 10
        while fast.got < 2000 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fast.got == 2000  # all delivered while the slow handler is still stuck on its first
        assert slow.got == 0
    finally:
        gate.set()
    assert flush(20)
    assert slow.got == 2000 and manager.stats()["Gated"]["dropped"] == 0


def test_block_overflow_loses_nothing_from_a_burst_of_threads() -> None:
    """``background_overflow = "block"``: 16 threads x 500 events into a queue of 64, none lost."""

    class Lossless(RecordingCallbacks):
        background = True
        background_queue_size = 64
        background_overflow = "block"

        def on_event(self, event: Event) -> None:
            time.sleep(0.00001)
            RecordingCallbacks.on_event(self, event)

    sink = Lossless()
    manager = CallbackManager([sink])

    def burst() -> None:
        for _ in range(500):
            manager.emit(START)

    threads = [threading.Thread(target=burst) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert flush(30)
    assert len(sink.events) == 8000 and manager.stats()["Lossless"]["dropped"] == 0


def test_on_batch_gets_queued_events_in_batches_in_order() -> None:
    """A background handler defining ``on_batch`` is handed lists of events, in order."""

    class Shipper(Callbacks):
        background = True
        background_batch_size = 50

        def __init__(self) -> None:
            self.batches: list[list[Event]] = []

        def on_batch(self, events: list[Event]) -> None:
            self.batches.append(list(events))

    shipper = Shipper()
    manager = CallbackManager([shipper])
    sent = [LLMStartEvent(model=str(i)) for i in range(500)]
    for event in sent:
        manager.emit(event)
    assert flush(10)
    received = [e for batch in shipper.batches for e in batch]
    assert received == sent
    assert max(len(b) for b in shipper.batches) <= 50


def test_failure_log_hides_secrets_of_the_callers_exception(caplog: pytest.LogCaptureFixture) -> None:
    """A handler failing while handling an error event: the log shows its chain redacted."""

    class Broken(Callbacks):
        def on_llm_error(self, event: Event) -> None:
            raise RuntimeError("handler broke")

    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
    with (
        caplog.at_level(logging.ERROR, logger="llmhooks"),
        pytest.raises(ValueError),
        llm_run(model="m", callbacks=[Broken()]),
    ):
        raise ValueError(f"call failed with key {key}")
    text = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    assert "handler broke" in text and "call failed with key" in text
    assert key not in text


def test_a_fork_while_another_thread_holds_core_locks_does_not_deadlock_the_child() -> None:
    """Locks held by another thread at fork time are fresh in the child: it can route and count."""
    import os

    manager = CallbackManager([RecordingCallbacks()])
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        stats_lock = manager._slots[0].stats._lock
        with manager._lock, stats_lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: must not hang on the copied, held locks
        try:
            manager.add(RecordingCallbacks())
            manager.emit(START)
            os._exit(0 if manager.stats()["RecordingCallbacks"]["calls"] == 1 else 3)
        except BaseException:
            os._exit(4)
    release.set()
    holder.join()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child deadlocked")
