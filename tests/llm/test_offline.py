"""The offline provider: deterministic answers, word tokens, tool calls from prompts."""

from __future__ import annotations

from typing import Any

import pytest

from llmhooks.llm import LLM, ChatResponse
from llmhooks.llm.offline import GREETING, OfflineProvider, split_words
from llmhooks.llm.providers.base import ChatRequest

ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two numbers",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
}
WEATHER = {
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
}
SEARCH = {
    "name": "search",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "default": 5}},
    },
}


def ask(prompt: str, **kwargs: Any) -> ChatResponse:
    return LLM(provider="offline").chat(prompt, **kwargs)


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("What is 2+2?", "4"),
        ("what is 12 * (3 + 4)?", "84"),
        ("What is 7 divided by 2?", "3.5"),
        ("2 to the power of 10", "1024"),
    ],
)
def test_simple_arithmetic_is_answered(prompt: str, answer: str) -> None:
    """Arithmetic in a prompt gets its value as the whole answer."""
    assert ask(prompt).text == answer


def test_greeting_story_and_echo() -> None:
    """Greetings are answered, a story is told when asked, anything else is echoed."""
    assert ask("Hello there").text == GREETING
    assert "Once upon a time" in ask("Tell me a story").text
    assert ask("Translate   this sentence").text == "You said: Translate this sentence"


def test_same_request_same_answer() -> None:
    """The offline model is deterministic: equal requests, equal answers and ids."""
    first = ask("add 2 and 3", tools=[ADD])
    second = ask("add 2 and 3", tools=[ADD])
    assert first.tool_calls == second.tool_calls
    assert first.usage == second.usage


def test_usage_counts_words_exactly() -> None:
    """Input counts the words of every message, output the words of the answer; not estimated."""
    resp = LLM(provider="offline").chat(
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Hello there friend"}]
    )
    assert resp.usage.input_tokens == 5
    assert resp.usage.output_tokens == len(resp.text.split())
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    assert resp.usage.estimated is False
    assert resp.finish_reason == "stop"


def test_max_tokens_cuts_the_answer() -> None:
    """``max_tokens`` keeps that many words and reports finish reason "length"."""
    resp = ask("one two three four five", max_tokens=3)
    assert resp.text == "You said: one"
    assert resp.usage.output_tokens == 3
    assert resp.finish_reason == "length"


def test_stream_is_word_by_word_and_joins_to_the_answer() -> None:
    """Streamed deltas are the answer's words with their leading spaces."""
    llm = LLM(provider="offline")
    deltas = list(llm.stream("Tell me a story"))
    assert "".join(deltas) == llm.chat("Tell me a story").text
    assert len(deltas) == len(llm.chat("Tell me a story").text.split())
    assert split_words("a  b c") == ["a", "  b", " c"]


def test_named_tool_is_called_with_numbers_from_the_prompt() -> None:
    """A prompt naming an available tool gets a tool call, numbers filling number parameters."""
    resp = ask("Use add to compute 2 and 3", tools=[ADD])
    assert resp.text == ""
    assert resp.finish_reason == "tool_calls"
    [call] = resp.tool_calls
    assert (call.name, call.arguments) == ("add", {"a": 2, "b": 3})
    assert call.id == "call_1_0"


def test_tool_named_with_spaces_and_string_arguments() -> None:
    """``get weather`` names ``get_weather``; enum values and the phrase after a preposition fill strings."""
    resp = ask("What is the weather in Paris? use get weather in celsius", tools=[WEATHER])
    assert resp.tool_calls[0].arguments == {"city": "Paris", "unit": "celsius"}
    explicit = ask('get_weather city="New York"', tools=[WEATHER])
    assert explicit.tool_calls[0].arguments == {"city": "New York"}
    quoted = ask('search for "llm hooks"', tools=[SEARCH])
    assert quoted.tool_calls[0].arguments == {"query": "llm hooks", "limit": 5}


def test_optional_parameters_are_filled_by_their_type() -> None:
    """``int | None`` parameters (a type list with null, or anyOf) are filled like plain ones."""
    scale = {
        "name": "scale",
        "parameters": {
            "type": "object",
            "properties": {
                "value": {"type": "number"},
                "factor": {"type": ["integer", "null"], "default": None},
                "unit": {"enum": ["C", "F", None], "type": ["string", "null"], "default": None},
                "label": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
        },
    }
    resp = ask('Use scale on 2.5 with factor 3 in F label="x"', tools=[scale])
    assert resp.tool_calls[0].arguments == {"value": 2.5, "factor": 3, "unit": "F", "label": "x"}
    bare = ask("Use scale on 2", tools=[scale]).tool_calls[0].arguments
    assert (bare["value"], bare["factor"], bare["unit"]) == (2, None, None)


def test_several_named_tools_are_called_in_order() -> None:
    """Each tool named gets a call, its arguments taken from the words after its name."""
    resp = ask("add 1.5 and 2, then get_weather for Rome", tools=[ADD, WEATHER])
    assert [(c.name, c.arguments) for c in resp.tool_calls] == [
        ("add", {"a": 1.5, "b": 2}),
        ("get_weather", {"city": "Rome"}),
    ]
    assert [c.id for c in resp.tool_calls] == ["call_1_0", "call_1_1"]


def test_tool_choice_forces_or_prevents_calls() -> None:
    """``required`` forces a call, a named choice picks the tool, ``none`` prevents any."""
    assert ask("hi", tools=[ADD], tool_choice="required").tool_calls[0].name == "add"
    named = {"type": "function", "function": {"name": "search"}}
    assert ask("look up 'cats'", tools=[ADD, SEARCH], tool_choice=named).tool_calls[0].arguments == {
        "query": "cats",
        "limit": 5,
    }
    assert ask("add 2 and 3", tools=[ADD], tool_choice="none").tool_calls == []


def test_unnamed_tool_is_not_called() -> None:
    """Tools the prompt does not name are left alone."""
    resp = ask("What is 2+2?", tools=[WEATHER])
    assert resp.tool_calls == [] and resp.text == "4"


def test_tool_result_is_reported_in_the_final_answer() -> None:
    """After a tool result message, the answer uses the result (OpenAI message shapes)."""
    llm = LLM(provider="offline")
    messages: list[Any] = [{"role": "user", "content": "Please add 2 and 2"}]
    first = llm.chat(messages, tools=[ADD])
    [call] = first.tool_calls
    messages += [first.to_message(), call.result_message(call.arguments["a"] + call.arguments["b"])]
    final = llm.chat(messages, tools=[ADD])
    assert final.text == "The result of add is 4."
    assert final.finish_reason == "stop" and final.tool_calls == []


def test_several_tool_results_are_reported_together() -> None:
    """Consecutive tool results are all reported."""
    provider = OfflineProvider()
    request = ChatRequest(
        model="m",
        messages=[
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}},
                    {"id": "c2", "type": "function", "function": {"name": "mul", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "3"},
            {"role": "tool", "tool_call_id": "c2", "content": "6"},
        ],
    )
    assert provider.answer(request).text == "Results: add: 3; mul: 6."


def test_negative_token_delay_is_refused() -> None:
    """``token_delay`` must not be negative."""
    with pytest.raises(ValueError, match="token_delay"):
        OfflineProvider(token_delay=-1)


async def test_async_stream_with_token_delay() -> None:
    """The async stream paces words with ``token_delay`` and yields the same words."""
    llm = LLM(provider="offline", token_delay=0.001)
    deltas = [d async for d in llm.stream("hello")]
    assert "".join(deltas) == GREETING
