"""``write_html``: one self-contained HTML report of a recording, to open from disk or a mail.

    write_html(recording, "report.html")            # every trace; or traces=[...]

The file holds its data (two ``<script type="application/json">`` blocks), its CSS and
its script (``report.css``, ``report.js`` beside this module, written for it: no
framework, no CDN). A Content-Security-Policy forbids every request, so the page
cannot fetch anything even if a payload tried. Payloads are shown as recorded: they
were redacted when the events were built, and the page only ever sets them as text.

The run tree of each trace is laid out depth first, so a subtree is a contiguous
range of rows: the page collapses, searches and focuses by index arithmetic, and
draws only the rows in view (it stays responsive for 100,000 events).
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from llmhooks.viewer.model import KINDS, Recording, Trace

__all__ = ["report_data", "write_html"]

_STATUS = {"ok": 0, "error": 1, "running": 2}
_COLUMNS = (
    "id", "parent", "depth", "size", "kind", "name", "start", "end", "dur", "status", "error",
    "input_tokens", "output_tokens", "cost", "model", "tool",
    "r_calls", "r_tools", "r_tokens", "r_cost", "r_errors", "r_dur",
)  # fmt: skip


def _ms(value: float) -> float:
    return round(value * 1000.0, 3)


def report_data(
    recording: Recording,
    traces: Sequence[Trace] | None = None,
    *,
    title: str = "llmhooks recording",
    step: Callable[[int], None] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The page's data: ``(summary, details)``; ``details[i]`` is run ``i``'s side panel, as JSON text.

    Runs are columns (``summary["runs"][name][i]``), each trace's runs a contiguous
    depth-first range ``[first, first + count)``; times are milliseconds from the
    trace's start. ``step(n)`` is called as runs are laid out (for a progress bar).
    """
    recording.rollups()
    chosen = recording.traces if traces is None else traces
    kinds = {k: i for i, k in enumerate(KINDS)}
    cols: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    details: list[str] = []
    trace_rows: list[list[Any]] = []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    index: dict[str, int] = {}
    done = 0
    for trace in chosen:
        if not trace.roots:
            continue
        first = len(details)
        origin = min(r.rollup.start for r in trace.roots)
        for run, depth in trace.walk():
            i = len(details)
            index[run.run_id] = i
            roll = run.rollup
            end = run.end if run.end is not None else roll.end
            for name, value in (
                ("id", run.run_id),
                ("parent", index.get(run.parent.run_id, -1) if run.parent is not None else -1),
                ("depth", depth),
                ("size", roll.runs),
                ("kind", kinds.setdefault(run.kind, len(kinds))),
                ("name", run.name),
                ("start", _ms(run.start - origin)),
                ("end", _ms(end - origin)),
                ("dur", None if run.duration_ms is None else round(run.duration_ms, 3)),
                ("status", _STATUS.get(run.status, 0)),
                ("error", run.error or ""),
                ("input_tokens", run.input_tokens),
                ("output_tokens", run.output_tokens),
                ("cost", run.cost),
                ("model", run.model or ""),
                ("tool", run.tool or ""),
                ("r_calls", roll.calls),
                ("r_tools", roll.tools),
                ("r_tokens", roll.tokens),
                ("r_cost", roll.cost),
                ("r_errors", roll.errors),
                ("r_dur", round(roll.duration_ms, 3)),
            ):
                cols[name].append(value)
            details.append(dumps(run.detail()))
            done += 1
            if step is not None and not done & 255:
                step(done)
        roll = trace.rollup
        trace_rows.append(
            [
                trace.trace_id,
                first,
                len(details) - first,
                round(origin * 1000.0, 3),
                round(roll.duration_ms, 3),
                roll.calls,
                roll.tokens,
                roll.cost,
                roll.errors,
                trace.name,
                roll.tools,
            ]
        )
    if step is not None:
        step(done)
    summary = {
        "title": title,
        "generated": time.time() * 1000.0,
        "events": recording.events,
        "skipped": recording.skipped,
        "kinds": list(kinds),
        "traces": trace_rows,
        "runs": cols,
    }
    return summary, details


def _script_json(value: Any) -> str:
    """JSON safe inside ``<script>``: no ``<`` at all, so no ``</script>`` or ``<!--``."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).replace("<", "\\u003c")


def _asset(name: str) -> str:
    return files("llmhooks.viewer").joinpath(name).read_text(encoding="utf-8")


def write_html(
    recording: Recording,
    path: str | os.PathLike[str],
    *,
    traces: Sequence[Trace] | None = None,
    title: str | None = None,
    step: Callable[[int], None] | None = None,
) -> Path:
    """Write the report of ``recording`` (or of ``traces`` only) to ``path``; returns the path.

    Raises:
        OSError: the file cannot be written.
    """
    out = Path(path)
    title = title or "llmhooks recording"
    summary, details = report_data(recording, traces, title=title, step=step)
    page = _asset("report.html")
    head, _, tail = page.partition("<!--DATA-->")
    parts = [
        head.replace("{{css}}", _asset("report.css")).replace("{{title}}", html.escape(title)),
        '<script type="application/json" id="llmhooks-data">',
        _script_json(summary),
        '</script>\n<script type="application/json" id="llmhooks-details">',
        _script_json(details),
        "</script>\n<script>\n",
        _asset("report.js"),
        "</script>\n",
        tail,
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(parts)
    os.replace(tmp, out)  # a reader never sees half a report
    return out
