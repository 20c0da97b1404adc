"""Drive the official openai and anthropic SDKs against the fake LLM wire server."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageParam
from tests._raised import araised, raised

from .llm_wire import LLMWireServer, Reply, ToolCall

CHAT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi there"}]
CLAUDE: list[MessageParam] = [{"role": "user", "content": "hi there"}]


def oa(srv: LLMWireServer, retries: int = 0) -> openai.OpenAI:
    """A sync OpenAI client pointed at the server."""
    return openai.OpenAI(base_url=srv.openai_base_url, api_key="test", max_retries=retries)


def aoa(srv: LLMWireServer, retries: int = 0) -> openai.AsyncOpenAI:
    """An async OpenAI client pointed at the server."""
    return openai.AsyncOpenAI(base_url=srv.openai_base_url, api_key="test", max_retries=retries)


def an(srv: LLMWireServer, retries: int = 0) -> anthropic.Anthropic:
    """A sync Anthropic client pointed at the server."""
    return anthropic.Anthropic(base_url=srv.base_url, api_key="test", max_retries=retries)


def aan(srv: LLMWireServer, retries: int = 0) -> anthropic.AsyncAnthropic:
    """An async Anthropic client pointed at the server."""
    return anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="test", max_retries=retries)


# -- OpenAI Chat Completions -----------------------------------------------------------------


def test_chat_non_stream(llm_server: LLMWireServer) -> None:
    """Non-stream chat: text, finish reason and the scripted usage numbers; request recorded."""
    llm_server.reply("Hello world", input_tokens=12, output_tokens=3, cached_tokens=2, reasoning_tokens=1)
    with oa(llm_server) as client:
        result = client.chat.completions.create(model="gpt-test", messages=CHAT)
    assert result.choices[0].message.content == "Hello world"
    assert result.choices[0].finish_reason == "stop"
    assert result.model == "gpt-test"
    usage = result.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (12, 3, 15)
    assert usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens == 2
    assert usage.completion_tokens_details and usage.completion_tokens_details.reasoning_tokens == 1
    request = llm_server.last_request
    assert request.path == "/v1/chat/completions"
    assert request.json["messages"] == CHAT
    assert request.headers["authorization"] == "Bearer test"


def test_default_reply_echoes_last_user_message(llm_server: LLMWireServer) -> None:
    """With nothing queued the answer echoes the last user message."""
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "x"},
        *CHAT,
    ]
    with oa(llm_server) as client:
        result = client.chat.completions.create(model="m", messages=messages)
    assert result.choices[0].message.content == "hi there"
    assert llm_server.pending == 0


def test_chat_stream_with_include_usage(llm_server: LLMWireServer) -> None:
    """Role chunk first, word deltas, finish chunk, then a usage chunk with empty choices."""
    llm_server.reply("Hello big world", input_tokens=7, output_tokens=4, cached_tokens=3, reasoning_tokens=2)
    with oa(llm_server) as client:
        chunks = list(
            client.chat.completions.create(
                model="m", messages=CHAT, stream=True, stream_options={"include_usage": True}
            )
        )
    first, *middle, finish, last = chunks
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    assert [c.choices[0].delta.content for c in middle] == ["Hello", " big", " world"]
    assert finish.choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (7, 4, 11)
    assert last.usage.prompt_tokens_details and last.usage.prompt_tokens_details.cached_tokens == 3
    assert last.usage.completion_tokens_details and last.usage.completion_tokens_details.reasoning_tokens == 2


def test_chat_stream_without_include_usage_has_no_usage_chunk(llm_server: LLMWireServer) -> None:
    """Without ``include_usage`` no chunk carries usage."""
    llm_server.reply("a b", finish_reason="length")
    with oa(llm_server) as client:
        chunks = list(client.chat.completions.create(model="m", messages=CHAT, stream=True))
    assert all(c.choices and c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "length"


def test_chat_stream_async(llm_server: LLMWireServer) -> None:
    """The async client streams the same chunks."""
    llm_server.reply("one two three", input_tokens=5, output_tokens=3)

    async def scenario() -> tuple[list[str], Any]:
        async with aoa(llm_server) as client:
            stream = await client.chat.completions.create(
                model="m", messages=CHAT, stream=True, stream_options={"include_usage": True}
            )
            chunks = [chunk async for chunk in stream]
        return [c.choices[0].delta.content or "" for c in chunks if c.choices], chunks[-1].usage

    pieces, usage = asyncio.run(scenario())
    assert "".join(pieces) == "one two three" and len([p for p in pieces if p]) == 3
    assert (usage.prompt_tokens, usage.completion_tokens) == (5, 3)


def test_chat_stream_arrives_incrementally(llm_server: LLMWireServer) -> None:
    """Chunks reach the SDK as they are written, not at the end."""
    llm_server.reply("a b c d", chunk_delay=0.1)
    with oa(llm_server) as client:
        start = time.monotonic()
        stream = client.chat.completions.create(model="m", messages=CHAT, stream=True)
        next(iter(stream))
        first = time.monotonic() - start
        list(stream)
        total = time.monotonic() - start
    assert total >= 0.5 and first < total - 0.3


def test_chat_tool_call_non_stream(llm_server: LLMWireServer) -> None:
    """A tool call in ``message.tool_calls`` with ``finish_reason='tool_calls'``."""
    llm_server.reply_tool_call(
        "get_weather", {"city": "Paris"}, call_id="call_1", input_tokens=20, output_tokens=9
    )
    with oa(llm_server) as client:
        result = client.chat.completions.create(model="m", messages=CHAT)
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.id == "call_1" and call.type == "function"
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    assert result.usage and result.usage.completion_tokens == 9


def test_chat_tool_calls_streamed(llm_server: LLMWireServer) -> None:
    """Streamed tool-call fragments (id and name first, then argument pieces) per index."""
    calls = [
        ToolCall("get_weather", {"city": "Paris"}, "call_a"),
        ToolCall("get_time", {"tz": "Europe/Paris"}, "call_b"),
    ]
    llm_server.reply(tool_calls=calls)
    with oa(llm_server) as client:
        chunks = list(client.chat.completions.create(model="m", messages=CHAT, stream=True))
    ids: dict[int, str] = {}
    names: dict[int, str] = {}
    args: dict[int, str] = {}
    fragments = 0
    for chunk in chunks:
        for part in chunk.choices[0].delta.tool_calls or []:
            fragments += 1
            if part.id:
                ids[part.index] = part.id
            if part.function and part.function.name:
                names[part.index] = part.function.name
            if part.function and part.function.arguments:
                args[part.index] = args.get(part.index, "") + part.function.arguments
    assert ids == {0: "call_a", 1: "call_b"} and names == {0: "get_weather", 1: "get_time"}
    assert {i: json.loads(a) for i, a in args.items()} == {0: {"city": "Paris"}, 1: {"tz": "Europe/Paris"}}
    assert fragments > 4
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


# -- OpenAI Responses ------------------------------------------------------------------------


def test_responses_non_stream(llm_server: LLMWireServer) -> None:
    """Responses API: ``output_text`` and usage with cached and reasoning details."""
    llm_server.reply(
        "Hi from responses", input_tokens=30, output_tokens=6, cached_tokens=10, reasoning_tokens=4
    )
    with oa(llm_server) as client:
        response = client.responses.create(model="gpt-r", input="hello")
    assert response.output_text == "Hi from responses" and response.status == "completed"
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (30, 6, 36)
    assert (
        usage.input_tokens_details.cached_tokens == 10 and usage.output_tokens_details.reasoning_tokens == 4
    )
    assert llm_server.last_request.path == "/v1/responses"


def test_responses_stream(llm_server: LLMWireServer) -> None:
    """Typed events from ``response.created`` to ``response.completed``, numbered in order."""
    llm_server.reply("Streaming is fun", input_tokens=8, output_tokens=3, cached_tokens=1, reasoning_tokens=2)
    with oa(llm_server) as client:
        events = list(client.responses.create(model="gpt-r", input="hello", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == ["Streaming", " is", " fun"]
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "Streaming is fun"
    usage = completed.response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (8, 3, 11)
    assert usage.input_tokens_details.cached_tokens == 1 and usage.output_tokens_details.reasoning_tokens == 2


def test_responses_stream_helper_sync_and_async(llm_server: LLMWireServer) -> None:
    """``client.responses.stream(...)`` accepts the event sequence and builds the final response."""
    llm_server.reply("helper text", output_tokens=2, times=2)
    with oa(llm_server) as client, client.responses.stream(model="gpt-r", input="x") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "helper text" and final.output_text == "helper text"

    async def scenario() -> str:
        async with aoa(llm_server) as aclient, aclient.responses.stream(model="gpt-r", input="x") as astream:
            async for _ in astream:
                pass
            response = await astream.get_final_response()
        assert response.usage and response.usage.output_tokens == 2
        return response.output_text

    assert asyncio.run(scenario()) == "helper text"


def test_responses_tool_call_non_stream_and_stream(llm_server: LLMWireServer) -> None:
    """A ``function_call`` output item, and its streamed argument deltas."""
    llm_server.reply_tool_call("get_weather", {"city": "Paris"}, call_id="call_9", times=2)
    with oa(llm_server) as client:
        response = client.responses.create(model="gpt-r", input="weather?")
        events = list(client.responses.create(model="gpt-r", input="weather?", stream=True))
    (item,) = response.output
    assert item.type == "function_call" and item.call_id == "call_9" and item.name == "get_weather"
    assert json.loads(item.arguments) == {"city": "Paris"}
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.type == "function_call" and added.item.name == "get_weather"
    pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(pieces) > 1 and json.loads("".join(pieces)) == {"city": "Paris"}
    assert events[-1].type == "response.completed"


# -- Anthropic Messages ----------------------------------------------------------------------


def test_anthropic_non_stream(llm_server: LLMWireServer) -> None:
    """Messages: text block, stop reason, usage with cache fields; key sent as Bearer."""
    llm_server.reply("Bonjour", input_tokens=40, output_tokens=2, cached_tokens=5, cache_creation_tokens=3)
    with an(llm_server) as client:
        message = client.messages.create(model="claude-test", max_tokens=50, messages=CLAUDE)
    assert message.content[0].type == "text" and message.content[0].text == "Bonjour"
    assert message.stop_reason == "end_turn" and message.model == "claude-test"
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (40, 2)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (5, 3)
    request = llm_server.last_request
    assert request.path == "/v1/messages" and request.headers["authorization"] == "Bearer test"


def test_anthropic_stream_true(llm_server: LLMWireServer) -> None:
    """``stream=True`` raw events: message_start usage, text deltas, message_delta totals."""
    llm_server.reply("Salut tout le monde", input_tokens=11, output_tokens=4, cached_tokens=6)
    with an(llm_server) as client:
        events = list(client.messages.create(model="c", max_tokens=9, messages=CLAUDE, stream=True))
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    assert "ping" not in types  # the SDK drops the server's ping event
    start = events[0]
    assert start.type == "message_start"
    assert (start.message.usage.input_tokens, start.message.usage.output_tokens) == (11, 1)
    assert start.message.usage.cache_read_input_tokens == 6
    texts = [e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"]
    assert texts == ["Salut", " tout", " le", " monde"]
    delta = events[-2]
    assert delta.type == "message_delta" and delta.usage.output_tokens == 4
    assert delta.delta.stop_reason == "end_turn"


def test_anthropic_stream_sends_ping_on_the_wire(llm_server: LLMWireServer) -> None:
    """The server sends ``ping`` even though the SDK hides it."""
    with an(llm_server) as client:
        raw = client.messages.with_raw_response.create(model="c", max_tokens=9, messages=CLAUDE, stream=True)
        body = raw.http_response.read().decode()
    assert "event: ping\n" in body and body.startswith("event: message_start\n")


def test_anthropic_messages_stream_helper(llm_server: LLMWireServer) -> None:
    """``client.messages.stream(...)``: text stream and final usage (totals, not sums)."""
    llm_server.reply("streamed by helper", input_tokens=9, output_tokens=3, times=2)
    with an(llm_server) as client, client.messages.stream(model="c", max_tokens=9, messages=CLAUDE) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "streamed by helper"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (9, 3)  # not 1 + 3

    async def scenario() -> tuple[str, int]:
        async with (
            aan(llm_server) as client,
            client.messages.stream(model="c", max_tokens=9, messages=CLAUDE) as s,
        ):
            pieces = [piece async for piece in s.text_stream]
            message = await s.get_final_message()
        return "".join(pieces), message.usage.output_tokens

    assert asyncio.run(scenario()) == ("streamed by helper", 3)


def test_anthropic_tool_use_non_stream_and_streamed(llm_server: LLMWireServer) -> None:
    """tool_use blocks, non-stream and rebuilt from ``input_json_delta`` pieces."""
    llm_server.reply_tool_call("get_weather", {"city": "Paris"}, call_id="toolu_1", text="Checking", times=2)
    with an(llm_server) as client:
        message = client.messages.create(model="c", max_tokens=9, messages=CLAUDE)
        with client.messages.stream(model="c", max_tokens=9, messages=CLAUDE) as stream:
            events = list(stream)
            final = stream.get_final_message()
    for result in (message, final):
        assert result.stop_reason == "tool_use"
        text_block, tool_block = result.content
        assert text_block.type == "text" and text_block.text == "Checking"
        assert (
            tool_block.type == "tool_use" and tool_block.id == "toolu_1" and tool_block.name == "get_weather"
        )
        assert tool_block.input == {"city": "Paris"}
    json_deltas = [
        e for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert len(json_deltas) > 1 and all(e.index == 1 for e in json_deltas)


# -- Errors ----------------------------------------------------------------------------------

ERRORS = [
    (429, openai.RateLimitError, anthropic.RateLimitError),
    (500, openai.InternalServerError, anthropic.InternalServerError),
    (529, openai.InternalServerError, anthropic.OverloadedError),
]


@pytest.mark.parametrize(("status", "openai_error", "anthropic_error"), ERRORS)
def test_http_errors_raise_sdk_classes(
    llm_server: LLMWireServer, status: int, openai_error: type[Exception], anthropic_error: type[Exception]
) -> None:
    """Each API's error body makes its SDK raise the status's class, for plain and streamed calls."""
    llm_server.fail(status, message="scripted failure", retry_after=0.01, times=6)
    with oa(llm_server) as oclient, pytest.raises(openai_error) as oinfo:
        oclient.chat.completions.create(model="m", messages=CHAT)
    with an(llm_server) as aclient, pytest.raises(anthropic_error) as ainfo:
        aclient.messages.create(model="c", max_tokens=9, messages=CLAUDE)
    with oa(llm_server) as oclient, pytest.raises(openai_error):
        oclient.chat.completions.create(model="m", messages=CHAT, stream=True)
    with (
        an(llm_server) as aclient,
        pytest.raises(anthropic_error),
        aclient.messages.stream(model="c", max_tokens=9, messages=CLAUDE),
    ):
        pass

    async def scenario() -> None:
        async with aoa(llm_server) as client:
            with pytest.raises(openai_error):
                await client.responses.create(model="m", input="x")
        async with aan(llm_server) as aclient:
            with pytest.raises(anthropic_error):
                await aclient.messages.create(model="c", max_tokens=9, messages=CLAUDE)

    asyncio.run(scenario())
    assert isinstance(oinfo.value, openai.APIStatusError) and oinfo.value.status_code == status
    assert oinfo.value.message.endswith("scripted failure")
    assert isinstance(oinfo.value.body, dict) and oinfo.value.body["message"] == "scripted failure"
    assert isinstance(ainfo.value, anthropic.APIStatusError) and ainfo.value.status_code == status
    assert "scripted failure" in ainfo.value.message
    assert llm_server.requests[0].headers["x-stainless-retry-count"] == "0" and len(llm_server.requests) == 6


def test_retries_honour_retry_after_then_succeed(llm_server: LLMWireServer) -> None:
    """With retries on, two 429s then an answer succeed quickly (retry-after-ms honoured)."""
    llm_server.fail(429, retry_after_ms=5, times=2)
    llm_server.reply("finally")
    start = time.monotonic()
    with oa(llm_server, retries=2) as client:
        result = client.chat.completions.create(model="m", messages=CHAT)
    assert result.choices[0].message.content == "finally" and time.monotonic() - start < 2
    assert [r.headers["x-stainless-retry-count"] for r in llm_server.requests] == ["0", "1", "2"]


def test_malformed_json_raises_json_decode_error(llm_server: LLMWireServer) -> None:
    """A 200 with broken JSON makes both SDKs raise ``json.JSONDecodeError``."""
    llm_server.malformed_json(times=3)
    with oa(llm_server) as oclient, pytest.raises(json.JSONDecodeError):
        oclient.chat.completions.create(model="m", messages=CHAT)
    with an(llm_server) as aclient, pytest.raises(json.JSONDecodeError):
        aclient.messages.create(model="c", max_tokens=9, messages=CLAUDE)
    with oa(llm_server) as oclient, pytest.raises(json.JSONDecodeError):
        list(oclient.chat.completions.create(model="m", messages=CHAT, stream=True))


def test_cut_stream_raises(llm_server: LLMWireServer) -> None:
    """A stream cut mid-way: both SDKs get the chunks sent so far, then an error (whatever its class)."""
    llm_server.cut_stream(after_chunks=2, reply=Reply("a b c d e f"), times=2)
    received: list[object] = []
    with oa(llm_server) as oclient:
        raised(
            lambda: received.extend(oclient.chat.completions.create(model="m", messages=CHAT, stream=True))
        )
    assert len(received) == 2
    events: list[Any] = []
    with an(llm_server) as aclient:
        raised(
            lambda: events.extend(
                aclient.messages.create(model="c", max_tokens=9, messages=CLAUDE, stream=True)
            )
        )
    assert [e.type for e in events] == ["message_start", "content_block_start"]


def test_cut_stream_async_and_non_stream(llm_server: LLMWireServer) -> None:
    """Cut streams with async clients, and a cut non-stream body: each call raises."""
    llm_server.cut_stream(after_chunks=3, times=4)

    async def scenario() -> None:
        async with aoa(llm_server) as client:

            async def read_responses() -> None:
                async for _ in await client.responses.create(model="m", input="x", stream=True):
                    pass

            await araised(read_responses)
        async with aan(llm_server) as aclient:

            async def read_messages() -> None:
                async with aclient.messages.stream(model="c", max_tokens=9, messages=CLAUDE) as stream:
                    async for _ in stream:
                        pass

            await araised(read_messages)

    asyncio.run(scenario())
    with oa(llm_server) as oclient:
        raised(lambda: oclient.chat.completions.create(model="m", messages=CHAT))
    with an(llm_server) as aclient:
        raised(lambda: aclient.messages.create(model="c", max_tokens=9, messages=CLAUDE))


def test_in_stream_errors(llm_server: LLMWireServer) -> None:
    """In-stream error events: chat raises APIError, Responses yields an error event, Anthropic raises."""
    llm_server.stream_error(after_chunks=2, message="boom", times=3)
    with oa(llm_server) as oclient:
        with pytest.raises(openai.APIError, match="boom"):
            list(oclient.chat.completions.create(model="m", messages=CHAT, stream=True))
        events = list(oclient.responses.create(model="m", input="x", stream=True))
    assert events[-1].type == "error" and events[-1].message == "boom"
    with an(llm_server) as aclient, pytest.raises(anthropic.APIStatusError, match="boom") as info:
        list(aclient.messages.create(model="c", max_tokens=9, messages=CLAUDE, stream=True))
    assert info.value.status_code == 200


# -- Scripting -------------------------------------------------------------------------------


def test_match_routes_concurrent_requests(llm_server: LLMWireServer) -> None:
    """Keyed answers go to the request naming them, whatever the arrival order; others echo."""
    llm_server.reply("for alpha", match="[alpha]", output_tokens=1)
    llm_server.fail(429, match="[beta]")

    async def ask(client: openai.AsyncOpenAI, text: str) -> str:
        try:
            result = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": text}]
            )
        except openai.RateLimitError:
            return "rate limited"
        return result.choices[0].message.content or ""

    async def scenario() -> list[str]:
        async with aoa(llm_server) as client:
            return list(await asyncio.gather(*(ask(client, t) for t in ("x [beta]", "other", "y [alpha]"))))

    assert asyncio.run(scenario()) == ["rate limited", "other", "for alpha"]
    assert llm_server.pending == 0 and len(llm_server.requests) == 3


def test_queue_order_times_and_reset(llm_server: LLMWireServer) -> None:
    """Unkeyed answers are served first in, first out; ``times`` repeats one; ``reset`` forgets all."""
    llm_server.reply("first", times=2)
    llm_server.reply("second", match="never")
    llm_server.reply("third")
    with oa(llm_server) as client:
        answers = [
            client.chat.completions.create(model="m", messages=CHAT).choices[0].message.content
            for _ in range(4)
        ]
    assert answers == ["first", "first", "third", "hi there"]
    assert llm_server.pending == 1
    llm_server.reset()
    assert llm_server.requests == [] and llm_server.pending == 0
