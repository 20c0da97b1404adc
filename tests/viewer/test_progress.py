"""The progress bar: rich's or a plain one on a terminal, nothing when stderr is not one."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from llmhooks import EventRecorder, callbacks_context, tool_run
from llmhooks.viewer import Progress
from llmhooks.viewer.progress import track


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_when_the_output_is_not_a_terminal() -> None:
    """Captured output (a pipe, a CI log) never holds a bar."""
    out = io.StringIO()
    with Progress("reading", 10, file=out) as bar:
        for i in range(10):
            bar.update(i + 1)
    assert not bar.enabled and out.getvalue() == ""


def test_plain_bar_draws_and_clears_itself() -> None:
    """Without rich: a one-line bar rewritten in place, then wiped."""
    out = Tty()
    with Progress("reading", 4, file=out, rich=False) as bar:
        bar.update(4)
        drawn = out.getvalue()
    assert drawn == "\rreading [##############################] 4/4"
    assert out.getvalue().endswith("\r\033[K")


def test_rich_bar_when_rich_is_there() -> None:
    """With rich installed, its bar is drawn on the terminal."""
    pytest.importorskip("rich")
    out = Tty()
    with Progress("writing report.html", 3, file=out) as bar:
        bar.update(3)
    assert "writing report.html" in out.getvalue()


def test_track_counts_items_and_passes_them_through() -> None:
    """track() yields every item unchanged."""
    assert list(track(range(5), "items", 5, enabled=False)) == [0, 1, 2, 3, 4]


def big_recording(path: Path, calls: int = 3000) -> Path:
    with EventRecorder(path, flush_every=1000) as recorder, callbacks_context([recorder]):
        for i in range(calls):
            with tool_run("step", arguments={"i": i}) as run:
                run.finish(result=i)
    return path


def run_with_stderr_on_a_terminal(folder: Path, *args: str) -> tuple[int, str, str]:
    """``llmhooks view ARGS`` with stderr on an 80-column pseudo-terminal (stdout a file); what each got."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    out_path = folder / "stdout.txt"
    with open(out_path, "wb") as out:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "llmhooks", "view", *args],
                stdout=out,
                stderr=slave,
                env={**os.environ, "NO_COLOR": "1", "TERM": "xterm"},
            )
        finally:
            os.close(slave)
        seen = b""
        try:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
        finally:
            os.close(master)
        code = proc.wait(60)
    return code, out_path.read_text(), seen.decode(errors="replace")


@pytest.mark.parametrize("rich", [True, False])
def test_the_command_shows_progress_when_stderr_is_a_terminal(
    tmp_path: Path, rich: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a large recording and writing its report: a bar on the terminal, stdout untouched."""
    if rich:
        pytest.importorskip("rich")
    else:
        monkeypatch.setenv("PYTHONPATH", str(no_rich(tmp_path)))
    path = big_recording(tmp_path / "big.jsonl")
    code, out, err = run_with_stderr_on_a_terminal(tmp_path, str(path), "--html", str(tmp_path / "r.html"))
    assert code == 0, err
    # on 80 columns, with a long path: the names are short and the counts are shown
    assert "reading big.jsonl" in err and "6,000/6,000" in err.replace("6000", "6,000")
    assert "writing r.html" in err and "3,000/3,000" in err.replace("3000", "3,000")
    assert out.startswith(f"{path}: 6,000 events, 3,000 traces") and "\r" not in out
    code, out, err = run_with_stderr_on_a_terminal(tmp_path, str(path), "--no-progress")
    assert code == 0 and "reading" not in err and len(out.splitlines()) == 3002


def no_rich(folder: Path) -> Path:
    """A folder for PYTHONPATH in which ``import rich`` fails (the plain bar's case)."""
    fake = folder / "no-rich"
    (fake / "rich").mkdir(parents=True)
    (fake / "rich" / "__init__.py").write_text("raise ImportError('rich hidden for this test')\n")
    return fake
