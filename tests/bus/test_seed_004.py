"""Seed 004's examples (vision-agents' LLM events), run as written against real producers.

Each ``EXAMPLE_*`` is one code block of the reference document, verbatim but for its
import line (``vision_agents.core.llm.events`` -> ``llmhooks.events``,
``vision_agents.core.events.manager`` -> ``llmhooks``) and the indentation the
document's rendering lost. The snippets use a ``manager`` they do not create: here it
is an ``EventManager`` given to the producers as a handler, so what the subscribers
print comes from real runs: the ``LLM`` facade (offline provider, streamed), an
``Agent`` with tools, ``instrument_openai`` against the local wire server, and a
call with images. The complete example runs on its own, top-level ``await`` included.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from tests._raised import araised
from tests.llm._wire import FastWireServer

from llmhooks import LLM, Agent, EventManager, instrument_openai, tool_run

EXAMPLE_REQUEST = """
from llmhooks.events import LLMRequestStartedEvent
@manager.subscribe
async def track_llm_request(event: LLMRequestStartedEvent):
    print(f"LLM request {event.request_id} started")
    print(f"Model: {event.model}, Streaming: {event.streaming}")
"""

EXAMPLE_CHUNK = """
from llmhooks.events import LLMResponseChunkEvent
streaming_text = ""
@manager.subscribe
async def handle_chunk(event: LLMResponseChunkEvent):
    global streaming_text
    if event.is_first_chunk:
        print(f"First token received in {event.time_to_first_token_ms}ms")
    if event.delta:
        streaming_text += event.delta
        print(event.delta, end="", flush=True)
"""

EXAMPLE_COMPLETED = """
from llmhooks.events import LLMResponseCompletedEvent
@manager.subscribe
async def track_completion(event: LLMResponseCompletedEvent):
    print(f"Response completed: {event.text[:100]}...")
    print(f"Model: {event.model}")
    print(f"Latency: {event.latency_ms}ms")
    print(f"Tokens: {event.input_tokens} in / {event.output_tokens} out")
    if event.time_to_first_token_ms:
        print(f"Time to first token: {event.time_to_first_token_ms}ms")
"""

EXAMPLE_ERROR = """
from llmhooks.events import LLMErrorEvent
@manager.subscribe
async def handle_llm_error(event: LLMErrorEvent):
    print(f"LLM error: {event.error_message}")
    print(f"Request ID: {event.request_id}")
    print(f"Error code: {event.error_code}")
    print(f"Recoverable: {event.is_recoverable}")
    if not event.is_recoverable:
        # Handle fatal error
        print("Fatal error - stopping agent")
"""

EXAMPLE_TOOL_START = """
from llmhooks.events import ToolStartEvent
@manager.subscribe
async def track_tool_start(event: ToolStartEvent):
    print(f"Tool '{event.tool_name}' started")
    print(f"Call ID: {event.tool_call_id}")
    print(f"Arguments: {event.arguments}")
"""

EXAMPLE_TOOL_LIFECYCLE = """
from llmhooks.events import ToolStartEvent, ToolEndEvent
import time
tool_timings = {}
@manager.subscribe
async def track_tool_lifecycle(event: ToolStartEvent | ToolEndEvent):
    if isinstance(event, ToolStartEvent):
        tool_timings[event.tool_call_id] = time.time()
        print(f"🔧 Tool '{event.tool_name}' started")
    elif isinstance(event, ToolEndEvent):
        if event.success:
            print(f"✅ Tool '{event.tool_name}' completed in {event.execution_time_ms}ms")
            print(f"Result: {event.result}")
        else:
            print(f"❌ Tool '{event.tool_name}' failed: {event.error}")
"""

EXAMPLE_VLM_START = """
from llmhooks.events import VLMInferenceStartEvent
@manager.subscribe
async def track_vlm_start(event: VLMInferenceStartEvent):
    print(f"VLM inference started: {event.inference_id}")
    print(f"Model: {event.model}, Frames: {event.frames_count}")
"""

EXAMPLE_VLM = """
from llmhooks.events import (
VLMInferenceStartEvent,
VLMInferenceCompletedEvent
)
@manager.subscribe
async def track_vlm_inference(event: VLMInferenceStartEvent | VLMInferenceCompletedEvent):
    if isinstance(event, VLMInferenceStartEvent):
        print(f"🎬 VLM inference {event.inference_id} started")
        print(f"Processing {event.frames_count} frames")
    else:
        print(f"✅ VLM inference completed in {event.latency_ms}ms")
        print(f"Result: {event.text}")
        print(f"Frames processed: {event.frames_processed}")
        print(f"Detections: {event.detections}")
"""

EXAMPLE_COMPLETE = """
from llmhooks import EventManager
from llmhooks.events import (
    LLMRequestStartedEvent,
    LLMResponseChunkEvent,
    LLMResponseCompletedEvent,
    LLMErrorEvent,
    ToolStartEvent,
    ToolEndEvent,
    VLMInferenceStartEvent,
    VLMInferenceCompletedEvent
)
import time
# Create event manager
manager = EventManager()
# Register events
manager.register(
    LLMRequestStartedEvent,
    LLMResponseChunkEvent,
    LLMResponseCompletedEvent,
    LLMErrorEvent,
    ToolStartEvent,
    ToolEndEvent,
    VLMInferenceStartEvent,
    VLMInferenceCompletedEvent
)
# Track streaming responses
streaming_responses = {}
@manager.subscribe
async def handle_llm_request(event: LLMRequestStartedEvent):
    print(f"🚀 LLM request started: {event.request_id}")
    print(f"Model: {event.model}, Streaming: {event.streaming}")
    streaming_responses[event.request_id] = ""
@manager.subscribe
async def handle_response_chunk(event: LLMResponseChunkEvent):
    if event.is_first_chunk:
        print(f"⚡ First token in {event.time_to_first_token_ms}ms")
    if event.delta:
        print(event.delta, end="", flush=True)
@manager.subscribe
async def handle_response_completed(event: LLMResponseCompletedEvent):
    print(f"\\n✅ Response completed")
    print(f"Latency: {event.latency_ms}ms")
    print(f"Tokens: {event.input_tokens} in, {event.output_tokens} out")
    print(f"Model: {event.model}")
@manager.subscribe
async def handle_llm_error(event: LLMErrorEvent):
    print(f"❌ LLM Error: {event.error_message}")
    if not event.is_recoverable:
        print("Fatal error - cannot continue")
# Track tool executions
@manager.subscribe
async def handle_tool_execution(event: ToolStartEvent | ToolEndEvent):
    if isinstance(event, ToolStartEvent):
        print(f"🔧 Tool '{event.tool_name}' started")
        print(f"Arguments: {event.arguments}")
    else:
        if event.success:
            print(f"✅ Tool '{event.tool_name}' completed in {event.execution_time_ms}ms")
        else:
            print(f"❌ Tool '{event.tool_name}' failed: {event.error}")
# Track VLM inferences
@manager.subscribe
async def handle_vlm_inference(event: VLMInferenceStartEvent | VLMInferenceCompletedEvent):
    if isinstance(event, VLMInferenceStartEvent):
        print(f"🎬 VLM inference started: {event.frames_count} frames")
    else:
        print(f"✅ VLM completed: {event.detections} detections in {event.latency_ms}ms")
# Send events
manager.send(LLMRequestStartedEvent(
    plugin_name="openai",
    request_id="req-123",
    model="gpt-4",
    streaming=True
))
await manager.wait()
"""

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(92)).decode()
IMAGES = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in these frames?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        ],
    }
]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def run_example(code: str, namespace: dict[str, Any]) -> None:
    """Run one example in ``namespace`` as a module would (its ``global`` statements included)."""
    exec(compile(code, "seed_004_example", "exec"), namespace)


@pytest.fixture
def manager() -> Iterator[EventManager]:
    bus = EventManager()
    yield bus
    bus.shutdown()


async def produce(manager: EventManager, *calls: Any) -> None:
    """Run producer calls with ``manager`` as their handler, then let the bus deliver."""
    for call in calls:
        result = call()
        if asyncio.iscoroutine(result):
            await result
    assert await manager.wait()


def streamed(manager: EventManager, prompt: str = "Tell me a story about a fox") -> Any:
    async def call() -> str:
        return "".join([c async for c in LLM(callbacks=[manager]).stream(prompt)])

    return call


async def test_request_started_example(manager: EventManager, capsys: pytest.CaptureFixture[str]) -> None:
    """``LLMRequestStartedEvent``: a streamed facade call's start, with its request id and model."""
    run_example(EXAMPLE_REQUEST, {"manager": manager})
    await produce(manager, streamed(manager))
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"LLM request [0-9a-f]{16} started", out[0])
    assert out[1] == "Model: llmhooks-offline, Streaming: True"


async def test_response_chunk_example(manager: EventManager, capsys: pytest.CaptureFixture[str]) -> None:
    """``LLMResponseChunkEvent``: the first chunk's time, then every delta, adding up to the answer."""
    namespace: dict[str, Any] = {"manager": manager}
    run_example(EXAMPLE_CHUNK, namespace)
    text: list[str] = []

    async def call() -> None:
        text.append(await streamed(manager)())

    await produce(manager, call)
    out = capsys.readouterr().out
    assert re.match(r"First token received in [0-9.]+ms\n", out)
    assert namespace["streaming_text"] == text[0] and out.endswith(text[0])


async def test_response_completed_example(manager: EventManager, capsys: pytest.CaptureFixture[str]) -> None:
    """``LLMResponseCompletedEvent``: text, model, latency, tokens and time to first token."""
    run_example(EXAMPLE_COMPLETED, {"manager": manager})
    await produce(manager, streamed(manager, "Hello there"))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Response completed: ") and out[0].endswith("...")
    assert out[1] == "Model: llmhooks-offline"
    assert re.fullmatch(r"Latency: [0-9.]+ms", out[2])
    assert re.fullmatch(r"Tokens: \d+ in / \d+ out", out[3])
    assert re.fullmatch(r"Time to first token: [0-9.]+ms", out[4])


async def test_llm_error_example(manager: EventManager, capsys: pytest.CaptureFixture[str]) -> None:
    """``LLMErrorEvent``: a 429 (recoverable) and a 400 (fatal) from the official SDK."""
    run_example(EXAMPLE_ERROR, {"manager": manager})
    with FastWireServer() as server:
        server.fail(429, message="Rate limit reached")
        server.fail(400, message="Invalid model")
        client = instrument_openai(
            openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0),
            callbacks=[manager],
        )
        for _ in range(2):  # the SDK's own errors reach the caller; the events say what they were
            await araised(
                lambda: client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}]
                )
            )
    assert await manager.wait()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("LLM error: ") and "Rate limit reached" in out[0]
    assert re.fullmatch(r"Request ID: [0-9a-f]{16}", out[1])
    assert out[2:4] == ["Error code: 429", "Recoverable: True"]
    assert out[4].startswith("LLM error: ") and "Invalid model" in out[4]
    assert out[6:] == ["Error code: 400", "Recoverable: False", "Fatal error - stopping agent"]


async def test_tool_start_example(manager: EventManager, capsys: pytest.CaptureFixture[str]) -> None:
    """``ToolStartEvent``: an agent's tool call, with its call id and arguments."""
    run_example(EXAMPLE_TOOL_START, {"manager": manager})
    await produce(manager, lambda: Agent(tools=[add], callbacks=[manager]).arun("Use add with 2 and 3"))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Tool 'add' started"
    assert out[1].startswith("Call ID: ") and out[1] != "Call ID: None"
    assert out[2] == "Arguments: {'a': 2, 'b': 3}"


async def test_tool_lifecycle_example(manager: EventManager, capsys: pytest.CaptureFixture[str]) -> None:
    """``ToolStartEvent | ToolEndEvent``: an agent's tool that works, and a tool run ended unsuccessful.

    A tool that *raises* ends with ``ToolErrorEvent`` in llmhooks, which this subscriber does
    not take; a tool whose result says it failed ends with ``ToolEndEvent(success=False)``,
    reported here through ``tool_run``, as a user's own tool code does.
    """
    namespace: dict[str, Any] = {"manager": manager}
    run_example(EXAMPLE_TOOL_LIFECYCLE, namespace)

    def unsuccessful() -> None:
        with tool_run(
            "lookup", arguments={"city": "Atlantis"}, tool_call_id="c1", callbacks=[manager]
        ) as run:
            run.finish(success=False, error="no such city")

    await produce(
        manager, lambda: Agent(tools=[add], callbacks=[manager]).arun("Use add with 2 and 3"), unsuccessful
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "🔧 Tool 'add' started"
    assert re.fullmatch(r"✅ Tool 'add' completed in [0-9.]+ms", out[1])
    assert out[2] == "Result: 5"
    assert out[3:] == ["🔧 Tool 'lookup' started", "❌ Tool 'lookup' failed: no such city"]
    assert len(namespace["tool_timings"]) == 2


async def test_vlm_start_example(manager: EventManager, capsys: pytest.CaptureFixture[str]) -> None:
    """``VLMInferenceStartEvent``: a call with two images is an inference over two frames."""
    run_example(EXAMPLE_VLM_START, {"manager": manager})
    await produce(manager, lambda: LLM(callbacks=[manager]).achat(IMAGES))
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"VLM inference started: [0-9a-f]{16}", out[0])
    assert out[1] == "Model: llmhooks-offline, Frames: 2"


async def test_vlm_inference_example(manager: EventManager, capsys: pytest.CaptureFixture[str]) -> None:
    """``VLMInferenceStartEvent | VLMInferenceCompletedEvent``: start, then latency, text and frames."""
    run_example(EXAMPLE_VLM, {"manager": manager})
    answer: list[str] = []

    async def call() -> None:
        answer.append((await LLM(callbacks=[manager]).achat(IMAGES)).text)

    await produce(manager, call)
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"🎬 VLM inference [0-9a-f]{16} started", out[0])
    assert out[1] == "Processing 2 frames"
    assert re.fullmatch(r"✅ VLM inference completed in [0-9.]+ms", out[2])
    assert out[3:] == [f"Result: {answer[0]}", "Frames processed: 2", "Detections: 0"]


async def test_complete_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The complete example as written (top-level ``await`` included), then real producers on its manager."""
    namespace: dict[str, Any] = {}
    code = compile(EXAMPLE_COMPLETE, "seed_004_complete", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    await eval(code, namespace)
    assert capsys.readouterr().out.splitlines() == [
        "🚀 LLM request started: req-123",
        "Model: gpt-4, Streaming: True",
    ]
    manager = namespace["manager"]
    assert namespace["streaming_responses"] == {"req-123": ""}
    # the same subscribers, fed by real runs: a stream, a tool call, an inference over images
    await produce(
        manager,
        streamed(manager, "Hello"),
        lambda: Agent(tools=[add], callbacks=[manager]).arun("Use add with 2 and 3"),
        lambda: LLM(callbacks=[manager]).achat(IMAGES),
    )
    out = capsys.readouterr().out
    assert "⚡ First token in " in out and "✅ Response completed" in out
    assert "🔧 Tool 'add' started\nArguments: {'a': 2, 'b': 3}\n" in out
    assert re.search(r"✅ Tool 'add' completed in [0-9.]+ms", out)
    assert "🎬 VLM inference started: 2 frames" in out and "✅ VLM completed: 0 detections in " in out
    assert len(namespace["streaming_responses"]) >= 4  # req-123 and every real request's id
    manager.shutdown()


def broken(city: str) -> str:
    """Look a city up (the service is down)."""
    raise RuntimeError(f"service down for {city}")


async def test_tool_lifecycle_example_sees_a_tool_that_raises(
    manager: EventManager, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tool that raises: seed 004 reports it as a ``ToolEndEvent`` with ``success=False``; so does llmhooks.

    The event is llmhooks' ``ToolErrorEvent``, a subclass of ``ToolEndEvent``: the seed's
    subscriber gets it (and its ``isinstance`` checks hold), ``on_tool_error`` handlers too.
    """
    from llmhooks import Callbacks, ToolEndEvent, ToolErrorEvent

    class Ours(Callbacks):
        def __init__(self) -> None:
            self.errors: list[ToolErrorEvent] = []
            self.ends: list[ToolEndEvent] = []

        def on_tool_error(self, event: ToolErrorEvent) -> None:
            self.errors.append(event)

        def on_tool_end(self, event: ToolEndEvent) -> None:
            self.ends.append(event)

    ours = Ours()
    run_example(EXAMPLE_TOOL_LIFECYCLE, {"manager": manager})
    agent = Agent(tools=[broken], callbacks=[manager, ours])
    await produce(manager, lambda: agent.arun("Use broken with city Paris"))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "🔧 Tool 'broken' started"
    assert out[1].startswith("❌ Tool 'broken' failed: service down for ")
    assert len(out) == 2
    [error] = ours.errors
    assert ours.ends == [] and error.success is False and error.execution_time_ms == error.latency_ms
