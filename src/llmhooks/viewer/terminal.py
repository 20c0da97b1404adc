"""The terminal view: a table of traces, and any trace as the tree ``PrintCallbacks`` draws.

    render_traces(recording.traces, sys.stdout, color=use_color(sys.stdout))
    render_tree(trace, sys.stdout, shown=RunFilter(errors=True).shown(trace))

The tree is ``PrintCallbacks`` itself, fed the trace's recorded events in order (one
tree printer for live runs and recordings); a heading gives the roll-up of what is
shown. The table uses ``rich`` when it is installed and colour is on, aligned plain
text otherwise. Colour follows ``NO_COLOR`` and ``FORCE_COLOR`` (https://no-color.org,
https://force-color.org), then whether the output is a terminal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, TextIO

from llmhooks.core.manager import CallbackManager
from llmhooks.handlers.printing import PrintCallbacks
from llmhooks.viewer.model import Rollup, Run, Trace

__all__ = [
    "format_cost",
    "format_ms",
    "render_traces",
    "render_tree",
    "rollup_line",
    "table_width",
    "tree_printer",
    "use_color",
]

COLUMNS = ("#", "time", "trace", "root run", "duration", "calls", "tokens", "cost", "errors")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def use_color(stream: TextIO) -> bool:
    """Colour on ``stream``: off with ``NO_COLOR``, on with ``FORCE_COLOR``, else on for a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR")
    if force is not None and force not in ("", "0", "false"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def format_ms(ms: float | None) -> str:
    """``410ms``, ``1.50s``, ``2m05s``; ``-`` when unknown."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f}s"
    minutes, seconds = divmod(ms / 1000, 60)
    return f"{minutes:.0f}m{seconds:02.0f}s"


def format_cost(cost: float | None) -> str:
    """``$0.000310`` (as ``PrintCallbacks`` shows a call's cost); ``-`` when no call was priced."""
    return "-" if cost is None else f"${cost:.6f}"


def _time(epoch: float, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return time.strftime(fmt, time.localtime(epoch))


# the time column, shortened in this order when the table would not fit otherwise
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%m-%d %H:%M:%S", "%H:%M:%S")
_NAME = COLUMNS.index("root run")
_GAP = 2
_NAME_ROOM = 16  # the root run's name gets at least this much before the time is shortened
_NAME_MIN = 8


def table_width(stream: TextIO) -> int:
    """Columns to fit the table in: the terminal's width, else ``COLUMNS``, else 80."""
    if _isatty(stream):
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            pass
    try:
        return max(int(os.environ["COLUMNS"]), 40)
    except (KeyError, ValueError):
        return 80


def _clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when something was cut."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _row(number: int, trace: Trace, fmt: str) -> list[str]:
    roll = trace.rollup
    return [
        str(number),
        _time(trace.start, fmt),
        trace.trace_id[:8],
        trace.name,
        format_ms(roll.duration_ms),
        str(roll.calls),
        f"{roll.tokens:,}",
        format_cost(roll.cost),
        str(roll.errors),
    ]


def _fit(traces: Sequence[Trace], width: int) -> tuple[list[list[str]], list[int]]:
    """The rows and column widths of a table at most ``width`` wide (the root run's name cut to fit)."""
    rows = [_row(i, trace, _TIME_FORMATS[0]) for i, trace in enumerate(traces, 1)]
    widths = [max(len(name), *(len(r[i]) for r in rows)) for i, name in enumerate(COLUMNS)]
    time_at = COLUMNS.index("time")
    others = sum(widths) - widths[_NAME] - widths[time_at] + _GAP * (len(COLUMNS) - 1)
    for fmt in _TIME_FORMATS:  # every format gives times of one length: pick it, then format once
        size = max(len(COLUMNS[time_at]), len(_time(0, fmt))) if rows else widths[time_at]
        room = width - others - size
        if room >= min(widths[_NAME], _NAME_ROOM):
            break
    if fmt != _TIME_FORMATS[0]:
        widths[time_at] = size
        for row, trace in zip(rows, traces, strict=True):
            row[time_at] = _time(trace.start, fmt)
    room = max(room, _NAME_MIN)
    if widths[_NAME] > room:
        widths[_NAME] = room
        for row in rows:
            row[_NAME] = _clip(row[_NAME], room)
    return rows, widths


def render_traces(
    traces: Sequence[Trace], stream: TextIO, *, color: bool = False, width: int | None = None
) -> None:
    """Write one row per trace: time, trace id, root run, duration, LLM calls, tokens, cost, errors.

    Args:
        width: columns the table must fit in (default: ``table_width(stream)``); the time is
            shortened, then the root run's name cut with an ellipsis, so no line wraps.
    """
    if width is None:
        width = table_width(stream)
    rows, widths = _fit(traces, width)
    if color:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            pass
        else:
            table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, _GAP // 2))
            for name, size in zip(COLUMNS, widths, strict=True):
                numeric = name in ("#", "duration", "calls", "tokens", "cost", "errors")
                table.add_column(
                    name,
                    justify="right" if numeric else "left",
                    no_wrap=True,
                    overflow="ellipsis",
                    width=size,
                )
            for row, trace in zip(rows, traces, strict=True):
                style = "red" if trace.rollup.errors else None
                table.add_row(*row, style=style)
            console = Console(file=stream, force_terminal=True, highlight=False, soft_wrap=False, width=width)
            console.print(table)
            return
    left = {"time", "trace", "root run"}

    def line(cells: Sequence[str]) -> str:
        out = [
            c.ljust(w) if n in left else c.rjust(w) for c, w, n in zip(cells, widths, COLUMNS, strict=True)
        ]
        return (" " * _GAP).join(out).rstrip()

    stream.write(line(COLUMNS) + "\n")
    for row in rows:
        stream.write(line(row) + "\n")
    stream.flush()


def rollup_line(roll: Rollup) -> str:
    """``311ms, 2 calls, 68 tokens, $0.000020, 0 errors`` (plus unpriced calls when some had no cost)."""
    parts = [
        format_ms(roll.duration_ms),
        f"{roll.calls} call{'' if roll.calls == 1 else 's'}",
        f"{roll.tokens:,} tokens",
        format_cost(roll.cost),
        f"{roll.errors} error{'' if roll.errors == 1 else 's'}",
    ]
    if roll.unpriced and roll.cost is not None:
        parts.insert(4, f"{roll.unpriced} unpriced")
    return ", ".join(parts)


def tree_printer(
    stream: TextIO, *, color: bool, verbose: bool = False, tokens: bool = False
) -> CallbackManager:
    """A ``PrintCallbacks`` on ``stream``, wrapped in a manager that recorded events are emitted to."""
    printer = PrintCallbacks(verbose=verbose, file=stream, color=color, show_tokens=tokens)
    return CallbackManager([printer])


def render_tree(
    trace: Trace,
    stream: TextIO,
    *,
    shown: set[str] | None = None,
    focus: Run | None = None,
    color: bool = False,
    verbose: bool = False,
    tokens: bool = False,
) -> None:
    """Write a heading with the roll-up, then the tree of ``trace`` (only the ``shown`` run ids if given).

    Args:
        focus: draw the subtree of this run only (its roll-up in the heading).
        verbose: ``PrintCallbacks(verbose=True)``: payload previews, progress, logs.
        tokens: write streamed tokens inline, as they were recorded.
    """
    top = focus
    roll = top.rollup if top is not None else trace.rollup
    what = f"run {top.run_id} {top.name}" if top is not None else trace.name
    heading = f"trace {trace.trace_id}  {_time(trace.start)}  {what}: {rollup_line(roll)}"
    if shown is not None:
        total = roll.runs
        heading += f" (showing {len(shown)} of {total} runs)"
    stream.write(heading + "\n")
    if top is not None:
        inside = {r.run_id for r, _ in top.walk()}
        shown = inside if shown is None else shown & inside
    emit: Any = tree_printer(stream, color=color, verbose=verbose, tokens=tokens).emit
    for event in trace.events:
        if event.run_id and (shown is None or event.run_id in shown):
            emit(event)
    stream.flush()
