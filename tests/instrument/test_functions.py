"""``instrument_tool`` and ``instrument_node`` on any function."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from llmhooks import (
    GraphNodeEndEvent,
    GraphNodeStartEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
    current_run,
)
from llmhooks.instrument import instrument_llm, instrument_node, instrument_tool
from llmhooks.testing import RecordingCallbacks


def test_tool_arguments_by_name_and_result(rec: RecordingCallbacks) -> None:
    """A tool run carries the arguments by parameter name and the return value."""

    @instrument_tool
    def search(query: str, limit: int = 5, *extra: str, **options: Any) -> list[str]:
        return [query] * limit

    assert search("cats", 2, "x", lang="en") == ["cats", "cats"]
    rec.assert_types(["tool.start", "tool.end"])
    start, end = rec.events
    assert isinstance(start, ToolStartEvent) and isinstance(end, ToolEndEvent)
    assert start.tool_name == "search"
    assert start.arguments == {"query": "cats", "limit": 2, "args": ("x",), "lang": "en"}
    assert end.result == ["cats", "cats"] and end.success


async def test_async_tool_with_name_and_error(rec: RecordingCallbacks) -> None:
    """An async tool named by the decorator; a raise gives tool.error and propagates."""

    @instrument_tool(name="weather")
    async def get_weather(city: str) -> str:
        await asyncio.sleep(0)
        raise LookupError(f"no city {city}")

    with pytest.raises(LookupError):
        await get_weather("Atlantis")
    rec.assert_types(["tool.start", "tool.error"])
    err = rec.events[1]
    assert isinstance(err, ToolErrorEvent) and err.tool_name == "weather" and err.error_type == "LookupError"


def test_tool_method_leaves_self_out(rec: RecordingCallbacks) -> None:
    """On a method, ``self`` is not among the arguments."""

    class Tools:
        @instrument_tool
        def add(self, a: int, b: int) -> int:
            return a + b

    assert Tools().add(1, b=2) == 3
    assert rec.events[0].arguments == {"a": 1, "b": 2}  # type: ignore[attr-defined]


def test_generator_tool_result_is_the_items(rec: RecordingCallbacks) -> None:
    """A generator tool's end event carries the items; stopped early, the items so far."""

    @instrument_tool
    def count(n: int) -> Iterator[int]:
        yield from range(n)

    assert list(count(3)) == [0, 1, 2]
    assert rec.events[-1].result == [0, 1, 2]  # type: ignore[attr-defined]
    rec.clear()
    for _ in count(3):
        break
    rec.assert_types(["tool.start", "tool.end"])
    end = rec.events[-1]
    assert end.result == [0]  # type: ignore[attr-defined]
    if hasattr(end, "incomplete"):
        assert end.incomplete


async def test_async_generator_node_outputs_are_the_items(rec: RecordingCallbacks) -> None:
    """An async generator node ends with the list of items it produced."""

    @instrument_node(node_type="producer")
    async def produce(state: dict[str, Any]) -> AsyncIterator[int]:
        for i in range(state["n"]):
            yield i

    assert [i async for i in produce({"n": 2})] == [0, 1]
    rec.assert_types(["graph.node_start", "graph.node_end"])
    assert rec.events[-1].outputs == [0, 1]  # type: ignore[attr-defined]


def test_node_inputs_outputs_and_nesting(rec: RecordingCallbacks) -> None:
    """A node's one argument is its inputs; a tool called inside is its child."""

    @instrument_tool
    def lookup(key: str) -> str:
        return key.upper()

    @instrument_node(node_id="retrieve", node_type="retriever")
    def retrieve(state: dict[str, Any]) -> dict[str, Any]:
        return {"doc": lookup(state["q"])}

    assert retrieve({"q": "x"}) == {"doc": "X"}
    rec.assert_types(["graph.node_start", "tool.start", "tool.end", "graph.node_end"])
    start = rec.events[0]
    assert isinstance(start, GraphNodeStartEvent)
    assert (start.node_id, start.node_type, start.inputs) == ("retrieve", "retriever", {"q": "x"})
    assert rec.events[1].parent_run_id == start.run_id
    end = rec.events[-1]
    assert isinstance(end, GraphNodeEndEvent) and end.outputs == {"doc": "X"}


def test_nested_tools_of_different_names_are_two_runs(rec: RecordingCallbacks) -> None:
    """A tool calling another tool gives a parent and a child run, not one."""

    @instrument_tool
    def inner() -> int:
        return 1

    @instrument_tool
    def outer() -> int:
        return inner() + 1

    assert outer() == 2
    assert len(rec.runs()) == 2
    rec.assert_terminated()


def test_same_tool_wrapped_twice_through_another_decorator_is_one_run(rec: RecordingCallbacks) -> None:
    """A retry-like wrapper between two instrumented layers of one tool still gives one run."""
    import functools

    @instrument_tool(name="fetch")
    def fetch() -> str:
        return "ok"

    def retrying(fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            return fn(*a, **k)

        return wrapper  # no functools.wraps: the outer layer cannot see ours

    outer = instrument_tool(name="fetch")(retrying(fetch))
    assert outer() == "ok"
    assert len(rec.runs()) == 1
    assert functools  # keeps the import used for readers


def test_llm_call_inside_tool_is_its_child(rec: RecordingCallbacks) -> None:
    """An instrumented LLM call made by a tool is a child of the tool run."""

    @instrument_llm(model="m")
    def summarise(prompt: str) -> str:
        return "short"

    @instrument_tool
    def summarise_tool(text: str) -> str:
        assert current_run() is not None
        return summarise(text)

    summarise_tool("long text")
    tool_start, llm_start = rec.events[0], rec.events[1]
    assert llm_start.type == "llm.start" and llm_start.parent_run_id == tool_start.run_id


def test_a_second_decoration_cannot_silently_drop_its_handlers() -> None:
    """Re-decorating an instrumented function: unchanged without callbacks=, refused with them."""
    from llmhooks import InvalidHandlerError

    @instrument_tool
    def f(x: int) -> int:
        return x

    assert instrument_tool(f) is f
    rec = RecordingCallbacks()
    with pytest.raises(ValueError, match="instrumented already"):
        instrument_tool(callbacks=[rec])(f)
    with pytest.raises(InvalidHandlerError):
        instrument_tool(callbacks=["x"])(f)  # type: ignore[list-item]
