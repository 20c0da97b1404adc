"""The terminal view: the trace table, trees drawn by PrintCallbacks, colour rules, and the command."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from llmhooks import EventRecorder, agent_run, callbacks_context, llm_run, tool_run
from llmhooks.cli import main
from llmhooks.viewer import load, render_traces, render_tree, use_color
from llmhooks.viewer.terminal import format_cost, format_ms

from .conftest import Made

SYMBOLS = str.maketrans("▶✔✘·", ">+x-")


def plain(text: str) -> list[str]:
    """Lines of ``text`` with PrintCallbacks' Unicode symbols as their ASCII stand-ins."""
    return text.translate(SYMBOLS).splitlines()


def tree_lines(made: Made, **kwargs: object) -> list[list[str]]:
    """Each trace of ``made`` drawn by render_tree, without its heading line."""
    out = []
    for trace in load(made.jsonl).traces:
        buf = io.StringIO()
        render_tree(trace, buf, tokens=True, **kwargs)  # type: ignore[arg-type]
        out.append(buf.getvalue().splitlines()[1:])
    return out


@pytest.mark.parametrize("fixture", ["graph_rec", "sdk_rec"])
def test_trees_are_what_print_callbacks_drew_live(fixture: str, request: pytest.FixtureRequest) -> None:
    """One tree printer: a recording drawn later reads exactly as PrintCallbacks printed it live."""
    made: Made = request.getfixturevalue(fixture)
    assert [line for tree in tree_lines(made) for line in tree] == made.live.splitlines()


def test_each_agent_trace_is_a_block_of_the_live_output(agent_rec: Made) -> None:
    """The agent's traces, drawn one by one, are the blocks PrintCallbacks printed for them live."""
    live = agent_rec.live.splitlines()
    mcp, helper, keyed = tree_lines(agent_rec)
    for tree in (helper, keyed):
        start = live.index(tree[0])
        assert live[start : start + len(tree)] == tree
    assert mcp == [live[0], live[-1]]  # the MCP session opened first and closed last


def test_trace_table_has_one_row_per_trace_with_its_rollup(agent_rec: Made) -> None:
    """Columns time, trace, root run, duration, calls, tokens, cost, errors, aligned, one row each."""
    recording = load(agent_rec.jsonl)
    buf = io.StringIO()
    render_traces(recording.traces, buf, width=200)  # room for the whole date and names
    header, *rows = buf.getvalue().splitlines()
    assert header.split() == [
        "#",
        "time",
        "trace",
        "root",
        "run",
        "duration",
        "calls",
        "tokens",
        "cost",
        "errors",
    ]
    assert len(rows) == len(recording.traces)
    for row, trace in zip(rows, recording.traces, strict=True):
        roll = trace.rollup
        cells = row.split()
        assert cells[3] == trace.trace_id[:8] and trace.name in row
        assert cells[-5:] == [
            format_ms(roll.duration_ms),
            str(roll.calls),
            f"{roll.tokens:,}",
            format_cost(roll.cost),
            str(roll.errors),
        ]
    assert "\x1b[" not in buf.getvalue()


def test_filtered_tree_heading_gives_the_rollup_of_what_is_shown(agent_rec: Made) -> None:
    """The heading names the trace or focused run, its roll-up, and how many runs are drawn."""
    trace = load(agent_rec.jsonl).traces[1]
    buf = io.StringIO()
    render_tree(trace, buf, focus=trace.root.children[4])
    heading, *lines = buf.getvalue().splitlines()
    assert "tool explode: " in heading and "0 calls, 0 tokens, -, 1 error" in heading
    assert lines == [
        "> tool explode",
        "x tool explode RuntimeError: exploded: boom " + lines[1].rsplit(" ", 1)[1],
    ]


def test_colour_follows_no_color_force_color_and_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR wins, FORCE_COLOR forces, TERM=dumb and pipes are plain."""
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert use_color(Tty()) is True and use_color(io.StringIO()) is False
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_color(io.StringIO()) is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(Tty()) is False
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert use_color(Tty()) is False


def test_colour_uses_rich_for_the_table_and_the_tree(agent_rec: Made) -> None:
    """With colour on, the table is rich's and the tree PrintCallbacks' coloured one."""
    pytest.importorskip("rich")
    recording = load(agent_rec.jsonl)
    table, tree = io.StringIO(), io.StringIO()
    render_traces(recording.traces, table, color=True)
    render_tree(recording.traces[1], tree, color=True)
    assert "\x1b[" in table.getvalue() and "agent helper" in table.getvalue()
    assert "\x1b[" in tree.getvalue() and "tool explode" in tree.getvalue()


# -- the command ------------------------------------------------------------------------------


def view(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["view", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_command_lists_traces(
    agent_rec: Made, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``llmhooks view FILE``: a count line, then the table; nothing on stderr when it is no terminal."""
    monkeypatch.setenv("COLUMNS", "200")  # room for the whole date and names
    code, out, err = view(capsys, str(agent_rec.db))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"{agent_rec.db}: {len(agent_rec.raw)} events, 3 traces"
    assert [line.split()[4:6] for line in lines[2:]] == [
        ["mcp", "demo-tools"],
        ["agent", "helper"],
        ["agent", "keyed"],
    ]


def test_command_trace_prefix_draws_the_tree(agent_rec: Made, capsys: pytest.CaptureFixture[str]) -> None:
    """``--trace PREFIX`` draws that trace; ``--run`` a subtree; ``--tree`` every listed trace."""
    trace = load(agent_rec.jsonl).traces[2]
    code, out, _ = view(capsys, str(agent_rec.jsonl), "--trace", trace.trace_id[:6])
    assert code == 0
    lines = plain(out)
    assert lines[2].startswith(f"trace {trace.trace_id}") and "agent keyed" in lines[2]
    assert lines[3] == "> agent keyed" and lines[-1].startswith("+ agent keyed ")
    assert (
        len(lines) == 3 + 2 * len(trace.runs) + 2
    )  # count, blank, heading; start and end of each run; 2 steps
    tool = next(r for r in trace.runs if r.kind == "tool")
    code, out, _ = view(capsys, str(agent_rec.jsonl), "--run", tool.run_id[:8])
    assert [line.split()[:3] for line in plain(out)[3:]] == [
        [">", "tool", "lookup_key"],
        ["+", "tool", "lookup_key"],
    ]
    code, out, _ = view(capsys, str(agent_rec.jsonl), "--tree")
    assert out.count("\ntrace ") == 3


def test_command_filters_list_and_draw(agent_rec: Made, capsys: pytest.CaptureFixture[str]) -> None:
    """Filters narrow the table; with ``--tree`` they draw the matching runs with their ancestors."""
    code, out, _ = view(capsys, str(agent_rec.jsonl), "--type", "tool", "--errors", "--tree")
    assert code == 0
    assert "3 traces (1 match)" in out.splitlines()[0]
    drawn = [line.strip() for line in plain(out) if line.strip()[:1] in (">", "+", "x")]
    assert drawn[0] == "> agent helper" and drawn[-1].startswith("+ agent helper")
    assert {line.split()[2] for line in drawn[1:-1]} == {"demo-tools.lookup_capital", "explode"}
    code, out, _ = view(capsys, str(agent_rec.jsonl), "--model", "nope-*")
    assert code == 0 and out.splitlines()[1] == "no trace matches these filters"


def test_command_writes_html_and_perfetto(
    agent_rec: Made, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--html`` and ``--perfetto`` write their files and say so; filters choose the traces."""
    html, trace = tmp_path / "r.html", tmp_path / "t.json"
    code, out, _ = view(
        capsys, str(agent_rec.jsonl), "--html", str(html), "--perfetto", str(trace), "--errors"
    )
    assert code == 0
    assert f"wrote {html}: 1 trace, 7 runs" in out and f"wrote {trace}: 1 trace, 7 runs" in out
    assert html.read_text().startswith("<!doctype html>")
    events = json.loads(trace.read_text())["traceEvents"]
    assert len([e for e in events if e["ph"] == "X"]) == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl"], "no such file: missing.jsonl"),
        (["x.jsonl", "--type", "tools"], "types must be one of"),
        (["x.jsonl", "--follow", "--html", "r.html"], "--follow prints to the terminal"),
        (["x.jsonl", "--interval", "0"], "--interval must be > 0"),
    ],
)
def test_command_errors_are_one_clear_line(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bad input: exit code 1 and one line on stderr saying what is wrong, no traceback."""
    monkeypatch.chdir(tmp_path)
    code, _, err = view(capsys, *args)
    assert code == 1 and err.startswith("llmhooks view: ") and message in err and "Traceback" not in err


def test_command_on_a_database_that_is_no_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``.db`` file that is not SQLite: one line saying so, exit code 1."""
    path = tmp_path / "other.db"
    path.write_bytes(b"not a database at all" * 100)
    code, _, err = view(capsys, str(path))
    assert code == 1 and err.startswith(f"llmhooks view: {path} is not a recording llmhooks can read")


def test_command_on_a_file_that_is_no_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Lines that are not events are skipped and counted, as replay does."""
    path = tmp_path / "notes.jsonl"
    path.write_text("hello\n[1, 2]\n")
    code, out, _ = view(capsys, str(path))
    assert code == 0
    assert out.splitlines() == [
        f"{path}: 0 events, 0 traces, 2 unreadable record(s) skipped",
        "the recording holds no runs",
    ]


def test_price_fills_costs_the_recording_lacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--price``: calls recorded without a CostTracker are priced from genai-prices; recorded costs stay."""
    pytest.importorskip("genai_prices")
    path = tmp_path / "unpriced.jsonl"
    with EventRecorder(path) as recorder, callbacks_context([recorder]):
        with llm_run(provider="openai", model="gpt-4o", messages=[]) as run:
            run.finish(input_tokens=1000, output_tokens=100)
        with llm_run(provider="openai", model="gpt-4o", messages=[]) as run:
            run.finish(input_tokens=1000, output_tokens=100, cost=1.5)
    _, plain, _ = view(capsys, str(path))
    _, priced, _ = view(capsys, str(path), "--price")
    assert [line.split()[-2] for line in plain.splitlines()[2:]] == ["-", "$1.500000"]
    assert [line.split()[-2] for line in priced.splitlines()[2:]] == ["$0.003500", "$1.500000"]


def test_follow_prints_events_as_they_are_recorded(tmp_path: Path) -> None:
    """``--follow``: a recording still being written is printed line by line as events arrive."""
    path = tmp_path / "live.jsonl"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    cmd = [
        sys.executable,
        "-m",
        "llmhooks",
        "view",
        str(path),
        "--follow",
        "--interval",
        "0.05",
        "--type",
        "agent,tool",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()], daemon=True).start()

    def wait_for(text: str) -> list[str]:
        seen, deadline = [], time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.5).rstrip("\n").translate(SYMBOLS))
            except queue.Empty:
                continue
            if text in seen[-1]:
                return seen
        raise AssertionError(
            f"{text!r} not printed; got {seen}, stderr {proc.stderr.read() if proc.stderr else ''}"
        )

    try:
        with EventRecorder(path) as recorder, callbacks_context([recorder]):
            with agent_run(goal="watch me", agent_name="watched"):
                assert wait_for("agent watched") == ["> agent watched"]
                with llm_run(provider="openai", model="gpt-4o", messages=[]) as run:
                    run.finish(input_tokens=1, output_tokens=1)
                with tool_run("search", arguments={"q": "x"}) as tool:
                    tool.finish(result="found")
                seen = wait_for("+ tool search")
                assert seen[0] == "  > tool search" and seen[-1].startswith("  + tool search ")
                assert not any("llm" in line for line in seen)  # --type agent,tool
            assert wait_for("+ agent watched")[-1].startswith("+ agent watched ")
    finally:
        proc.terminate()
        proc.wait(10)


# -- the table's width -------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG_TOOL = "fetch_the_quarterly_revenue_report_for_every_region_and_business_unit_" * 2
LONG_MODEL = "vendor-research-preview-ultra-long-context-model-2026-12-01-experimental"


@pytest.fixture(scope="module")
def long_names(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Traces whose root runs have long tool and model names, one with a large token count."""
    path = tmp_path_factory.mktemp("long") / "long.jsonl"
    with EventRecorder(path) as recorder, callbacks_context([recorder]):
        with tool_run(LONG_TOOL, arguments={}) as tool:
            tool.finish(result="ok")
        with llm_run(provider="a-provider-with-a-long-name", model=LONG_MODEL, messages=[]) as run:
            run.finish(input_tokens=123_456, output_tokens=1_234, cost=0.25)
        with tool_run("add", arguments={"a": 1, "b": 2}) as tool:
            tool.finish(result=3)
    return path


@pytest.mark.parametrize("color", [False, True])
def test_trace_table_fits_80_columns_with_long_names(long_names: Path, color: bool) -> None:
    """No line of the table is wider than 80 columns; long root-run names end in an ellipsis."""
    if color:
        pytest.importorskip("rich")
    recording = load(long_names)
    buf = io.StringIO()
    render_traces(recording.traces, buf, color=color, width=80)
    lines = [ANSI.sub("", line) for line in buf.getvalue().splitlines()]
    assert len(lines) == 1 + len(recording.traces)
    assert max(len(line) for line in lines) <= 80, lines
    tool_row, llm_row, short_row = lines[1:]
    assert "tool fetch_" in tool_row and "…" in tool_row and LONG_TOOL not in tool_row
    assert "llm a-prov" in llm_row and "…" in llm_row
    assert llm_row.split()[-4:] == ["1", "124,690", "$0.250000", "0"]  # the figures are whole
    assert "tool add " in short_row and "…" not in short_row


def test_command_table_fits_80_columns_in_a_pipe(long_names: Path) -> None:
    """``llmhooks view`` in a pipe without COLUMNS: 80 columns, as a terminal of unknown width."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    for extra in ({"NO_COLOR": "1"}, {"FORCE_COLOR": "1"}):
        proc = subprocess.run(
            [sys.executable, "-m", "llmhooks", "view", str(long_names)],
            capture_output=True,
            text=True,
            env={**env, **extra},
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        table = [ANSI.sub("", line) for line in proc.stdout.splitlines()[1:]]
        assert len(table) == 4 and max(len(line) for line in table) <= 80, table
    wide = subprocess.run(
        [sys.executable, "-m", "llmhooks", "view", str(long_names)],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1", "COLUMNS": "300"},
        timeout=60,
    )
    assert LONG_TOOL in wide.stdout  # COLUMNS gives the room: nothing cut


def test_ctrl_c_ends_follow_quietly_with_status_130(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) while following: exit status 130, as shells expect, and no traceback."""
    path = tmp_path / "live.jsonl"
    with (
        EventRecorder(path) as recorder,
        callbacks_context([recorder]),
        tool_run("search", arguments={"q": "x"}) as tool,
    ):
        tool.finish(result="found")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "llmhooks", "view", str(path), "--follow", "--interval", "0.05"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().translate(SYMBOLS).startswith("> tool search")
        assert proc.stdout.readline().translate(SYMBOLS).startswith("+ tool search")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait(10)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and out == ""
