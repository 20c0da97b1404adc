"""PrintCallbacks: an indented tree of runs, tokens inline, durations, tokens and cost."""

from __future__ import annotations

import io
import re

import pytest

from llmhooks import CostTracker, PrintCallbacks, agent_run, callbacks_context, tool_run

from .calls import in_threads, llm_call


def test_runs_are_nested_under_their_parent(capsys: pytest.CaptureFixture[str]) -> None:
    """A tool and an LLM call inside an agent are indented under it."""
    with callbacks_context([PrintCallbacks()]), agent_run(goal="g", agent_name="helper") as agent:
        llm_call(input_tokens=52, output_tokens=18, latency_ms=410.0)
        with tool_run("search") as run:
            run.finish(result="sunny", latency_ms=120.0)
        agent.step(action="answer")
    lines = capsys.readouterr().out.splitlines()
    assert [line[:4] for line in lines] == ["▶ ag", "  ▶ ", "  ✔ ", "  ▶ ", "  ✔ ", "  · ", "✔ ag"]
    assert lines[2] == "  ✔ llm openai/gpt-4o 410ms 52+18 tokens"
    assert lines[4] == "  ✔ tool search 120ms"
    assert lines[5] == "  · step 1: answer"


def test_streamed_tokens_are_written_inline(capsys: pytest.CaptureFixture[str]) -> None:
    """Tokens of a stream appear on one line, indented under the call, as they arrive."""
    llm_call(PrintCallbacks(), tokens=["It ", "is ", "sunny."], latency_ms=1500.0)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "▶ llm openai/gpt-4o stream",
        "  It is sunny.",
        "✔ llm openai/gpt-4o 1.50s 100+20 tokens",
    ]


def test_cost_shown_when_a_cost_tracker_runs_first(capsys: pytest.CaptureFixture[str]) -> None:
    """With CostTracker registered first, the end line shows the cost."""
    pytest.importorskip("genai_prices")
    llm_call([CostTracker(), PrintCallbacks()], input_tokens=1_000, output_tokens=100)
    assert capsys.readouterr().out.splitlines()[-1].endswith("1000+100 tokens $0.003500")


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


def test_plain_text_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """Captured output (not a terminal) has no colour codes."""
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
