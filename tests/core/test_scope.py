"""Run scopes: the current run, ``use_run``, and scopes that follow it (as OpenTelemetry's span does)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from llmhooks import current_run, instrument_llm, llm_run, tool_run
from llmhooks.core.scope import add_run_scope, remove_run_scope, use_run
from llmhooks.testing import RecordingCallbacks


class Journal:
    """A scope that writes down what it is told, and what the recorder had seen by then."""

    def __init__(self, rec: RecordingCallbacks, trace_id: str | None = None) -> None:
        self.rec = rec
        self.trace_id = trace_id
        self.log: list[tuple[str, str, list[str]]] = []

    def enter(self, run: Any) -> str:
        self.log.append(("enter", run.run_id, self.rec.types()))
        return f"token-{run.run_id}"

    def exit(self, run: Any, token: Any) -> None:
        assert token == f"token-{run.run_id}"
        self.log.append(("exit", run.run_id, self.rec.types()))

    def ambient_trace_id(self) -> str | None:
        return self.trace_id


@pytest.fixture
def rec() -> RecordingCallbacks:
    return RecordingCallbacks()


@pytest.fixture
def journal(rec: RecordingCallbacks) -> Any:
    scope = Journal(rec)
    add_run_scope(scope)
    yield scope
    remove_run_scope(scope)


def test_scope_entered_after_start_and_left_after_the_terminal_event(
    rec: RecordingCallbacks, journal: Journal
) -> None:
    """A scope sees the run become current once its start was delivered, and leave after its end."""
    with llm_run(model="m", callbacks=rec) as run:
        assert current_run() is run
        run.finish(response="ok")
    assert journal.log == [
        ("enter", run.run_id, ["llm.start"]),
        ("exit", run.run_id, ["llm.start", "llm.end"]),
    ]
    assert current_run() is None


async def test_scope_follows_async_runs_and_errors(rec: RecordingCallbacks, journal: Journal) -> None:
    """``async with`` and a run ended by an exception tell the scope the same way."""
    with pytest.raises(KeyError):
        async with tool_run("t", callbacks=rec) as run:
            raise KeyError("x")
    assert [entry[0] for entry in journal.log] == ["enter", "exit"]
    assert journal.log[1] == ("exit", run.run_id, ["tool.start", "tool.error"])


def test_use_run_makes_a_held_run_current_for_the_block(rec: RecordingCallbacks, journal: Journal) -> None:
    """``use_run`` parents runs opened inside to a run started elsewhere, then restores the caller's."""
    held = llm_run(model="outer", streaming=True, callbacks=rec).start()
    with use_run(held):
        assert current_run() is held
        with tool_run("inner", callbacks=rec) as inner:
            pass
    assert current_run() is None
    held.finish(response="done")
    assert inner.parent_run_id == held.run_id
    assert [entry[:2] for entry in journal.log] == [
        ("enter", held.run_id),
        ("enter", inner.run_id),
        ("exit", inner.run_id),
        ("exit", held.run_id),
    ]


def test_a_stream_is_current_inside_each_step_only(rec: RecordingCallbacks, journal: Journal) -> None:
    """A decorated stream's run is entered around each step and left between steps."""
    seen: list[object] = []

    @instrument_llm(callbacks=rec)
    def words() -> Any:
        for word in ("a", "b"):
            seen.append(current_run())
            yield word

    stream = words()
    next(stream)
    assert current_run() is None  # between steps the consumer's context is untouched
    list(stream)
    run_id = rec.events[0].run_id
    assert [getattr(r, "run_id", None) for r in seen] == [run_id, run_id]
    entries = [e[0] for e in journal.log if e[1] == run_id]
    assert entries.count("enter") == entries.count("exit") >= 2


def test_root_run_joins_the_ambient_trace_child_keeps_its_parents(rec: RecordingCallbacks) -> None:
    """A root run takes the trace id a scope offers; a child keeps its parent's trace."""
    scope = Journal(rec, trace_id="ab" * 16)
    add_run_scope(scope)
    try:
        with llm_run(model="m", callbacks=rec) as outer, tool_run("t", callbacks=rec) as inner:
            pass
    finally:
        remove_run_scope(scope)
    assert outer.trace_id == inner.trace_id == "ab" * 16
    assert inner.parent_run_id == outer.run_id and outer.parent_run_id is None


def test_a_failing_scope_is_logged_once_and_never_breaks_the_run(
    rec: RecordingCallbacks, caplog: pytest.LogCaptureFixture
) -> None:
    """A scope that raises is skipped with one log line; runs and their events go on."""

    class Broken:
        def enter(self, run: Any) -> None:
            raise RuntimeError("enter")

        def exit(self, run: Any, token: Any) -> None:
            raise RuntimeError("exit")

        def ambient_trace_id(self) -> str | None:
            raise RuntimeError("ambient")

    broken = Broken()
    add_run_scope(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="llmhooks"):
            for _ in range(3):
                with llm_run(model="m", callbacks=rec) as run:
                    run.finish(response="ok")
    finally:
        remove_run_scope(broken)
    assert rec.types() == ["llm.start", "llm.end"] * 3
    assert sum("run scope Broken failed" in r.getMessage() for r in caplog.records) == 1


def test_add_is_idempotent_and_remove_reports(rec: RecordingCallbacks) -> None:
    """Adding a scope twice registers it once; removing an unknown one says False."""
    scope = Journal(rec)
    add_run_scope(scope)
    add_run_scope(scope)
    with llm_run(model="m", callbacks=rec):
        pass
    assert [e[0] for e in scope.log] == ["enter", "exit"]
    assert remove_run_scope(scope) is True
    assert remove_run_scope(scope) is False
