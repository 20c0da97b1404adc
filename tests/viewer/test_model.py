"""The run tree and roll-ups rebuilt from recordings made by real producers.

Expected figures are computed from the raw JSON lines of each recording, not through
the viewer, so a wrong link or sum shows up as a mismatch.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from llmhooks.events import event_from_dict
from llmhooks.viewer import Recording, Run, load
from llmhooks.viewer.source import JsonlSource

from .conftest import Made


def shape(run: Run) -> Any:
    """A run and its subtree as nested ``(name, status, [children])``."""
    return (run.name, run.status, [shape(c) for c in run.children])


def totals(raw: list[dict[str, Any]], trace_id: str) -> dict[str, Any]:
    """Roll-up figures of one trace straight from the raw records."""
    rows = [r for r in raw if r["trace_id"] == trace_id]
    ends = [r for r in rows if r["type"] == "llm.end"]
    costs = [r["cost"] for r in ends if r["cost"] is not None]
    return {
        "calls": sum(1 for r in rows if r["type"] == "llm.start"),
        "tools": sum(1 for r in rows if r["type"] == "tool.start"),
        "tokens": sum((r["input_tokens"] or 0) + (r["output_tokens"] or 0) for r in ends),
        "cost": sum(costs) if costs else None,
        "errors": sum(1 for r in rows if r["type"].endswith("error")),
        "runs": len({r["run_id"] for r in rows}),
        "span": max(r["timestamp"] for r in rows) - min(r["timestamp"] for r in rows),
    }


def check_rollups(recording: Recording, made: Made) -> None:
    for trace in recording.traces:
        want = totals(made.raw, trace.trace_id)
        roll = trace.rollup
        got = {"calls": roll.calls, "tools": roll.tools, "tokens": roll.tokens, "errors": roll.errors}
        assert got == {k: want[k] for k in got}, trace.name
        assert roll.runs == want["runs"]
        assert roll.cost == pytest.approx(want["cost"]) if want["cost"] is not None else roll.cost is None
        assert roll.duration_ms == pytest.approx(want["span"] * 1000, abs=0.01)


def test_agent_tree_nests_llm_calls_and_tools_under_the_agent(agent_rec: Made) -> None:
    """The agent run holds its two LLM calls and its four tool calls; the MCP session is its own trace."""
    recording = load(agent_rec.jsonl)
    names = [t.name for t in recording.traces]
    assert names == ["mcp demo-tools", "agent helper", "agent keyed"]
    helper = recording.traces[1].root
    assert shape(helper) == (
        "agent helper",
        "ok",
        [
            ("llm offline/offline-1", "ok", []),
            ("tool demo-tools.lookup_capital", "error", []),
            ("tool demo-tools.unit_convert", "ok", []),
            ("tool add", "ok", []),
            ("tool explode", "error", []),
            ("llm offline/offline-1", "ok", []),
        ],
    )
    lookup, convert, explode = helper.children[1], helper.children[2], helper.children[4]
    assert "unknown country 'Atlantis'" in (lookup.error or "") and lookup.error_type == "MCPToolError"
    assert explode.error == "exploded: boom" and explode.error_type == "RuntimeError"
    assert [e.type for e in convert.events] == [
        "mcp.progress",
        "mcp.progress",
    ]  # progress stays with its call
    session = recording.traces[0].root
    assert session.kind == "mcp" and [e.type for e in session.events] == ["mcp.logging"]
    assert [e.type for e in helper.events] == ["agent.step", "agent.step"]


def test_agent_rollups_match_the_raw_records(agent_rec: Made) -> None:
    """Calls, tool calls, tokens, cost, errors, runs and duration of every trace add up."""
    recording = load(agent_rec.jsonl)
    check_rollups(recording, agent_rec)
    helper = recording.traces[1]
    assert (helper.rollup.calls, helper.rollup.tools, helper.rollup.errors) == (2, 4, 2)


def test_streamed_tokens_are_kept_with_their_call(agent_rec: Made) -> None:
    """Each LLM run holds the tokens recorded for it, in order; the side panel counts them."""
    recording = load(agent_rec.jsonl)
    answer = recording.traces[1].root.children[-1]
    recorded = [r["token"] for r in agent_rec.of("llm.token") if r["run_id"] == answer.run_id]
    assert recorded and answer.tokens == recorded
    assert answer.detail()["usage"]["streamed_tokens"] == len(recorded)


def test_graph_tree_is_chain_nodes_then_llm_and_tools(graph_rec: Made) -> None:
    """LangGraph: the graph run holds its two node runs, the model call and both tool calls under them."""
    recording = load(graph_rec.jsonl)
    [trace] = recording.traces
    assert shape(trace.root) == (
        "chain LangGraph",
        "ok",
        [
            ("node agent", "ok", [("llm genericfakechatmodel/GenericFakeChatModel", "ok", [])]),
            ("node tools", "ok", [("tool plus", "ok", []), ("tool divide", "error", [])]),
        ],
    )
    check_rollups(recording, graph_rec)
    agent_node, tools_node = trace.root.children
    assert (agent_node.rollup.calls, agent_node.rollup.tokens, agent_node.rollup.cost) == (
        1,
        19,
        12e-6 + 14e-6,
    )
    assert (tools_node.rollup.calls, tools_node.rollup.tools, tools_node.rollup.errors) == (0, 2, 1)
    assert tools_node.children[1].error == "division by zero"


def test_sdk_streams_make_one_trace_per_top_level_call(sdk_rec: Made) -> None:
    """Calls inside the agent run are its children; calls outside are traces of their own."""
    recording = load(sdk_rec.jsonl)
    assert [t.name for t in recording.traces] == [
        "agent sdk-caller",
        "llm anthropic/claude-haiku-4",
        "llm openai/gpt-4o-mini",
    ]
    check_rollups(recording, sdk_rec)
    agent, stream, failed = (t.root for t in recording.traces)
    assert [c.name for c in agent.children] == ["llm openai/gpt-4o-mini"] * 2
    assert "".join(agent.children[0].tokens) == "a b c d"
    assert (stream.input_tokens, stream.output_tokens, "".join(stream.tokens)) == (5, 3, "one two three")
    assert failed.status == "error" and "the wire server is down" in (failed.error or "")
    assert recording.traces[2].rollup.unpriced == 1 and recording.traces[2].rollup.cost is None


@pytest.mark.parametrize("fixture", ["agent_rec", "graph_rec", "sdk_rec"])
def test_sqlite_and_jsonl_give_the_same_tree(fixture: str, request: pytest.FixtureRequest) -> None:
    """The two recordings of the same session rebuild to the same runs and roll-ups."""
    made: Made = request.getfixturevalue(fixture)
    a, b = load(made.jsonl), load(made.db)
    assert a.events == b.events == len(made.raw)

    def flat(recording: Recording) -> list[Any]:
        return [
            (r.run_id, r.parent_id, r.name, r.status, depth, r.rollup.tokens, r.rollup.errors)
            for t in recording.traces
            for r, depth in t.walk()
        ]

    assert flat(a) == flat(b)


def test_events_in_any_order_give_the_same_tree(agent_rec: Made) -> None:
    """Children seen before their parents (a merged or shuffled stream) are linked when the parent comes."""
    ordered = load(agent_rec.jsonl)
    want = {t.trace_id: shape(t.root) for t in ordered.traces}
    for seed in (1, 7, 42):
        events = [event_from_dict(r) for r in agent_rec.raw]
        random.Random(seed).shuffle(events)
        shuffled = Recording.from_events(events).finish()
        assert {t.trace_id: shape(t.root) for t in shuffled.traces} == want
        for trace in shuffled.traces:
            match = ordered.trace(trace.trace_id)
            assert match is not None and trace.rollup == match.rollup


def test_a_recording_cut_short_shows_running_runs(agent_rec: Made, tmp_path: Path) -> None:
    """A file that stops mid-run (a crash, or still being written) has runs with no end: status running."""
    lines = agent_rec.jsonl.read_text().splitlines()
    cut = next(i for i, r in enumerate(agent_rec.raw) if r["type"] == "agent.step")
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join(lines[:cut]) + "\n" + lines[cut][: len(lines[cut]) // 2])  # torn last line
    recording = load(path)
    assert recording.skipped == 1
    agent = recording.traces[1].root
    assert agent.status == "running" and agent.duration_ms is None
    last_child = max(c.rollup.end for c in agent.children)
    assert agent.rollup.end == last_child  # it lasted at least as long as what it ran


def test_run_details_hold_inputs_outputs_usage_and_metadata(agent_rec: Made, sdk_rec: Made) -> None:
    """The side panel data: arguments in, result or error out, usage, metadata, as recorded (redacted)."""
    recording = load(agent_rec.jsonl)
    keyed = recording.traces[2].root
    tool = next(c for c in keyed.children if c.kind == "tool")
    detail = tool.detail()
    assert detail["inputs"]["arguments"] == {"service": "billing", "api_key": "[REDACTED]"}
    assert detail["outputs"]["result"] == "looked up billing"
    assert detail["run"]["user_id"] == "viewer-user" and detail["run"]["tags"] == ["viewer-test"]
    assert json.dumps(detail)  # JSON-safe as it is
    call = load(sdk_rec.jsonl).traces[0].root.children[1]
    usage = call.detail()["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (8, 2, 10)
    assert call.detail()["metadata"]["cost"]["usd"] == pytest.approx(usage["cost"])


def test_poll_returns_only_complete_new_lines(agent_rec: Made, tmp_path: Path) -> None:
    """JSONL polling: nothing of a half-written line until its newline arrives; then exactly the rest."""
    lines = agent_rec.jsonl.read_text().splitlines(keepends=True)
    path = tmp_path / "growing.jsonl"
    source = JsonlSource(path)
    assert source.poll() == []  # not there yet
    path.write_text(lines[0] + lines[1][:20])
    assert [e.type for e in source.poll()] == [agent_rec.raw[0]["type"]]
    with open(path, "a") as f:
        f.write(lines[1][20:] + lines[2])
    assert [e.run_id for e in source.poll()] == [r["run_id"] for r in agent_rec.raw[1:3]]
    assert source.poll() == []


def test_a_realtime_session_is_one_run_and_counts_errors_it_went_on_after() -> None:
    """connected .. disconnected is one run; a recoverable realtime error is counted, not an end."""
    from llmhooks.events import (
        RealtimeConnectedEvent,
        RealtimeDisconnectedEvent,
        RealtimeErrorEvent,
        RealtimeResponseEvent,
    )

    ids = {"run_id": "a" * 16, "trace_id": "b" * 32, "provider": "openai", "session_id": "s1"}
    events = [
        RealtimeConnectedEvent(**ids, timestamp=100.0),
        RealtimeErrorEvent(**ids, error="rate limited", is_recoverable=True, timestamp=100.5),
        RealtimeResponseEvent(**ids, text="hello", timestamp=101.0),
        RealtimeDisconnectedEvent(**ids, reason="closed", timestamp=102.0),
    ]
    [trace] = Recording.from_events(events).finish().traces
    session = trace.root
    assert (session.kind, session.status, session.duration_ms) == ("realtime", "ok", 2000.0)
    assert [e.type for e in session.events] == ["realtime.error", "realtime.response"]
    assert session.rollup.errors == 1 and session.error == "rate limited"


def test_sqlite_poll_returns_rows_added_since_the_last_poll(tmp_path: Path) -> None:
    """SQLite polling: nothing before the table exists, then each new committed row once."""
    from llmhooks import EventRecorder, llm_run
    from llmhooks.viewer.source import SqliteSource

    path = tmp_path / "live.db"
    source = SqliteSource(path)
    assert source.poll() == []
    recorder = EventRecorder(path)
    with llm_run(provider="openai", model="gpt-4o", messages=[], callbacks=recorder) as run:
        assert [e.type for e in source.poll()] == ["llm.start"]
        run.finish(input_tokens=1, output_tokens=1)
    assert [e.type for e in source.poll()] == ["llm.end"] and source.poll() == []
    assert source.count() == 2
    recorder.close()
