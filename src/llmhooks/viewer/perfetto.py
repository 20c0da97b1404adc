"""``write_perfetto``: a recording as Chrome trace-event JSON, for Perfetto or chrome://tracing.

    write_perfetto(recording, "trace.json")     # then open it at ui.perfetto.dev, offline too

Each trace is a process (named after its root run), each run a complete event
(``ph: "X"``, ``ts``/``dur`` in microseconds since the epoch) with its kind as
category and its tokens, cost, model and error in ``args``. Complete events on one
thread must nest, and nest as the runs do, so runs that ran at once (parallel tool calls,
threads) go on further threads ("lanes") of the same process; agent steps, MCP progress and logs
are instant events (``ph: "i"``) on their run's lane.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llmhooks.viewer.model import Recording, Run, Trace

__all__ = ["perfetto_events", "write_perfetto"]


def _us(seconds: float) -> float:
    return round(seconds * 1_000_000.0, 3)


def _args(run: Run) -> dict[str, Any]:
    args: dict[str, Any] = {"run_id": run.run_id, "status": run.status}
    if run.model:
        args["model"] = run.model
    if run.tool:
        args["tool"] = run.tool
    if run.input_tokens is not None:
        args["input_tokens"] = run.input_tokens
        args["output_tokens"] = run.output_tokens
    if run.cost is not None:
        args["cost_usd"] = run.cost
    if run.error:
        args["error"] = run.error
    if run.duration_ms is not None:
        args["duration_ms"] = round(run.duration_ms, 3)
    if run.children:
        roll = run.rollup
        args["subtree"] = {
            "calls": roll.calls,
            "tokens": roll.tokens,
            "cost_usd": roll.cost,
            "errors": roll.errors,
        }
    return args


def _lanes(trace: Trace) -> dict[str, int]:
    """A lane per run: on each lane a span lies only inside its own ancestors' spans, or apart.

    A run goes on its parent's lane when it fits there (the common, sequential case, so the
    waterfall shows the nesting), else on the first lane where it fits, else on a new one.
    A concurrent sibling never lands inside another sibling's span, which would draw it as
    that sibling's child.
    """
    stacks: list[list[tuple[float, str]]] = []  # per lane: (end, run id) of the open spans
    lane_of: dict[str, int] = {}

    def fits(lane: int, run: Run, start: float, end: float) -> bool:
        stack = stacks[lane]
        while stack and stack[-1][0] <= start:
            stack.pop()
        if not stack:
            return True
        top_end, top = stack[-1]
        if end > top_end:
            return False
        above = run.parent  # the open span must be an ancestor's (most often the parent's)
        while above is not None and above.run_id != top:
            above = above.parent
        return above is not None

    runs = sorted((r for r, _ in trace.walk()), key=lambda r: (r.start, -(r.rollup.end - r.start)))
    for run in runs:
        start, end = run.start, max(run.start, run.rollup.end if run.end is None else run.end)
        preferred = lane_of.get(run.parent.run_id) if run.parent is not None else None
        order = ([preferred] if preferred is not None else []) + list(range(len(stacks)))
        lane = next((n for n in order if fits(n, run, start, end)), None)
        if lane is None:
            lane = len(stacks)
            stacks.append([])
        stacks[lane].append((end, run.run_id))
        lane_of[run.run_id] = lane
    return lane_of


def perfetto_events(
    recording: Recording, traces: Sequence[Trace] | None = None, *, step: Callable[[int], None] | None = None
) -> list[dict[str, Any]]:
    """The trace events for ``traces`` (default: all of ``recording``)."""
    recording.rollups()
    out: list[dict[str, Any]] = []
    done = 0
    for pid, trace in enumerate(recording.traces if traces is None else traces, 1):
        if not trace.roots:
            continue
        out.append(
            {
                "ph": "M",
                "name": "process_name",
                "pid": pid,
                "tid": 0,
                "args": {"name": f"{trace.name} ({trace.trace_id[:8]})"},
            }
        )
        lanes = _lanes(trace)
        for lane in sorted(set(lanes.values())):
            out.append(
                {"ph": "M", "name": "thread_name", "pid": pid, "tid": lane, "args": {"name": f"lane {lane}"}}
            )
        for run, _ in trace.walk():
            tid = lanes[run.run_id]
            end = run.end if run.end is not None else run.rollup.end
            out.append(
                {
                    "name": run.name,
                    "cat": run.kind,
                    "ph": "X",
                    "ts": _us(run.start),
                    "dur": max(0.0, _us(end) - _us(run.start)),
                    "pid": pid,
                    "tid": tid,
                    "args": _args(run),
                }
            )
            for event in run.events:
                label = event.type
                if event.type == "agent.step":
                    label = f"step {getattr(event, 'step', '')}"
                out.append(
                    {
                        "name": label,
                        "cat": run.kind,
                        "ph": "i",
                        "s": "t",
                        "ts": _us(event.timestamp),
                        "pid": pid,
                        "tid": tid,
                    }
                )
            done += 1
            if step is not None and not done & 255:
                step(done)
    if step is not None:
        step(done)
    return out


def write_perfetto(
    recording: Recording,
    path: str | os.PathLike[str],
    *,
    traces: Sequence[Trace] | None = None,
    step: Callable[[int], None] | None = None,
) -> Path:
    """Write ``{"traceEvents": [...], "displayTimeUnit": "ms"}`` to ``path``; returns the path."""
    out = Path(path)
    document = {"traceEvents": perfetto_events(recording, traces, step=step), "displayTimeUnit": "ms"}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))  # C encoder: json.dump is not
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, out)
    return out
