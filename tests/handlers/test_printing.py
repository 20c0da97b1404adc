"""PrintCallbacks: an indented tree of runs, tokens inline, durations, tokens and cost."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from llmhooks import (
    CallbackManager,
    CostTracker,
    PrintCallbacks,
    agent_run,
    callbacks_context,
    flush,
    instrument_llm,
    tool_run,
)

from .calls import in_threads, llm_call

ESC = "\033["


class Utf8Output(io.StringIO):
    """Captured output that says it is UTF-8, as a terminal or a redirected stdout does."""

    encoding = "utf-8"  # type: ignore[assignment]


MCP_SERVERS = Path(__file__).parents[1] / "integrations" / "mcp_servers"


def test_runs_are_nested_under_their_parent(capsys: pytest.CaptureFixture[str]) -> None:
    """A tool and an LLM call inside an agent are indented under it."""
    with callbacks_context([PrintCallbacks()]), agent_run(goal="g", agent_name="helper") as agent:
        llm_call(input_tokens=52, output_tokens=18, latency_ms=410.0)
        with tool_run("search") as run:
            run.finish(result="sunny", latency_ms=120.0)
        agent.step(action="answer")
    lines = capsys.readouterr().out.splitlines()
    assert [line[:4] for line in lines] == ["▶ ag", "  ▶ ", "  ✔ ", "  ▶ ", "  ✔ ", "  · ", "✔ ag"]
    assert lines[2] == "  ✔ llm openai/gpt-4o 410ms 52 in / 18 out tokens"
    assert lines[4] == "  ✔ tool search 120ms"
    assert lines[5] == "  · step 1: answer"


def test_streamed_tokens_are_written_inline(capsys: pytest.CaptureFixture[str]) -> None:
    """Tokens of a stream appear on one line, indented under the call, as they arrive."""
    llm_call(PrintCallbacks(), tokens=["It ", "is ", "sunny."], latency_ms=1500.0)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "▶ llm openai/gpt-4o stream",
        "  It is sunny.",
        "✔ llm openai/gpt-4o 1.50s 100 in / 20 out tokens",
    ]


def test_cost_shown_when_a_cost_tracker_runs_first(capsys: pytest.CaptureFixture[str]) -> None:
    """With CostTracker registered first, the end line shows the cost."""
    pytest.importorskip("genai_prices")
    llm_call([CostTracker(), PrintCallbacks()], input_tokens=1_000, output_tokens=100)
    assert capsys.readouterr().out.splitlines()[-1].endswith("1000 in / 100 out tokens $0.003500")


def test_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A failed call prints its error type and message."""

    def fail() -> None:
        raise ConnectionError("reset by peer")

    with pytest.raises(ConnectionError):
        llm_call(PrintCallbacks(), body=fail)
    assert "✘ llm openai/gpt-4o ConnectionError: reset by peer" in capsys.readouterr().out


def test_verbose_shows_prompt_arguments_and_results(capsys: pytest.CaptureFixture[str]) -> None:
    """verbose=True adds the prompt, tool arguments and tool results."""
    with callbacks_context([PrintCallbacks(verbose=True)]):
        llm_call()
        with tool_run("search", arguments={"q": "paris"}) as run:
            run.finish(result="sunny")
    out = capsys.readouterr().out
    assert "▶ llm openai/gpt-4o What is 2 + 2?" in out
    assert "▶ tool search {'q': 'paris'}" in out
    assert "-> sunny" in out and "-> 4" in out


class _HangingRepr:
    """A tool result whose ``__repr__``/``__str__`` never returns until released."""

    release = __import__("threading").Event()

    def __repr__(self) -> str:
        self.release.wait()
        return "released"

    __str__ = __repr__


@pytest.mark.timeout(30)
def test_verbose_never_calls_a_values_own_repr(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10: an argument or result whose ``__repr__`` never returns cannot hang the caller."""
    try:
        with (
            callbacks_context([PrintCallbacks(verbose=True)]),
            tool_run("fetch", arguments={"client": _HangingRepr()}) as run,
        ):
            run.finish(result=_HangingRepr())
    finally:
        _HangingRepr.release.set()
    out = capsys.readouterr().out
    assert "▶ tool fetch {'client': " in out and "_HangingRepr" in out
    assert "-> " in out and "released" not in out


def test_plain_text_when_not_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Captured output (not a terminal) has no colour codes."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    llm_call(PrintCallbacks(), tokens=["a"])
    assert "\033[" not in capsys.readouterr().out


def test_colour_when_forced() -> None:
    """color=True writes styled output (rich if installed, else ANSI codes)."""
    out = io.StringIO()
    llm_call(PrintCallbacks(file=out, color=True))
    assert "\033[" in out.getvalue()
    assert "llm openai/gpt-4o" in re.sub(r"\033\[[0-9;]*m", "", out.getvalue())


def test_ascii_symbols_for_non_utf8_output() -> None:
    """A stream that cannot encode the symbols gets ASCII markers."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    llm_call(PrintCallbacks(file=out))
    out.flush()
    assert raw.getvalue().decode().splitlines()[0] == "> llm openai/gpt-4o"


def test_interleaved_streams_are_tagged(capsys: pytest.CaptureFixture[str]) -> None:
    """Two streams at once: switching between them starts a line tagged with the run id."""
    from llmhooks import llm_run

    printer = PrintCallbacks()
    with llm_run(provider="p", model="a", streaming=True, callbacks=printer) as a:
        with llm_run(provider="p", model="b", streaming=True, callbacks=printer) as b:
            a.token("A1")
            b.token("B1")
            a.token("A2")
            b.finish()
        a.finish()
    out = capsys.readouterr().out
    assert f"[{b.run_id[:6]}] B1" in out and f"[{a.run_id[:6]}] A2" in out


def test_50_concurrent_nested_calls_in_threads(capsys: pytest.CaptureFixture[str]) -> None:
    """50 agents at once, each with a call inside: every call line is indented under an agent."""
    printer = PrintCallbacks()

    def one(i: int) -> None:
        with agent_run(goal=i, agent_name=f"a{i}", callbacks=[printer]), callbacks_context([printer]):
            llm_call(model=f"m{i}")

    in_threads(50, one)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 200
    assert all(line.startswith("  ") for line in lines if " llm " in line)
    assert all(not line.startswith(" ") for line in lines if " agent " in line)


async def test_50_concurrent_nested_calls_in_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    """50 agents as tasks, each with a streamed call inside: calls are indented under agents."""
    import asyncio

    from .calls import allm_call

    printer = PrintCallbacks()

    async def one(i: int) -> None:
        with callbacks_context([printer]):
            async with agent_run(goal=i, agent_name=f"a{i}"):
                await allm_call(model=f"m{i}", tokens=["x", "y"], body=lambda: asyncio.sleep(0.001))

    await asyncio.gather(*(one(i) for i in range(50)))
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("  ✔ llm ") for line in lines) == 50
    assert sum(line.startswith("✔ agent ") for line in lines) == 50
    assert all(not line.startswith(" ") for line in lines if " agent " in line)


def test_text_the_console_cannot_encode_is_replaced() -> None:
    """Model text an ASCII console cannot show is replaced, not lost with the line."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    llm_call(PrintCallbacks(file=out), tokens=["café ", "☕"])
    out.flush()
    assert raw.getvalue().decode().splitlines()[1] == "  caf? ?"


def test_token_counts_say_which_is_which(capsys: pytest.CaptureFixture[str]) -> None:
    """The end line names input and output tokens, and the cached part of the input."""
    llm_call(PrintCallbacks(), input_tokens=1200, output_tokens=30, cached=1000, latency_ms=800.0)
    assert capsys.readouterr().out.splitlines()[-1] == (
        "✔ llm openai/gpt-4o 800ms 1200 in (1000 cached) / 30 out tokens"
    )


def test_estimated_token_counts_are_marked(capsys: pytest.CaptureFixture[str]) -> None:
    """Counts the producer estimated (no usage from the provider) say so."""
    llm_call(PrintCallbacks(), input_tokens=15, output_tokens=14, usage_estimated=True)
    llm_call(PrintCallbacks(), input_tokens=15, output_tokens=14)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith(" 15 in / 14 out tokens (estimated)")
    assert lines[3].endswith(" 15 in / 14 out tokens")


def test_a_tool_that_reports_failure_is_marked_failed(capsys: pytest.CaptureFixture[str]) -> None:
    """A tool run that ends with success=False gets the failure mark, not a tick."""
    with tool_run("search", callbacks=PrintCallbacks()) as run:
        run.finish(result="no results", success=False, latency_ms=5.0)
    assert capsys.readouterr().out.splitlines()[-1] == "✘ tool search 5ms (failed)"


def test_bare_instrument_llm_is_named_after_the_function(capsys: pytest.CaptureFixture[str]) -> None:
    """@instrument_llm with no provider or model: the lines name the decorated function."""

    @instrument_llm
    def summarise(prompt: str) -> str:
        return "short"

    @instrument_llm(provider="acme")
    def ask(prompt: str) -> str:
        return "hi"

    with callbacks_context([PrintCallbacks()]):
        summarise("a long text")
        ask("hello")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[:3] for line in lines] == [
        ["▶", "llm", "summarise"],
        ["✔", "llm", "summarise"],
        ["▶", "llm", "acme"],
        ["✔", "llm", "acme"],
    ]


# MCP sessions, with real server processes


async def test_mcp_server_that_cannot_start_is_shown_as_a_failure() -> None:
    """A server that never connected: a red cross and 'failed to connect', not a green tick."""
    pytest.importorskip("mcp")
    from llmhooks import MCPClient, MCPConnectionError

    out = Utf8Output()
    client = MCPClient(
        [{"name": "ghost", "command": "/no/such/mcp-server"}], callbacks=PrintCallbacks(file=out, color=True)
    )
    with pytest.raises(MCPConnectionError):
        await client.connect()
    [line] = re.sub(r"\033\[[0-9;]*m", "", out.getvalue()).splitlines()
    assert line.startswith("✘ mcp ghost failed to connect: could not start the server process: ")
    assert f"{ESC}31m✘ " in out.getvalue()  # red


async def test_mcp_server_that_goes_away_is_shown_as_a_failure() -> None:
    """A session lost mid-way is a failure; one the client closed is a tick."""
    pytest.importorskip("mcp.server.mcpserver")
    from llmhooks import MCPClient, MCPConnectionError

    def config(name: str) -> dict[str, object]:
        script = str(MCP_SERVERS / "tools_server.py")
        return {"name": name, "command": sys.executable, "args": [script, "stdio", "-", name]}

    out = Utf8Output()
    async with MCPClient([config("doomed"), config("steady")], callbacks=PrintCallbacks(file=out)) as client:
        with pytest.raises(MCPConnectionError):
            await client.call_tool("crash", server="doomed")
    lines = out.getvalue().splitlines()
    assert "✘ mcp doomed disconnected: the server closed the connection" in "\n".join(lines)
    assert "✔ mcp steady disconnected: closed by client" in lines


# colour: NO_COLOR, FORCE_COLOR, TERM, terminals


class Terminal:
    """A real terminal (a pseudo-terminal): ``stream`` to print to, ``read()`` what it showed."""

    def __init__(self) -> None:
        self._main, secondary = os.openpty()
        self.stream = os.fdopen(secondary, "w", encoding="utf-8")

    def read(self) -> str:
        """Everything printed: the writing side is closed first, then read to its end."""
        self.stream.close()
        shown = b""
        with contextlib.suppress(OSError):  # Linux: EIO once the closed side's output is read
            while chunk := os.read(self._main, 65536):
                shown += chunk
        return shown.decode()

    def close(self) -> None:
        self.stream.close()
        os.close(self._main)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    try:
        yield term
    finally:
        term.close()


@pytest.fixture
def clean_color_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


GREEN = f"{ESC}32m"  # the tick's colour (bold alone is not colour: rich keeps it under NO_COLOR)


def _colored(terminal: Terminal) -> bool:
    llm_call(PrintCallbacks(file=terminal.stream))
    shown = terminal.read()
    assert "llm openai/gpt-4o" in shown
    return GREEN in shown


def test_colour_on_for_a_terminal(terminal: Terminal, clean_color_env: pytest.MonkeyPatch) -> None:
    """A terminal gets colour by default."""
    assert _colored(terminal)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NO_COLOR": "1"}, False),
        ({"NO_COLOR": ""}, True),  # set but empty: ignored (no-color.org)
        ({"TERM": "dumb"}, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # NO_COLOR wins, as in CPython
    ],
)
def test_environment_decides_colour_on_a_terminal(
    terminal: Terminal, clean_color_env: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    """NO_COLOR (non-empty) and TERM=dumb turn colour off on a terminal."""
    for name, value in env.items():
        clean_color_env.setenv(name, value)
    assert _colored(terminal) is expected


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", True), ("true", True), ("", False)])
def test_force_color_colours_a_pipe_or_file(
    clean_color_env: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    """FORCE_COLOR set to any non-empty value colours output that is not a terminal (force-color.org)."""
    clean_color_env.setenv("FORCE_COLOR", value)
    out = io.StringIO()
    llm_call(PrintCallbacks(file=out))
    assert (GREEN in out.getvalue()) is expected


def test_explicit_color_argument_wins_over_the_environment(
    terminal: Terminal, clean_color_env: pytest.MonkeyPatch
) -> None:
    """color=False beats FORCE_COLOR and a terminal; color=True beats NO_COLOR (inside rich too)."""
    clean_color_env.setenv("FORCE_COLOR", "1")
    llm_call(PrintCallbacks(file=terminal.stream, color=False))
    assert ESC not in terminal.read()
    clean_color_env.delenv("FORCE_COLOR")
    clean_color_env.setenv("NO_COLOR", "1")
    out = io.StringIO()
    llm_call(PrintCallbacks(file=out, color=True))
    assert GREEN in out.getvalue()


# a reader that goes away (python app.py | head)


@pytest.fixture
def closed_pipe() -> Iterator[TextIO]:
    """The write end of a pipe whose reader has gone: every write raises BrokenPipeError."""
    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w", encoding="utf-8")
    try:
        yield stream
    finally:
        with contextlib.suppress(BrokenPipeError):
            stream.close()


@pytest.mark.parametrize("color", [False, True], ids=["plain", "rich"])
def test_a_closed_pipe_stops_printing_quietly(
    closed_pipe: TextIO, caplog: pytest.LogCaptureFixture, color: bool
) -> None:
    """Writes to a pipe nobody reads end printing: no handler failure, no log, the program goes on.

    With colour, rich is used; its own reaction (exit the program) must not happen.
    """
    manager = CallbackManager([PrintCallbacks(file=closed_pipe, color=color)])
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        for _ in range(3):
            llm_call(manager, tokens=["a", "b"])
    assert manager.stats()["PrintCallbacks"]["failures"] == 0
    assert caplog.records == []


def test_a_closed_pipe_is_quiet_from_threads_and_background_delivery(
    closed_pipe: TextIO, caplog: pytest.LogCaptureFixture
) -> None:
    """The same from many threads and from the background worker."""

    class BackgroundPrinter(PrintCallbacks):
        background = True

    inline, queued = PrintCallbacks(file=closed_pipe), BackgroundPrinter(file=closed_pipe)
    manager = CallbackManager([inline, queued])
    with caplog.at_level(logging.WARNING, logger="llmhooks"):
        in_threads(20, lambda i: llm_call(manager, tokens=[str(i)]))
        assert flush(timeout=10.0)
    stats = manager.stats()
    assert stats["PrintCallbacks"]["failures"] == 0 and stats["BackgroundPrinter"]["failures"] == 0
    assert stats["BackgroundPrinter"]["calls"] > 0
    assert caplog.records == []
