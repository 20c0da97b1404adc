"""Every filter (trace, run, type, model, tool, errors, text) on recordings made by real producers."""

from __future__ import annotations

import pytest

from llmhooks.viewer import Recording, RunFilter, load

from .conftest import Made


def names(recording: Recording, keep: RunFilter) -> dict[str, list[str]]:
    """Trace name -> names of the runs drawn, depth first."""
    out = {}
    for trace in keep.traces(recording):
        shown = keep.shown(trace)
        out[trace.name] = [r.name for r, _ in trace.walk() if r.run_id in shown]
    return out


def test_no_filter_shows_everything(agent_rec: Made) -> None:
    """The default filter lists every trace and draws every run."""
    recording = load(agent_rec.jsonl)
    keep = RunFilter()
    assert keep.traces(recording) == recording.traces
    for trace in recording.traces:
        assert keep.shown(trace) == {r.run_id for r in trace.runs}


def test_type_keeps_runs_of_that_kind_with_their_ancestors(agent_rec: Made, graph_rec: Made) -> None:
    """--type tool: traces with tool calls, drawn as their tool runs under the runs that made them."""
    got = names(load(agent_rec.jsonl), RunFilter(types=("tool",)))
    assert got == {
        "agent helper": [
            "agent helper",
            "tool demo-tools.lookup_capital",
            "tool demo-tools.unit_convert",
            "tool add",
            "tool explode",
        ],
        "agent keyed": ["agent keyed", "tool lookup_key"],
    }
    graph = names(load(graph_rec.jsonl), RunFilter(types=("node",)))
    assert graph == {"chain LangGraph": ["chain LangGraph", "node agent", "node tools"]}
    several = names(load(graph_rec.jsonl), RunFilter(types=("llm", "tool")))
    assert several["chain LangGraph"] == [
        "chain LangGraph",
        "node agent",
        "llm genericfakechatmodel/GenericFakeChatModel",
        "node tools",
        "tool plus",
        "tool divide",
    ]


def test_model_matches_substrings_and_patterns(sdk_rec: Made) -> None:
    """--model: a case-insensitive substring, or a shell pattern on the whole name."""
    recording = load(sdk_rec.jsonl)
    assert list(names(recording, RunFilter(model="HAIKU"))) == ["llm anthropic/claude-haiku-4"]
    assert list(names(recording, RunFilter(model="gpt-4o*"))) == [
        "agent sdk-caller",
        "llm openai/gpt-4o-mini",
    ]
    assert names(recording, RunFilter(model="4o-m"))["agent sdk-caller"] == [
        "agent sdk-caller",
        "llm openai/gpt-4o-mini",
        "llm openai/gpt-4o-mini",
    ]
    assert names(recording, RunFilter(model="gpt-4o")) == names(recording, RunFilter(model="gpt-4o*"))
    assert names(recording, RunFilter(model="claude")) == names(recording, RunFilter(model="claude-haiku-?"))
    assert names(recording, RunFilter(model="gpt-5*")) == {}


def test_tool_matches_name_or_server_and_name(agent_rec: Made) -> None:
    """--tool: the tool's own name, or ``server.name`` for MCP tools."""
    recording = load(agent_rec.jsonl)
    assert names(recording, RunFilter(tool="lookup_capital")) == {
        "agent helper": ["agent helper", "tool demo-tools.lookup_capital"]
    }
    mcp = names(recording, RunFilter(tool="demo-tools.*"))
    assert mcp == {
        "agent helper": ["agent helper", "tool demo-tools.lookup_capital", "tool demo-tools.unit_convert"]
    }
    assert list(names(recording, RunFilter(tool="LOOKUP"))) == ["agent helper", "agent keyed"]


def test_errors_keeps_failed_runs(agent_rec: Made, graph_rec: Made, sdk_rec: Made) -> None:
    """--errors: failed tool calls (local, MCP, LangChain) and failed LLM calls, with their ancestors."""
    assert names(load(agent_rec.jsonl), RunFilter(errors=True)) == {
        "agent helper": ["agent helper", "tool demo-tools.lookup_capital", "tool explode"]
    }
    assert names(load(graph_rec.jsonl), RunFilter(errors=True)) == {
        "chain LangGraph": ["chain LangGraph", "node tools", "tool divide"]
    }
    assert names(load(sdk_rec.jsonl), RunFilter(errors=True)) == {
        "llm openai/gpt-4o-mini": ["llm openai/gpt-4o-mini"]
    }


def test_text_searches_names_inputs_outputs_and_errors(agent_rec: Made, sdk_rec: Made) -> None:
    """--text: case-insensitive, in tool arguments, results, LLM messages and error messages."""
    recording = load(agent_rec.jsonl)
    by_argument = names(recording, RunFilter(text="atlantis", types=("tool",)))
    assert by_argument == {"agent helper": ["agent helper", "tool demo-tools.lookup_capital"]}
    by_result = names(recording, RunFilter(text="5000 m", types=("tool",)))
    assert by_result == {"agent helper": ["agent helper", "tool demo-tools.unit_convert"]}
    by_error = names(recording, RunFilter(text="EXPLODED: BOOM", types=("tool",)))
    assert by_error == {"agent helper": ["agent helper", "tool explode"]}
    by_message = names(load(sdk_rec.jsonl), RunFilter(text="hello wire", types=("llm",)))
    assert len(by_message) == 3  # every call was asked the same
    assert names(recording, RunFilter(text="no such words anywhere")) == {}


def test_every_criterion_must_hold_for_the_same_run(agent_rec: Made) -> None:
    """--type tool --errors --text Atlantis: only the failed MCP call, not any tool or any error."""
    recording = load(agent_rec.jsonl)
    keep = RunFilter(types=("tool",), errors=True, text="atlantis")
    assert names(recording, keep) == {"agent helper": ["agent helper", "tool demo-tools.lookup_capital"]}
    assert names(recording, RunFilter(types=("llm",), errors=True)) == {}


def test_trace_and_run_choose_where_to_look(agent_rec: Made) -> None:
    """--trace picks a trace by id prefix; --run the subtree of one run, filters applying inside it."""
    recording = load(agent_rec.jsonl)
    helper = recording.traces[1]
    assert RunFilter(trace=helper.trace_id[:6]).traces(recording) == [helper]
    explode = helper.root.children[4]
    keep = RunFilter(run=explode.run_id[:8])
    assert keep.traces(recording) == [helper] and keep.shown(helper) == {explode.run_id}
    inside = RunFilter(run=helper.root.run_id, types=("llm",))
    assert [r.name for r, _ in helper.walk() if r.run_id in inside.shown(helper)] == [
        "agent helper",
        "llm offline/offline-1",
        "llm offline/offline-1",
    ]
    assert RunFilter(trace="ffffffffffff").traces(recording) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"types": ("tools",)}, "types must be one of 'llm', 'tool'"),
        ({"model": "  "}, "model must be a non-empty string"),
        ({"text": ""}, "text must be a non-empty string"),
        ({"trace": ""}, "trace must be a non-empty id"),
    ],
)
def test_bad_filters_fail_at_construction(kwargs: dict[str, object], message: str) -> None:
    """A wrong run kind or an empty criterion is refused when the filter is made, naming it."""
    with pytest.raises(ValueError, match=message):
        RunFilter(**kwargs)  # type: ignore[arg-type]
