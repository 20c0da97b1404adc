"""Chrome trace-event JSON: complete events in microseconds, nested per lane, one process per trace."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from llmhooks.viewer import load, write_perfetto

from .conftest import Made


def written(made: Made, tmp_path: Path) -> list[dict[str, Any]]:
    path = write_perfetto(load(made.jsonl), tmp_path / "trace.json")
    document = json.loads(path.read_text())
    assert document["displayTimeUnit"] == "ms"
    events: list[dict[str, Any]] = document["traceEvents"]
    return events


@pytest.mark.parametrize("fixture", ["agent_rec", "graph_rec", "sdk_rec"])
def test_every_run_is_a_complete_event_in_microseconds(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """One ``ph: "X"`` per run, ``ts`` its start and ``dur`` its length in µs, named and typed."""
    made: Made = request.getfixturevalue(fixture)
    recording = load(made.jsonl)
    complete = {e["args"]["run_id"]: e for e in written(made, tmp_path) if e["ph"] == "X"}
    assert set(complete) == set(recording.runs)
    for run in recording.runs.values():
        event = complete[run.run_id]
        assert (event["name"], event["cat"]) == (run.name, run.kind)
        assert event["ts"] == pytest.approx(run.start * 1e6, abs=1)
        assert run.end is not None and event["dur"] == pytest.approx((run.end - run.start) * 1e6, abs=1)
        if run.error:
            assert event["args"]["error"] == run.error


@pytest.mark.parametrize("fixture", ["agent_rec", "graph_rec", "sdk_rec"])
def test_events_on_one_lane_nest(fixture: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Complete events sharing a pid and tid never overlap without one holding the other."""
    events = written(request.getfixturevalue(fixture), tmp_path)
    lanes: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            lanes[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
    for spans in lanes.values():
        open_ends: list[float] = []
        for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
            while open_ends and open_ends[-1] <= start:
                open_ends.pop()
            assert not open_ends or end <= open_ends[-1], spans
            open_ends.append(end)


def test_parallel_tool_calls_get_lanes_of_their_own(agent_rec: Made, tmp_path: Path) -> None:
    """The agent's four tools ran at once: they cannot share a lane, so the trace has several."""
    events = written(agent_rec, tmp_path)
    names = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    helper = next(pid for pid, name in names.items() if name.startswith("agent helper"))
    tools = [e for e in events if e["ph"] == "X" and e["pid"] == helper and e["cat"] == "tool"]
    assert len(tools) == 4 and len({e["tid"] for e in tools}) >= 2
    steps = [e for e in events if e["ph"] == "i" and e["pid"] == helper and e["name"].startswith("step")]
    assert [e["name"] for e in steps] == ["step 1", "step 2"]
    agent = next(e for e in events if e["ph"] == "X" and e["pid"] == helper and e["cat"] == "agent")
    roll = load(agent_rec.jsonl).traces[1].root.rollup
    assert agent["args"]["subtree"] == {"calls": 2, "tokens": roll.tokens, "cost_usd": roll.cost, "errors": 2}
