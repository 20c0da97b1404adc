"""The progress bar: rich's or a plain one on a terminal, nothing when stderr is not one."""

from __future__ import annotations

import io

import pytest

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
