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


def concurrent_recording(path: Path) -> Path:
    """An agent whose four tool calls run at once in threads (each with an LLM call inside), a
    sequential LLM call, and a second trace recorded at the same time in another thread."""
    import contextvars
    import threading

    from llmhooks import EventRecorder, agent_run, callbacks_context, llm_run, tool_run

    together = threading.Barrier(4)
    meanwhile = threading.Barrier(2)

    def tool(i: int) -> None:
        with tool_run(f"parallel-{i}", arguments={"i": i}) as run:
            together.wait(10)  # all four are open now
            with llm_run(provider="openai", model="gpt-4o", messages=[]) as call:
                call.finish(input_tokens=1, output_tokens=1)
            together.wait(10)
            run.finish(result=i)

    def other_trace() -> None:
        with agent_run(goal="meanwhile", agent_name="other"):
            meanwhile.wait(10)
            meanwhile.wait(10)

    with EventRecorder(path) as recorder, callbacks_context([recorder]):
        side = threading.Thread(target=contextvars.copy_context().run, args=(other_trace,))
        side.start()
        with agent_run(goal="fan out", agent_name="fan"):
            meanwhile.wait(10)
            with llm_run(provider="openai", model="gpt-4o", messages=[]) as call:
                call.finish(input_tokens=1, output_tokens=1)
            threads = [
                threading.Thread(target=contextvars.copy_context().run, args=(tool, i)) for i in range(4)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            meanwhile.wait(10)
        side.join(10)
    return path


def spans(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["args"]["run_id"]: e for e in events if e["ph"] == "X"}


def test_concurrent_runs_get_lanes_that_never_overlap_and_keep_nesting(tmp_path: Path) -> None:
    """Runs that ran at once are on different tids; on any one tid, spans nest or are apart; a run
    that fits inside its parent shares its lane (so the waterfall still shows the nesting)."""
    recording = load(concurrent_recording(tmp_path / "fan.jsonl"))
    events = json.loads(write_perfetto(recording, tmp_path / "fan.json").read_text())["traceEvents"]
    by_run = spans(events)
    fan = next(t for t in recording.traces if t.name == "agent fan")
    other = next(t for t in recording.traces if t.name == "agent other")
    assert by_run[fan.root.run_id]["pid"] != by_run[other.root.run_id]["pid"]  # a process per trace
    tools = [r for r in fan.runs if r.kind == "tool"]
    assert len({by_run[r.run_id]["tid"] for r in tools}) == 4  # all four were open at once
    sequential = fan.root.children[0]
    assert sequential.kind == "llm" and by_run[sequential.run_id]["tid"] == by_run[fan.root.run_id]["tid"]
    for run in tools:  # each tool's own LLM call nests inside it, on its lane
        (inner,) = run.children
        assert by_run[inner.run_id]["tid"] == by_run[run.run_id]["tid"]
    lanes: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            lanes[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
    for lane in lanes.values():
        lane.sort(key=lambda s: (s[0], -s[1]))
        open_ends: list[float] = []
        for start, end in lane:
            while open_ends and open_ends[-1] <= start:
                open_ends.pop()
            assert not open_ends or end <= open_ends[-1], lane
            open_ends.append(end)
    # and a span drawn inside another on one lane is inside its own ancestor, never a sibling's
    for run in recording.runs.values():
        mine = by_run[run.run_id]
        around = [
            other
            for other in recording.runs.values()
            if other is not run
            and (by_run[other.run_id]["pid"], by_run[other.run_id]["tid"]) == (mine["pid"], mine["tid"])
            and by_run[other.run_id]["ts"] <= mine["ts"]
            and mine["ts"] + mine["dur"] <= by_run[other.run_id]["ts"] + by_run[other.run_id]["dur"]
        ]
        assert all(other in run.ancestors() for other in around), (run, around)
    names = {(e["pid"], e["tid"]) for e in events if e["name"] == "thread_name"}
    assert set(lanes) <= names  # every lane used is named
