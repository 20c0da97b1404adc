"""Vision-language calls: an LLM call whose input holds images is also a VLM inference.

From the ``LLM`` facade (offline provider), ``instrument_openai`` (Chat Completions and
Responses) and ``instrument_anthropic`` against the local wire server: the VLM run is a
child of the LLM run and ends first, once; image data never reaches an event.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anthropic
import openai
import pytest
from tests._raised import raised
from tests.llm._wire import FastWireServer

from llmhooks import (
    Abort,
    Callbacks,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    VLMErrorEvent,
    VLMInferenceCompletedEvent,
    VLMInferenceStartEvent,
    configure_redaction,
    instrument_anthropic,
    instrument_openai,
)
from llmhooks.llm import LLM
from llmhooks.testing import RecordingCallbacks
from llmhooks.vlm import Images, scan_images

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(992)).decode()  # 1000 bytes of "image"
DATA_URL = f"data:image/png;base64,{PNG}"
WEB_URL = "https://example.com/cat.jpg"


def chat_messages() -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is in these pictures"},
                {"type": "image_url", "image_url": {"url": DATA_URL, "detail": "low"}},
                {"type": "image_url", "image_url": {"url": WEB_URL}},
            ],
        }
    ]


def no_image_data(rec: RecordingCallbacks) -> None:
    """The inline image appears in no event, in any form."""
    dumped = json.dumps([e.to_dict() for e in rec.events])
    assert PNG[:40] not in dumped and PNG[-40:] not in dumped


def check_vlm(rec: RecordingCallbacks, frames: int, image_bytes: int) -> VLMInferenceCompletedEvent:
    """One VLM run, a child of the one LLM run, started after it and ended before it."""
    llm = rec.of_type(LLMStartEvent)[0]
    [start] = rec.of_type(VLMInferenceStartEvent)
    [done] = rec.of_type(VLMInferenceCompletedEvent)
    assert start.parent_run_id == llm.run_id and start.trace_id == llm.trace_id
    assert done.run_id == start.run_id == start.inference_id == done.inference_id
    assert (start.frames_count, start.image_bytes, done.frames_processed) == (frames, image_bytes, frames)
    assert (start.model, done.model) == (llm.model, llm.model)
    types = rec.types()
    assert types.index("llm.start") < types.index("vlm.inference_start")
    assert types.index("vlm.inference_completed") < types.index("llm.end") == len(types) - 1
    end = rec.of_type(LLMEndEvent)[0]
    assert (done.text, done.input_tokens, done.output_tokens) == (
        end.response,
        end.input_tokens,
        end.output_tokens,
    )
    assert done.latency_ms is not None and 0 <= done.latency_ms <= end.latency_ms  # type: ignore[operator]
    no_image_data(rec)
    return done


# -- counting images --------------------------------------------------------------------------


def test_scan_counts_the_four_formats_and_keeps_the_callers_messages() -> None:
    """Chat ``image_url``, Responses and Realtime ``input_image``, Anthropic ``image`` (tool results too)."""
    web_image = {"type": "image", "source": {"type": "url", "url": WEB_URL}}
    messages: list[Any] = [
        *chat_messages(),
        {"role": "user", "content": [{"type": "input_image", "image_url": DATA_URL}]},
        {"type": "message", "role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]},
        {"type": "function_call_output", "output": [{"type": "input_image", "image_url": WEB_URL}]},
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "tool_result", "tool_use_id": "t", "content": [web_image]},
            ],
        },
    ]
    before = json.dumps(messages)
    out, images = scan_images(messages)
    assert images == Images(count=7, image_bytes=3000)
    assert json.dumps(messages) == before  # the caller's messages are untouched
    assert out[0]["content"][1]["image_url"] == {"url": "<image/png: 1000 bytes>", "detail": "low"}
    assert out[0]["content"][2] is messages[0]["content"][2]  # web URLs stay, shared
    assert out[1]["content"][0]["image_url"] == "<image/png: 1000 bytes>"
    assert out[2] is messages[2] and out[3] is messages[3]
    assert out[4]["content"][0]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": "<image/png: 1000 bytes>",
    }
    assert PNG not in json.dumps(out)


def test_scan_without_images_returns_the_same_objects() -> None:
    """No image: the very same list and None, so text-only calls pay nothing more."""
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "user", "content": [{"type": "text", "text": "x"}]},
    ]
    assert scan_images(messages) == (messages, None)
    assert scan_images(messages)[0] is messages
    assert scan_images(None) == (None, None)
    assert scan_images("a prompt") == ("a prompt", None)


# -- from the facade ----------------------------------------------------------------------------


def test_facade_chat_with_images_is_a_vlm_inference() -> None:
    """``LLM.chat`` with two images: the VLM run nests in the LLM run; the start has no image data."""
    rec = RecordingCallbacks()
    messages = chat_messages()
    answer = LLM(provider="offline", callbacks=[rec]).chat(messages)
    assert rec.types() == ["llm.start", "vlm.inference_start", "vlm.inference_completed", "llm.end"]
    done = check_vlm(rec, frames=2, image_bytes=1000)
    assert done.text == answer.text
    start = rec.of_type(LLMStartEvent)[0]
    assert start.messages[0]["content"][1]["image_url"]["url"] == "<image/png: 1000 bytes>"  # type: ignore[index]
    assert messages == chat_messages()  # what the provider got is what the caller gave


async def test_facade_stream_with_images() -> None:
    """A stream: tokens flow inside both runs; the VLM run ends with the streamed text, then the LLM run."""
    rec = RecordingCallbacks()
    chunks = [c async for c in LLM(provider="offline", callbacks=[rec]).stream(chat_messages())]
    types = rec.types()
    assert types[:2] == ["llm.start", "vlm.inference_start"] and types[-2:] == [
        "vlm.inference_completed",
        "llm.end",
    ]
    assert types.count("llm.token") == len(chunks)
    assert check_vlm(rec, frames=2, image_bytes=1000).text == "".join(chunks)


def test_facade_without_images_fires_no_vlm_events() -> None:
    """A text-only call is an LLM run and nothing else."""
    rec = RecordingCallbacks()
    LLM(provider="offline", callbacks=[rec]).chat("hello")
    assert rec.types() == ["llm.start", "llm.end"]


def test_a_handler_of_vlm_events_only_gets_them() -> None:
    """Seed 004's VLM example subscribes to VLM events alone: they come without any LLM event taker."""

    class VisionOnly(Callbacks):
        def __init__(self) -> None:
            self.events: list[Any] = []

        def on_vlm_inference_start(self, event: VLMInferenceStartEvent) -> None:
            self.events.append(event)

        def on_vlm_inference_completed(self, event: VLMInferenceCompletedEvent) -> None:
            self.events.append(event)

    vision = VisionOnly()
    llm = LLM(provider="offline", callbacks=[vision])
    answer = llm.chat(chat_messages())
    chunks = list(llm.stream(chat_messages()))
    assert [e.type for e in vision.events] == ["vlm.inference_start", "vlm.inference_completed"] * 2
    start, done = vision.events[:2]
    assert (start.frames_count, done.frames_processed, done.text) == (2, 2, answer.text)
    assert start.parent_run_id and start.trace_id  # the (unrecorded) LLM run still places it in a tree
    assert vision.events[3].text == "".join(chunks)


def test_content_capture_off_blanks_the_vlm_text() -> None:
    """``capture_content=False`` applies to the VLM text as to the LLM response."""
    configure_redaction(capture_content=False)
    rec = RecordingCallbacks()
    LLM(provider="offline", callbacks=[rec]).chat(chat_messages())
    assert rec.of_type(VLMInferenceCompletedEvent)[0].text.startswith("<redacted: ")


def test_abort_on_the_vlm_start_stops_the_call(llm_server: FastWireServer) -> None:
    """A handler refusing the inference: no request is made, and both runs end with the error, once."""

    class NoVision(Callbacks):
        def on_vlm_inference_start(self, event: VLMInferenceStartEvent) -> None:
            raise Abort("no images allowed")

    rec = RecordingCallbacks()
    client = instrument_openai(
        openai.OpenAI(base_url=llm_server.openai_base_url, api_key="k", max_retries=0),
        callbacks=[rec, NoVision()],
    )
    with pytest.raises(Abort):
        client.chat.completions.create(model="gpt-4o", messages=chat_messages())  # type: ignore[arg-type]
    assert llm_server.requests == []
    assert rec.types() == ["llm.start", "vlm.inference_start", "vlm.error", "llm.error"]


# -- from the SDKs ------------------------------------------------------------------------------


def test_openai_chat_with_images(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``chat.completions.create`` with ``image_url`` parts, through the official SDK."""
    llm_server.reply("two cats", input_tokens=900, output_tokens=2)
    client = instrument_openai(openai.OpenAI(base_url=llm_server.openai_base_url, api_key="k"), callbacks=rec)
    client.chat.completions.create(model="gpt-4o", messages=chat_messages())  # type: ignore[arg-type]
    done = check_vlm(rec, frames=2, image_bytes=1000)
    assert (done.text, done.input_tokens, done.output_tokens) == ("two cats", 900, 2)
    assert DATA_URL in llm_server.last_request.raw.decode()  # the SDK still sent the image


def test_openai_chat_stream_with_images(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """A streamed Chat Completions call with an image."""
    llm_server.reply("a dog", input_tokens=500, output_tokens=2)
    client = instrument_openai(openai.OpenAI(base_url=llm_server.openai_base_url, api_key="k"), callbacks=rec)
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=chat_messages(),  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "a dog"
    assert check_vlm(rec, frames=2, image_bytes=1000).text == "a dog"


async def test_openai_responses_with_input_images(
    llm_server: FastWireServer, rec: RecordingCallbacks
) -> None:
    """``responses.create`` with ``input_image`` parts (a data URL and a file id), async."""
    llm_server.reply("a receipt")
    client = instrument_openai(
        openai.AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="k"), callbacks=rec
    )
    await client.responses.create(
        model="gpt-4.1",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "read these"},
                    {"type": "input_image", "image_url": DATA_URL, "detail": "auto"},
                    {"type": "input_image", "file_id": "file-abc", "detail": "auto"},
                ],
            }
        ],
    )
    assert check_vlm(rec, frames=2, image_bytes=1000).text == "a receipt"


def test_anthropic_image_blocks(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """``messages.create`` with an ``image`` block and an image inside a ``tool_result``."""
    llm_server.reply("a chart")
    client = instrument_anthropic(
        anthropic.Anthropic(base_url=llm_server.base_url, api_key="k"), callbacks=rec
    )
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=100,
        messages=[
            {"role": "user", "content": [image, {"type": "text", "text": "describe"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [image]}]},
        ],
    )
    assert check_vlm(rec, frames=2, image_bytes=2000).text == "a chart"


def test_failed_call_fails_both_runs(llm_server: FastWireServer, rec: RecordingCallbacks) -> None:
    """An HTTP 500: ``vlm.error`` then ``llm.error``, with the same code and recoverability."""
    llm_server.fail(500, message="overloaded")
    client = instrument_openai(
        openai.OpenAI(base_url=llm_server.openai_base_url, api_key="k", max_retries=0), callbacks=rec
    )
    caught = raised(lambda: client.chat.completions.create(model="gpt-4o", messages=chat_messages()))  # type: ignore[arg-type]
    assert rec.types() == ["llm.start", "vlm.inference_start", "vlm.error", "llm.error"]
    assert rec.of_type(LLMErrorEvent)[0].error is caught
    [vlm], [llm] = rec.of_type(VLMErrorEvent), rec.of_type(LLMErrorEvent)
    assert (vlm.error_code, vlm.is_recoverable, vlm.error_type) == (
        llm.error_code,
        llm.is_recoverable,
        llm.error_type,
    )
    assert vlm.error_code == "500" and vlm.is_recoverable
    assert vlm.parent_run_id == llm.run_id
    no_image_data(rec)


@pytest.mark.parametrize("is_async", [False, True])
async def test_anthropic_messages_stream_with_an_image(
    llm_server: FastWireServer, rec: RecordingCallbacks, is_async: bool
) -> None:
    """``messages.stream(...)`` with an ``image`` block: a VLM inference, the image data in no event."""
    llm_server.reply("a bar chart", input_tokens=700, output_tokens=3)
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    kwargs: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": [image, {"type": "text", "text": "describe"}]}],
    }
    if is_async:
        aclient = instrument_anthropic(
            anthropic.AsyncAnthropic(base_url=llm_server.base_url, api_key="k"), callbacks=rec
        )
        async with aclient.messages.stream(**kwargs) as astream:
            text = "".join([t async for t in astream.text_stream])
    else:
        client = instrument_anthropic(
            anthropic.Anthropic(base_url=llm_server.base_url, api_key="k"), callbacks=rec
        )
        with client.messages.stream(**kwargs) as stream:
            text = "".join(stream.text_stream)
    assert text == "a bar chart"
    start = rec.of_type(LLMStartEvent)[0]
    block = start.messages[0]["content"][0]  # type: ignore[index]
    assert block["source"]["data"] == "<image/png: 1000 bytes>"
    assert check_vlm(rec, frames=1, image_bytes=1000).text == "a bar chart"
    assert PNG in llm_server.last_request.raw.decode()  # the SDK still sent the image
