"""Stream spans with the official SDKs against the local wire server: each ends exactly once.

Completed, stopped early (``break`` + ``close()``, leaving ``with``), dropped and collected,
cut off, failed in-band: every path ends the span once and leaves none open. The SDK logs
"Calling end() on an ended span" for a second end, so a clean log proves "not twice".
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra")
pytest.importorskip("openai")
pytest.importorskip("anthropic")

import anthropic
import openai
from opentelemetry.trace import StatusCode
from tests._raised import araised, raised
from tests.handlers.otel_support import Otel
from tests.llm._wire import FastWireServer
from tests.servers.llm_wire import Reply

from llmhooks import chain_run, instrument_anthropic, instrument_openai
from llmhooks.handlers.otel import conventions as C

MSGS: list[Any] = [{"role": "user", "content": "hi there"}]
USAGE = {"stream_options": {"include_usage": True}}


@pytest.fixture
def otel(caplog: pytest.LogCaptureFixture) -> Iterator[Otel]:
    caplog.set_level(logging.WARNING, logger="opentelemetry")
    setup = Otel()
    yield setup
    assert setup.callbacks.open_spans == 0, "a span was left open"
    assert "ended span" not in caplog.text, "a span was ended twice"
    assert "Failed to detach" not in caplog.text
    setup.close()


def oa(server: FastWireServer, otel: Otel) -> Any:
    return instrument_openai(
        openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0), callbacks=otel.callbacks
    )


def aoa(server: FastWireServer, otel: Otel) -> Any:
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    return instrument_openai(client, callbacks=otel.callbacks)


def ant(server: FastWireServer, otel: Otel) -> Any:
    return instrument_anthropic(
        anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0), callbacks=otel.callbacks
    )


def the_span(otel: Otel) -> Any:
    spans = otel.spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def test_a_consumed_stream_is_one_span_with_usage_and_ttfc(wire: FastWireServer, otel: Otel) -> None:
    """The span is open while the stream is read and ends with its usage when it is exhausted."""
    wire.reply("one two three", input_tokens=11, output_tokens=3, cached_tokens=2)
    stream = oa(wire, otel).chat.completions.create(model="gpt-x", messages=MSGS, stream=True, **USAGE)
    next(stream)
    assert otel.spans() == [] and otel.callbacks.open_spans == 1
    list(stream)
    span = the_span(otel)
    attrs = span.attributes or {}
    assert span.name == "chat gpt-x" and attrs[C.REQUEST_STREAM] is True
    assert (attrs[C.USAGE_INPUT_TOKENS], attrs[C.USAGE_OUTPUT_TOKENS]) == (11, 3)
    assert attrs[C.USAGE_CACHE_READ_INPUT_TOKENS] == 2
    assert attrs[C.RESPONSE_FINISH_REASONS] == ("stop",)
    assert 0 < float(attrs[C.RESPONSE_TIME_TO_FIRST_CHUNK]) < float((span.end_time - span.start_time) / 1e9)
    (ttfc,) = otel.points(C.METRIC_TIME_TO_FIRST_CHUNK)
    assert ttfc.count == 1


def test_break_and_close_end_the_span_once_incomplete(wire: FastWireServer, otel: Otel) -> None:
    """``break`` then ``close()`` (twice): one span, marked incomplete, status unset."""
    wire.reply("one two three four")
    stream = oa(wire, otel).chat.completions.create(model="m", messages=MSGS, stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content == " two":
            break
    stream.close()
    stream.close()
    span = the_span(otel)
    assert (span.attributes or {})[C.LLMHOOKS_INCOMPLETE] is True
    assert span.status.status_code is StatusCode.UNSET


def test_leaving_the_with_block_early_ends_the_span(wire: FastWireServer, otel: Otel) -> None:
    """``with stream:`` left after one chunk: the span ends at once."""
    wire.reply("one two three")
    with oa(wire, otel).chat.completions.create(model="m", messages=MSGS, stream=True) as stream:
        next(stream)
    assert (the_span(otel).attributes or {})[C.LLMHOOKS_INCOMPLETE] is True


def test_a_dropped_half_read_stream_ends_its_span_when_collected(wire: FastWireServer, otel: Otel) -> None:
    """No ``close()``: dropping the last reference ends the span (incomplete), once."""
    wire.reply("one two three four")
    stream = oa(wire, otel).chat.completions.create(model="m", messages=MSGS, stream=True)
    next(stream)
    next(stream)
    assert otel.callbacks.open_spans == 1
    del stream
    gc.collect()
    assert (the_span(otel).attributes or {})[C.LLMHOOKS_INCOMPLETE] is True


def test_a_cut_stream_ends_the_span_with_the_error(wire: FastWireServer, otel: Otel) -> None:
    """The connection drops mid-stream: the SDK raises, the span ends with ERROR and the exception."""
    wire.cut_stream(after_chunks=3, reply=Reply("a b c d"))
    caught = raised(
        lambda: list(oa(wire, otel).chat.completions.create(model="m", messages=MSGS, stream=True))
    )
    span = the_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[C.ERROR_TYPE] == type(caught).__name__
    assert [e.name for e in span.events] == ["exception"]


def test_an_in_stream_error_event_ends_the_span_with_the_providers_error_code(
    wire: FastWireServer, otel: Otel
) -> None:
    """Anthropic's ``error`` event inside a 200 stream: the SDK's exception, and the provider's code."""
    wire.stream_error(after_chunks=3, message="Overloaded", error_type="overloaded_error")
    caught = raised(
        lambda: list(
            ant(wire, otel).messages.create(model="claude-x", max_tokens=9, messages=MSGS, stream=True)
        )
    )
    span = the_span(otel)
    assert span.status.status_code is StatusCode.ERROR
    attrs = span.attributes or {}
    assert attrs[C.ERROR_TYPE] == type(caught).__name__
    assert attrs[C.LLMHOOKS_ERROR_CODE] == "overloaded_error"


def test_the_anthropic_stream_helper_is_one_span_with_the_runs_ids(wire: FastWireServer, otel: Otel) -> None:
    """``messages.stream(...)`` inside a chain: one child span, the run tree's ids."""
    wire.reply("one two", input_tokens=5, output_tokens=2)
    with (
        chain_run("answer", callbacks=otel.callbacks) as chain,
        ant(wire, otel).messages.stream(model="claude-x", max_tokens=9, messages=MSGS) as stream,
    ):
        assert "".join(stream.text_stream) == "one two"
    assert otel.tree() == [(0, "chain answer"), (1, "chat claude-x")]
    span = otel.span("chat claude-x")
    assert span.parent is not None and f"{span.parent.span_id:016x}" == chain.run_id
    attrs = span.attributes or {}
    assert attrs[C.PROVIDER_NAME] == "anthropic"
    assert (attrs[C.USAGE_INPUT_TOKENS], attrs[C.USAGE_OUTPUT_TOKENS]) == (5, 2)


def test_leaving_the_anthropic_helper_early_ends_the_span(wire: FastWireServer, otel: Otel) -> None:
    """Leaving ``with client.messages.stream(...)`` after one text delta: one incomplete span."""
    wire.reply("one two three four")
    with ant(wire, otel).messages.stream(model="c", max_tokens=9, messages=MSGS) as stream:
        next(iter(stream.text_stream))
    assert (the_span(otel).attributes or {})[C.LLMHOOKS_INCOMPLETE] is True


async def test_async_streams_end_their_spans_on_every_path(wire: FastWireServer, otel: Otel) -> None:
    """``AsyncOpenAI``: consumed, stopped early and cut streams each end one span."""
    wire.reply("a b c")
    wire.reply("d e f g")
    wire.cut_stream(after_chunks=2, reply=Reply("h i j"))
    client = aoa(wire, otel)
    async for _ in await client.chat.completions.create(model="full", messages=MSGS, stream=True):
        pass
    stream = await client.chat.completions.create(model="early", messages=MSGS, stream=True)
    async for _ in stream:
        break
    await stream.close()

    async def consume_cut() -> None:
        async for _ in await client.chat.completions.create(model="cut", messages=MSGS, stream=True):
            pass

    await araised(consume_cut)
    spans = {s.name: s for s in otel.spans()}
    assert sorted(spans) == ["chat cut", "chat early", "chat full"]
    assert spans["chat full"].status.status_code is StatusCode.UNSET
    assert (spans["chat early"].attributes or {})[C.LLMHOOKS_INCOMPLETE] is True
    assert spans["chat cut"].status.status_code is StatusCode.ERROR
