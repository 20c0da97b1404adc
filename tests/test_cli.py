"""The llmhooks command, run as users run it: the installed script, in a subprocess.

One demo run (module fixture) backs the tests of what it prints and records; the others
run it under the conditions they test (a closed pipe, colour variables, Ctrl-C).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import signal
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import llmhooks
from llmhooks import read_events
from llmhooks.events import Event, MCPDisconnectEvent
from llmhooks.handlers.printing import run_label
from llmhooks.handlers.record import ReplayResult

ROOT = Path(__file__).resolve().parents[1]
LLMHOOKS = Path(sys.executable).parent / "llmhooks"
ANSWER = "answer: Results: lookup_capital: Paris; add: 42; word_count: 4."
TERMINAL = ("end", "error", "disconnect")

pytest.importorskip("mcp.server.mcpserver", reason="the demo's MCP server needs the mcp SDK 2.x")


def _env(**extra: str) -> dict[str, str]:
    """This environment without keys or colour settings, plus ``extra`` (an empty value unsets)."""
    drop = ("NO_COLOR", "FORCE_COLOR")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k not in drop}
    env.update(extra)
    return {k: v for k, v in env.items() if v}


def _run(
    *args: str, cwd: Path, stdout: Any = subprocess.PIPE, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LLMHOOKS), *args],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        env=_env(**env),
    )


@dataclass
class Demo:
    proc: subprocess.CompletedProcess[str]
    cwd: Path

    @property
    def lines(self) -> list[str]:
        return self.proc.stdout.splitlines()

    def section(self, title: str) -> list[str]:
        """The indented lines under a heading of the summary (``summary``, ``next``)."""
        lines = self.lines
        start = lines.index(title) + 1
        end = next((i for i in range(start, len(lines)) if not lines[i].startswith("  ")), len(lines))
        return lines[start:end]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """``llmhooks demo`` run once in an empty folder that holds an old recording."""
    cwd = tmp_path_factory.mktemp("demo")
    (cwd / "llmhooks-demo.jsonl").write_text('{"type": "llm.start", "run_id": "from-an-earlier-run"}\n')
    return Demo(_run("demo", cwd=cwd), cwd)


def _closed_pipe() -> int:
    """The write end of a pipe whose reader has already gone (``| head`` after it exits)."""
    read, write = os.pipe()
    os.close(read)
    return write


# the tour and its summary


def test_demo_runs_the_full_tour(demo: Demo) -> None:
    """The demo runs an agent with local and MCP tools, streams the answer, prints a summary."""
    assert demo.proc.returncode == 0, demo.proc.stderr
    assert demo.proc.stderr == ""
    out = demo.proc.stdout
    assert "  ▶ mcp demo-tools connected (stdio, 2 tools)" in demo.lines
    assert "  ✔ mcp demo-tools disconnected: closed by client" in demo.lines
    assert ANSWER in demo.lines
    assert "\033[" not in out  # not a terminal, no FORCE_COLOR


def test_tree_and_summary_name_tools_alike_in_a_stable_order(demo: Demo) -> None:
    """Every tool the tree shows is in the summary under the same name; the rows are sorted."""
    in_tree = sorted({m for line in demo.lines if (m := _after(line, "▶ tool "))})
    assert in_tree == ["add", "demo-tools.lookup_capital", "word_count"]
    rows = [line.split()[1] for line in demo.section("summary") if line.startswith("  tool ")]
    assert rows == in_tree


def _after(line: str, marker: str) -> str | None:
    head, found, tail = line.partition(marker)
    return tail if found and not head.strip() else None


def test_summary_percentiles_say_how_many_calls_they_cover(demo: Demo) -> None:
    """Latency percentiles give their count; one value is shown as a value, not as a p95."""
    summary = "\n".join(demo.section("summary"))
    assert re.search(r"LLM calls +2 calls, 0 errors\n", summary)
    assert re.search(r"latency +p50 \d+ ms, p95 \d+ ms over 2 calls\n", summary)
    # the first call answered with tool calls: only the second streamed text
    assert re.search(r"first token +\d+ ms \(1 call that streamed text\)\n", summary)
    assert re.search(r"tokens +47 in, 21 out, 0 cached, 0 reasoning\n", summary)
    assert "estimated" not in summary  # the offline provider's counts are exact
    assert re.search(r"tool add +1 call, 0 errors, \d+ ms\n", summary)


def test_summary_ends_with_where_to_go_next(demo: Demo) -> None:
    """The output ends with the recording, the command to view it, the code and the docs."""
    steps = demo.section("next")
    assert demo.lines[-len(steps) :] == steps  # the last thing printed
    text = dict(m.groups() for line in steps if (m := re.match(r"  (\S.*?) {2,}(.*)", line)))
    recorded = len(list(read_events(demo.cwd / "llmhooks-demo.jsonl")))
    assert text["recorded"] == f"{recorded} events to llmhooks-demo.jsonl"
    assert text["look at them"] == "llmhooks view llmhooks-demo.jsonl"
    code = Path(text["the code"].removesuffix(" (this tour)"))
    assert code.is_file() and code.samefile(ROOT / "src" / "llmhooks" / "cli" / "demo.py")
    docs = Path(text["the docs"].split(" ")[0])
    assert (docs / "handlers.md").is_file() and (docs / "cli.md").is_file()


# the recording


def _tree(events: list[Event]) -> list[tuple[int, str]]:
    """``(depth, label)`` of every run, depth-first in the order the runs began."""
    first: dict[str, Event] = {}
    for e in events:
        first.setdefault(e.run_id, e)
    children: dict[str | None, list[str]] = {}
    for run_id, e in first.items():
        children.setdefault(e.parent_run_id, []).append(run_id)
    out: list[tuple[int, str]] = []

    def walk(parent: str | None, depth: int) -> None:
        for run_id in children.get(parent, []):
            out.append((depth, run_label(first[run_id])))
            walk(run_id, depth + 1)

    walk(None, 0)
    return out


def test_demo_records_its_whole_run_tree(demo: Demo) -> None:
    """./llmhooks-demo.jsonl (fresh each run) reads back as one trace: the tree the demo printed."""
    result = ReplayResult()
    events = list(read_events(demo.cwd / "llmhooks-demo.jsonl", result=result))
    assert result.skipped == 0
    assert "from-an-earlier-run" not in {e.run_id for e in events}
    assert len({e.trace_id for e in events}) == 1
    assert _tree(events) == [
        (0, "chain llmhooks-demo"),
        (1, "mcp demo-tools"),
        (1, "agent demo-agent"),
        (2, "llm offline/offline-1"),
        (2, "tool demo-tools.lookup_capital"),
        (2, "tool add"),
        (2, "tool word_count"),
        (2, "llm offline/offline-1"),
    ]
    last: dict[str, Event] = {}
    for e in events:
        last[e.run_id] = e
    assert all(e.type.rsplit(".", 1)[-1] in TERMINAL for e in last.values())
    assert not any(e.type.endswith("error") for e in events)
    streamed = "".join(getattr(e, "token", "") for e in events if e.type == "llm.token")
    assert f"answer: {streamed.strip()}" == ANSWER


def test_quiet_records_where_asked_and_force_color_colours_a_pipe(tmp_path: Path) -> None:
    """--quiet leaves out the live tree; --record PATH puts the recording there; FORCE_COLOR
    colours the summary although stdout is a pipe (NO_COLOR's precedence: test_printing.py)."""
    proc = _run("demo", "--quiet", "--record", "out/run.jsonl", cwd=tmp_path, FORCE_COLOR="1")
    assert proc.returncode == 0, proc.stderr
    assert "▶ agent" not in proc.stdout
    assert "\033[1msummary\033[0m" in proc.stdout.splitlines()
    assert "\033[36mllmhooks view out/run.jsonl\033[0m" in proc.stdout
    events = list(read_events(tmp_path / "out" / "run.jsonl"))
    assert events[0].type == "chain.start" and events[-1].type == "chain.end"
    assert not (tmp_path / "llmhooks-demo.jsonl").exists()


def test_a_recording_path_that_cannot_be_written_is_refused_before_the_tour(tmp_path: Path) -> None:
    """--record into a folder that cannot exist: a clear error naming the path, exit status 2."""
    (tmp_path / "a-file").write_text("")
    proc = _run("demo", "--record", "a-file/run.jsonl", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("llmhooks demo: cannot write the recording to 'a-file/run.jsonl': ")
    assert "▶" not in proc.stdout


def test_default_recording_falls_back_to_the_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When ./llmhooks-demo.jsonl cannot be written, the default goes to a new temp file."""
    from llmhooks.cli.demo import recording_path

    (tmp_path / "here" / "llmhooks-demo.jsonl").mkdir(parents=True)  # a folder in the way
    (tmp_path / "tmp").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    path = recording_path(None)
    assert path.parent == tmp_path / "tmp" and path.name.startswith("llmhooks-demo-")
    assert path.read_bytes() == b""
    assert recording_path("given.jsonl") == Path("given.jsonl")


# a closed stdout, Ctrl-C


def test_a_closed_unbuffered_stdout_ends_the_demo_at_once(tmp_path: Path) -> None:
    """PYTHONUNBUFFERED, reader gone: the first print fails; no traceback, exit status 1
    (Python's convention for EPIPE)."""
    pipe = _closed_pipe()
    try:
        proc = _run("demo", cwd=tmp_path, stdout=pipe, PYTHONUNBUFFERED="1")
    finally:
        os.close(pipe)
    assert (proc.returncode, proc.stderr) == (1, "")


def test_a_closed_buffered_stdout_is_quiet_through_the_whole_tour(tmp_path: Path) -> None:
    """Buffered stdout (a pipe's default), reader gone: PrintCallbacks' flushes fail (through rich,
    with FORCE_COLOR), the tour goes on, the last flush fails: no traceback, exit status 1."""
    pytest.importorskip("rich")
    pipe = _closed_pipe()
    try:
        proc = _run("demo", cwd=tmp_path, stdout=pipe, FORCE_COLOR="1", PYTHONUNBUFFERED="")
    finally:
        os.close(pipe)
    assert (proc.returncode, proc.stderr) == (1, "")
    events = list(read_events(tmp_path / "llmhooks-demo.jsonl"))
    assert events[-1].type == "chain.end"  # the tour ran to its end


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["demo", "--help"]])
def test_version_and_help_to_a_closed_stdout_are_quiet(tmp_path: Path, args: list[str]) -> None:
    """argparse's own output to a closed pipe gives no traceback either."""
    pipe = _closed_pipe()
    try:
        proc = _run(*args, cwd=tmp_path, stdout=pipe)
    finally:
        os.close(pipe)
    assert proc.stderr == ""


def test_demo_into_head_shows_its_lines_and_no_traceback(tmp_path: Path) -> None:
    """`llmhooks demo | head -3`: three lines, nothing on stderr."""
    demo = subprocess.Popen(
        [str(LLMHOOKS), "demo"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(PYTHONUNBUFFERED=""),
    )
    head = subprocess.run(["head", "-3"], stdin=demo.stdout, capture_output=True, text=True, timeout=60)
    assert demo.stdout is not None and demo.stderr is not None
    demo.stdout.close()
    err = demo.stderr.read().decode()
    demo.wait(60)
    assert head.stdout.splitlines()[0].startswith("llmhooks demo: an agent on the offline")
    assert len(head.stdout.splitlines()) == 3
    assert err == ""


def test_ctrl_c_ends_the_demo_quietly_and_the_recording_is_whole(tmp_path: Path) -> None:
    """SIGINT mid-tour: exit status 130, no traceback, every recorded run has its terminal event."""
    proc = subprocess.Popen(
        [str(LLMHOOKS), "demo"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()
    )
    assert proc.stdout is not None
    for raw in _lines(proc.stdout.fileno()):
        if "▶ agent demo-agent" in raw:  # the agent has started: well inside the tour
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err.decode()) == (130, "")
    events = list(read_events(tmp_path / "llmhooks-demo.jsonl"))
    started = {e.run_id for e in events}
    ended = {e.run_id for e in events if e.type.rsplit(".", 1)[-1] in TERMINAL}
    assert started == ended
    assert any(isinstance(e, MCPDisconnectEvent) for e in events)


def _lines(fd: int) -> Iterator[str]:
    """Lines from a raw file descriptor, without reading ahead past what arrived."""
    pending = b""
    while chunk := os.read(fd, 4096):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode()


# --version and the command line


def test_version_is_written_in_one_place(tmp_path: Path) -> None:
    """`llmhooks --version`, llmhooks.__version__ and the package metadata agree, from _version.py."""
    proc = _run("--version", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, f"llmhooks {llmhooks.__version__}\n")
    assert importlib.metadata.version("llmhooks") == llmhooks.__version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/llmhooks/_version.py"


def test_unknown_command_fails_with_usage(tmp_path: Path) -> None:
    """A wrong subcommand exits non-zero with argparse's usage message."""
    proc = _run("nope", cwd=tmp_path)
    assert proc.returncode == 2 and "usage: llmhooks" in proc.stderr


def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    """`python -m llmhooks` is the same command."""
    proc = subprocess.run(
        [sys.executable, "-m", "llmhooks", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.stdout == f"llmhooks {llmhooks.__version__}\n"


def test_the_view_command_it_prints_is_quoted_for_the_shell(tmp_path: Path) -> None:
    """A recording path with a space and a quote: the printed ``llmhooks view`` command, pasted into a
    shell, opens that recording."""
    proc = _run("demo", "--quiet", "--record", "my runs/it's.jsonl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("  look at them"))
    command = line.removeprefix("  look at them").strip()
    assert command == "llmhooks view 'my runs/it'\"'\"'s.jsonl'"
    shown = subprocess.run(
        ["bash", "-c", command.replace("llmhooks", str(LLMHOOKS), 1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("my runs/it's.jsonl: ") and "1 trace" in shown.stdout
