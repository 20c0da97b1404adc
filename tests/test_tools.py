"""Tools: schemas from signatures and docstrings, argument validation, sync and async calls."""

from __future__ import annotations

import asyncio
import enum
from typing import Any, Literal, Optional

import pytest

from llmhooks.tools import Tool, ToolArgumentError, as_tools


class Unit(enum.Enum):
    C = "C"
    F = "F"


def get_weather(
    city: str, unit: Literal["C", "F"] = "C", days: int | None = None, tags: list[str] | None = None
) -> str:
    """Current weather for a city.

    Args:
        city: the city name, e.g. "Paris".
        unit: temperature unit.

    Returns:
        A sentence.
    """
    return f"{city}: 20{unit}"


async def slow_add(a: float, b: float) -> float:
    """Add two numbers, slowly."""
    await asyncio.sleep(0)
    return a + b


def test_schema_comes_from_signature_hints_and_docstring() -> None:
    """Names, JSON types, enums, defaults, required and descriptions are derived."""
    fn = Tool.from_function(get_weather).schema()["function"]
    assert fn["name"] == "get_weather" and fn["description"] == "Current weather for a city."
    props = fn["parameters"]["properties"]
    assert props["city"] == {"type": "string", "description": 'the city name, e.g. "Paris".'}
    assert props["unit"]["enum"] == ["C", "F"] and props["unit"]["default"] == "C"
    assert props["days"] == {"type": ["integer", "null"], "default": None}
    assert props["tags"] == {"type": ["array", "null"], "items": {"type": "string"}, "default": None}
    assert fn["parameters"]["required"] == ["city"]


def test_enum_parameter_lists_its_values() -> None:
    """An Enum annotation becomes a JSON enum of its values."""

    def convert(value: float, unit: Unit) -> float:
        return value

    assert Tool.from_function(convert).parameters["properties"]["unit"] == {"enum": ["C", "F"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "missing required argument(s) city"),
        ({"city": 3}, "argument 'city' must be string, got int 3"),
        ({"city": "Paris", "unit": "K"}, "must be one of ['C', 'F']"),
        ({"city": "Paris", "country": "FR"}, "unknown argument(s) country"),
        ([1, 2], "arguments must be an object"),
    ],
)
def test_bad_arguments_raise_a_clear_error(args: object, message: str) -> None:
    """Validation names the tool, the argument and what was wrong."""
    with pytest.raises(ToolArgumentError) as info:
        Tool.from_function(get_weather).invoke(args)  # type: ignore[arg-type]
    assert message in str(info.value) and "get_weather" in str(info.value)


def test_sync_and_async_tools_are_called_both_ways() -> None:
    """invoke runs async tools to completion; ainvoke awaits them and runs sync ones in a thread."""
    weather, add = as_tools([get_weather, slow_add])
    assert weather.invoke({"city": "Oslo"}) == "Oslo: 20C"
    assert add.is_async and add.invoke({"a": 1, "b": 2}) == 3
    assert asyncio.run(add.ainvoke({"a": 1, "b": 2.5})) == 3.5
    assert asyncio.run(weather.ainvoke({"city": "Rome", "unit": "F"})) == "Rome: 20F"


def test_callable_with_its_own_schema_is_used_as_is() -> None:
    """An object with a parameters schema (an MCP tool) keeps that schema and server name."""

    async def remote(**kwargs: object) -> str:
        return "ok"

    remote.parameters = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}  # type: ignore[attr-defined]
    remote.server_name = "search"  # type: ignore[attr-defined]
    remote.__doc__ = "Search the web."
    tool = Tool.from_function(remote)
    assert tool.server_name == "search" and tool.description == "Search the web."
    assert tool.parameters["required"] == ["q"]
    assert asyncio.run(tool.ainvoke({"q": "x"})) == "ok"


def test_duplicate_tool_names_are_refused() -> None:
    """Two tools with one name would be ambiguous to the model."""
    with pytest.raises(ValueError, match="two tools are named 'get_weather'"):
        as_tools([get_weather, get_weather])
    with pytest.raises(TypeError, match="must be a function"):
        as_tools(["not a tool"])  # type: ignore[list-item]


def scale(value: float, factor: int | None = None, unit: Literal["C", "F"] | None = None) -> str:
    """Scale a value."""
    return f"{value * (factor or 1)}{unit or ''}"


def test_optional_parameters_accept_an_explicit_null() -> None:
    """``b: int | None = None`` accepts ``null`` (models send it for unused options), not other types."""
    tool = Tool.from_function(scale)
    props = tool.parameters["properties"]
    assert props["factor"]["type"] == ["integer", "null"]
    assert props["unit"]["enum"] == ["C", "F", None]
    assert tool.invoke({"value": 2, "factor": None, "unit": None}) == "2"
    assert tool.invoke({"value": 2, "factor": 3, "unit": "C"}) == "6C"
    with pytest.raises(ToolArgumentError, match=r"'factor' must be \['integer', 'null'\], got str"):
        tool.invoke({"value": 2, "factor": "3"})
    with pytest.raises(ToolArgumentError, match="must be string, got NoneType"):
        Tool.from_function(get_weather).invoke({"city": None})  # not optional: null is refused


def pick(a: int | str, b: int | str | None = None, c: Optional[Any] = None) -> str:  # noqa: UP045
    """Pick one."""
    return "ok"


def test_union_and_nested_optional_schemas() -> None:
    """A union lists its options; an optional union adds a null option; Optional[Any] stays open."""
    props = Tool.from_function(pick).parameters["properties"]
    assert props["a"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["b"]["anyOf"] == [{"type": "integer"}, {"type": "string"}, {"type": "null"}]
    assert props["c"] == {"default": None}
    assert Tool.from_function(pick).invoke({"a": 1, "b": None, "c": None}) == "ok"
    with pytest.raises(
        ToolArgumentError, match=r"'b' must be one of the types \['integer', 'string', 'null'"
    ):
        Tool.from_function(pick).invoke({"a": 1, "b": [2]})
