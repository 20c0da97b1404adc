"""LoggingCallbacks: one log line per event with run id, structured fields in record.llmhooks."""

from __future__ import annotations

import logging

import pytest

from llmhooks import CostTracker, LoggingCallbacks, callbacks_context, tool_run

from .calls import in_threads, llm_call


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "llmhooks.events"]


def test_one_line_per_event_with_run_id(caplog: pytest.LogCaptureFixture) -> None:
    """Start, tokens (at DEBUG) and end each give one line naming the run."""
    caplog.set_level(logging.DEBUG, logger="llmhooks.events")
    run_id = llm_call(
        LoggingCallbacks(), tokens=["a", "b"], input_tokens=12, output_tokens=40, latency_ms=230.0
    )
    lines = records(caplog)
    assert [r.getMessage().split(" ")[0] for r in lines] == ["llm.start", "llm.token", "llm.token", "llm.end"]
    assert all(f"run={run_id}" in r.getMessage() for r in lines)
    assert lines[-1].getMessage() == f"llm.end run={run_id} openai/gpt-4o 12+40 tokens 230ms"
    assert [r.levelno for r in lines] == [logging.INFO, logging.DEBUG, logging.DEBUG, logging.INFO]


def test_structured_fields_without_payloads(caplog: pytest.LogCaptureFixture) -> None:
    """record.llmhooks has the event's scalar fields for pipelines, not the messages or response."""
    caplog.set_level(logging.INFO, logger="llmhooks.events")
    pytest.importorskip("genai_prices")
    llm_call([CostTracker(), LoggingCallbacks()], input_tokens=1_000, output_tokens=100)
    end = records(caplog)[-1]
    fields = end.llmhooks  # type: ignore[attr-defined]
    assert fields["type"] == "llm.end"
    assert fields["provider"] == "openai" and fields["model"] == "gpt-4o"
    assert fields["input_tokens"] == 1_000 and fields["total_tokens"] == 1_100
    assert fields["cost"] == pytest.approx(0.0035)
    assert {"run_id", "trace_id", "latency_ms"} <= set(fields)
    assert "response" not in fields and "messages" not in fields
    assert "$0.003500" in end.getMessage()


def test_include_payloads_gives_the_whole_event(caplog: pytest.LogCaptureFixture) -> None:
    """include_payloads=True puts event.to_dict() in record.llmhooks."""
    caplog.set_level(logging.INFO, logger="llmhooks.events")
    llm_call(LoggingCallbacks(include_payloads=True))
    start = records(caplog)[0]
    assert start.llmhooks["messages"] == [{"role": "user", "content": "What is 2 + 2?"}]  # type: ignore[attr-defined]


def test_errors_are_logged_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    """An error event is a WARNING line with its type and message."""
    caplog.set_level(logging.INFO, logger="llmhooks.events")

    def fail() -> None:
        raise TimeoutError("model too slow")

    with pytest.raises(TimeoutError):
        llm_call(LoggingCallbacks(), body=fail)
    error = records(caplog)[-1]
    assert error.levelno == logging.WARNING
    assert "llm.error" in error.getMessage() and "TimeoutError: model too slow" in error.getMessage()
    assert error.llmhooks["error"] == "model too slow"  # type: ignore[attr-defined]


def test_every_family_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Tool runs are logged too, with the tool's name and server."""
    caplog.set_level(logging.INFO, logger="llmhooks.events")
    with callbacks_context([LoggingCallbacks()]), tool_run("read", server_name="fs") as run:
        run.finish(result="x", latency_ms=7.0)
    assert [r.getMessage().split(" ", 2)[2] for r in records(caplog)] == ["fs.read", "fs.read 7ms"]


def test_custom_logger_and_levels(caplog: pytest.LogCaptureFixture) -> None:
    """logger= takes a name or a Logger; level= sets the level of ordinary events."""
    caplog.set_level(logging.DEBUG)
    llm_call(LoggingCallbacks(level=logging.DEBUG, logger="myapp.llm"))
    llm_call(LoggingCallbacks(logger=logging.getLogger("other")))
    assert {r.name for r in caplog.records} == {"myapp.llm", "other"}
    assert {r.levelno for r in caplog.records if r.name == "myapp.llm"} == {logging.DEBUG}


def test_disabled_level_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """With the logger above the level, nothing is emitted."""
    caplog.set_level(logging.ERROR, logger="llmhooks.events")
    llm_call(LoggingCallbacks())
    assert records(caplog) == []


def test_50_concurrent_calls_in_threads(caplog: pytest.LogCaptureFixture) -> None:
    """50 overlapping calls: two lines each, each line naming its own run."""
    caplog.set_level(logging.INFO, logger="llmhooks.events")
    handler = LoggingCallbacks()
    run_ids = in_threads(50, lambda i: llm_call(handler))
    lines = records(caplog)
    assert len(lines) == 100
    for run_id in run_ids:
        assert sum(r.llmhooks["run_id"] == run_id for r in lines) == 2  # type: ignore[attr-defined]


async def test_50_concurrent_calls_in_tasks(caplog: pytest.LogCaptureFixture) -> None:
    """50 overlapping calls as tasks: two lines each, each line naming its own run."""
    import asyncio

    from .calls import allm_call, in_tasks

    caplog.set_level(logging.INFO, logger="llmhooks.events")
    handler = LoggingCallbacks()
    run_ids = await in_tasks(50, lambda i: allm_call(handler, body=lambda: asyncio.sleep(0.001)))
    lines = records(caplog)
    assert len(lines) == 100
    assert {r.llmhooks["run_id"] for r in lines} == set(run_ids)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("given", "level"), [("INFO", logging.INFO), ("debug", logging.DEBUG), ("WARN", 30)])
def test_level_names_are_accepted_as_logging_takes_them(
    caplog: pytest.LogCaptureFixture, given: str, level: int
) -> None:
    """``level="INFO"`` works like ``logging.INFO``: every event is logged at that level."""
    caplog.set_level(logging.DEBUG, logger="llmhooks.events")
    handler = LoggingCallbacks(level=given, error_level="ERROR", token_level="info")
    assert (handler.level, handler.error_level, handler.token_level) == (level, logging.ERROR, logging.INFO)
    llm_call(handler, tokens=["a"])
    got = [(r.getMessage().split(" ", 1)[0], r.levelno) for r in records(caplog)]
    assert got == [("llm.start", level), ("llm.token", logging.INFO), ("llm.end", level)]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"level": "LOUD"}, ValueError, "level must be a logging level or one of .*INFO.*; got 'LOUD'"),
        ({"error_level": -1}, ValueError, "error_level must be a logging level >= 0, got -1"),
        ({"token_level": 1.5}, TypeError, "token_level must be a logging level"),
        ({"logger": 42}, TypeError, "logger must be a logging.Logger or a logger name, got 42"),
        ({"include_payloads": "yes"}, TypeError, "include_payloads must be True or False"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs: dict[str, object], error: type, message: str) -> None:
    """A level or logger that cannot work is refused when the handler is built, not on each event."""
    with pytest.raises(error, match=message):
        LoggingCallbacks(**kwargs)  # type: ignore[arg-type]


class _Hangs(Exception):
    """An action, and an error, whose ``__str__``/``__repr__`` never returns until released."""

    release = __import__("threading").Event()

    def __str__(self) -> str:
        self.release.wait()
        return "released"

    __repr__ = __str__


class _HangingAction:
    """An agent step's action whose ``__str__``/``__repr__`` never returns until released."""

    def __str__(self) -> str:
        _Hangs.release.wait()
        return "released"

    __repr__ = __str__


@pytest.mark.timeout(30)
def test_values_whose_str_never_returns_cannot_hang_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 10: an agent step's action or an error's ``__str__`` that hangs is never waited on."""
    from llmhooks import agent_run

    try:
        with caplog.at_level(logging.DEBUG, logger="llmhooks.events"):
            with agent_run(goal="g", callbacks=[LoggingCallbacks(level="DEBUG")]) as run:
                run.step(action=_HangingAction())
                run.finish(result="done")
            with pytest.raises(_Hangs), tool_run("t", callbacks=[LoggingCallbacks(level="DEBUG")]):
                raise _Hangs()
    finally:
        _Hangs.release.set()
    lines = [r.getMessage() for r in records(caplog)]
    assert any("step 1" in line for line in lines) and not any("released" in line for line in lines)
    assert any(r.levelno == logging.WARNING for r in records(caplog))  # the tool error was logged
