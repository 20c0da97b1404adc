"""A progress bar on stderr for long reads and writes: ``rich``'s when installed, a plain one otherwise.

    with Progress("reading session.jsonl", total=source.count()) as bar:
        for i, event in enumerate(events):
            bar.update(i + 1)          # cheap: the bar redraws at most ten times a second

It is off when stderr is not a terminal (pipes, CI logs, tests), so output that is
captured never holds a half-drawn bar; ``enabled=`` forces it either way.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, TextIO, TypeVar

__all__ = ["Progress", "track"]

T = TypeVar("T")
_WIDTH = 30
_LABEL = 40  # a label longer than this is cut (an ellipsis last), so the bar and counts fit


class Progress:
    """A bar for ``total`` steps (a counter when ``total`` is ``None``) on ``file`` (default stderr).

    Args:
        label: what is being done, shown before the bar.
        total: how many steps make 100%, or ``None`` when unknown.
        file: where to draw (default ``sys.stderr``).
        enabled: force on or off (default: on when ``file`` is a terminal).
        rich: use rich's bar (default: when rich is installed); ``False``: the plain one.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        file: TextIO | None = None,
        enabled: bool | None = None,
        rich: bool | None = None,
    ) -> None:
        self.label = label if len(label) <= _LABEL else label[: _LABEL - 1] + "…"
        self.total = total
        self.file = file if file is not None else sys.stderr
        if enabled is None:
            try:
                enabled = self.file.isatty()
            except (AttributeError, ValueError):
                enabled = False
        self.enabled = enabled
        self.use_rich = rich
        self.done = 0
        self._next_draw = 0.0
        self._rich: Any = None
        self._task: Any = None
        self._drawn = False

    def __enter__(self) -> Progress:
        if self.enabled and self.use_rich is not False:
            try:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
                from rich.progress import Progress as RichProgress
            except ImportError:
                pass
            else:
                self._rich = RichProgress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=Console(file=self.file),
                    transient=True,
                )
                self._rich.start()
                self._task = self._rich.add_task(self.label, total=self.total)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def update(self, done: int) -> None:
        """Set how many steps are done; redraws now and then, never more than ten times a second."""
        self.done = done
        if not self.enabled:
            return
        now = time.monotonic()
        if now < self._next_draw and done != self.total:
            return
        self._next_draw = now + 0.1
        self._draw()

    def _draw(self) -> None:
        if self._rich is not None:
            self._rich.update(self._task, completed=self.done)
            return
        if self.total:
            counts = f"{self.done:,}/{self.total:,}"
            # one line on the terminal, or "\r" cannot redraw it: the bar shrinks to fit
            size = max(0, min(_WIDTH, self._columns() - len(self.label) - len(counts) - 5))
            filled = int(size * min(self.done, self.total) / self.total)
            bar = f" [{'#' * filled}{'-' * (size - filled)}]" if size >= 5 else ""
            text = f"\r{self.label}{bar} {counts}"
        else:
            text = f"\r{self.label} {self.done:,}"
        self.file.write(text)
        self.file.flush()
        self._drawn = True

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self.file.fileno()).columns
        except (AttributeError, OSError, ValueError):  # not a real terminal (tests)
            return 80

    def close(self) -> None:
        """Take the bar off the screen. Idempotent."""
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
        elif self._drawn:
            self.file.write("\r\033[K")
            self.file.flush()
            self._drawn = False


def track(
    items: Iterable[T], label: str, total: int | None = None, *, enabled: bool | None = None
) -> Iterator[T]:
    """Yield ``items`` while a ``Progress`` bar counts them."""
    with Progress(label, total, enabled=enabled) as bar:
        done = 0
        for item in items:
            yield item
            done += 1
            bar.update(done)
        bar.update(done)
