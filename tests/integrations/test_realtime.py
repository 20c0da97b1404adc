"""Realtime sessions from the official SDK (``client.realtime.connect``), against a local websocket server.

Every test drives the connection as the SDK's own docs do and checks what llmhooks
reports: the full event sequence, the run tree (one session run, an LLM run per
response), the usage the server sent, and that however the connection ends, every
open run ends exactly once.
"""

from __future__ import annotations

import asyncio
import base64
import gc
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.resources.realtime.realtime import AsyncRealtimeConnectionManager

from llmhooks import (
    Abort,
    BudgetExceeded,
    Callbacks,
    ChainEndEvent,
    ChainErrorEvent,
    ChainStartEvent,
    EventManager,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    LLMTokenEvent,
    RealtimeAgentTranscriptionEvent,
    RealtimeAudioInputEvent,
    RealtimeAudioOutputEvent,
    RealtimeConnectedEvent,
    RealtimeDisconnectedEvent,
    RealtimeErrorEvent,
    RealtimeResponseEvent,
    RealtimeUserTranscriptionEvent,
    TokenCounter,
    VLMInferenceCompletedEvent,
    VLMInferenceStartEvent,
    agent_run,
    configure_redaction,
    instrument_openai,
    uninstrument_openai,
)
from llmhooks.demo_servers.realtime import RealtimeDemoServer, ServerError, Turn
from llmhooks.events import (
    Event,
    LLMResponseChunkEvent,
    LLMResponseCompletedEvent,
    RealtimeAgentSpeechTranscriptionEvent,
    RealtimeUserSpeechTranscriptionEvent,
)
from llmhooks.testing import RecordingCallbacks

MODEL = "gpt-realtime"
PCM = bytes(range(256)) * 75  # 19200 bytes: 400 ms of 24 kHz 16-bit mono audio
AUDIO = base64.b64encode(PCM).decode()


@pytest.fixture(scope="module")
def _server() -> Iterator[RealtimeDemoServer]:
    with RealtimeDemoServer(user_transcript="what is the weather") as server:
        yield server


@pytest.fixture
def server(_server: RealtimeDemoServer) -> Iterator[RealtimeDemoServer]:
    """The realtime demo server, nothing scripted and nothing recorded."""
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def rec() -> RecordingCallbacks:
    return RecordingCallbacks()


def aclient(server: RealtimeDemoServer, rec: Any) -> openai.AsyncOpenAI:
    return instrument_openai(
        openai.AsyncOpenAI(api_key="sk-test", websocket_base_url=server.url), callbacks=rec
    )


STARTS = {"chain.start", "llm.start", "vlm.inference_start"}
ENDS = {"chain.end", "chain.error", "llm.end", "llm.error", "vlm.inference_completed", "vlm.error"}


def ended_once(rec: RecordingCallbacks) -> None:
    """Every run that started has exactly one terminal event (VLM runs included)."""
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    for e in rec.events:
        if e.type in STARTS:
            starts[e.run_id] = starts.get(e.run_id, 0) + 1
        elif e.type in ENDS:
            ends[e.run_id] = ends.get(e.run_id, 0) + 1
    assert set(starts) == set(ends), f"started {sorted(starts)}, ended {sorted(ends)}"
    assert all(n == 1 for n in (*starts.values(), *ends.values())), (starts, ends)


def one(rec: RecordingCallbacks, cls: type[Any]) -> Any:
    [event] = rec.of_type(cls)
    return event


async def talk(conn: Any, *, responses: int = 1) -> list[str]:
    """Send one turn of audio, ask for a response, read until ``responses`` are done."""
    await conn.input_audio_buffer.append(audio=AUDIO)
    await conn.input_audio_buffer.commit()
    await conn.response.create()
    seen: list[str] = []
    done = 0
    async for event in conn:
        seen.append(event.type)
        if event.type == "response.done":
            done += 1
            if done == responses:
                break
            await conn.response.create()
    return seen


# -- a whole session ----------------------------------------------------------------------------


async def test_chunks_carry_the_protocols_item_and_indexes(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """Each text delta's ``item_id``, ``output_index`` and ``content_index`` as the server sent them.

    The seed's ``LLMResponseChunkEvent`` has them; the realtime protocol gives no
    ``sequence_number`` (the Responses API does), so it stays None here.
    """
    server.reply("It is sunny", audio_chunks=1)
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await talk(conn)
    chunks = rec.of_type(LLMResponseChunkEvent)
    [audio] = rec.of_type(RealtimeAudioOutputEvent)
    assert len(chunks) == 3 and audio.item_id and audio.item_id.startswith("item")
    assert {(c.item_id, c.output_index, c.content_index) for c in chunks} == {(audio.item_id, 0, 0)}
    assert {c.sequence_number for c in chunks} == {None}
    assert one(rec, RealtimeResponseEvent).conversation_item_id == audio.item_id
    assert one(rec, LLMResponseCompletedEvent).item_id == audio.item_id  # seed 004's completed event


async def test_voice_session_full_sequence(server: RealtimeDemoServer, rec: RecordingCallbacks) -> None:
    """One spoken turn: a session run, audio in and out, both transcriptions, an LLM run with the usage."""
    server.reply("It is sunny", audio_chunks=2, input_tokens=40, input_audio_tokens=25, cached_tokens=8)
    client = aclient(server, rec)
    manager = client.realtime.connect(model=MODEL)
    assert isinstance(manager, AsyncRealtimeConnectionManager)
    async with manager as conn:
        assert type(conn) is openai.resources.realtime.realtime.AsyncRealtimeConnection
        seen = await talk(conn)
    assert seen[0] == "session.created" and seen[-1] == "response.done"  # the user's view is unchanged
    assert rec.types() == [
        "chain.start",
        "realtime.audio_input",
        "realtime.connected",
        "realtime.user_transcription",
        "llm.start",
        "realtime.audio_output",
        "llm.token",
        "llm.token",
        "realtime.audio_output",
        "llm.token",
        "realtime.agent_transcription",
        "realtime.response",
        "llm.end",
        "realtime.disconnected",
        "chain.end",
    ]
    ended_once(rec)
    session, llm = one(rec, ChainStartEvent), one(rec, LLMStartEvent)
    assert session.chain_name == "openai.realtime" and session.parent_run_id is None
    assert rec.tree() == [(0, session.run_id, "chain.start"), (1, llm.run_id, "llm.start")]
    assert {e.trace_id for e in rec.events} == {session.trace_id}
    # session-level events belong to the session run, response-level ones to the response's run
    for cls in (RealtimeConnectedEvent, RealtimeUserTranscriptionEvent, RealtimeAudioInputEvent):
        assert one(rec, cls).run_id == session.run_id
    for event in (*rec.of_type(RealtimeAudioOutputEvent), one(rec, RealtimeAgentTranscriptionEvent)):
        assert event.run_id == llm.run_id and event.parent_run_id == session.run_id

    connected = one(rec, RealtimeConnectedEvent)
    assert (
        connected.provider == "openai" and connected.session_id and connected.session_id.startswith("sess_")
    )
    assert connected.session_config["model"] == MODEL
    assert connected.capabilities == ["audio", "transcription"]
    audio_in = one(rec, RealtimeAudioInputEvent)
    assert (audio_in.audio_bytes, audio_in.duration_ms, audio_in.sample_rate) == (19200, 400.0, 24000)
    assert audio_in.data == AUDIO and audio_in.audio == PCM  # content capture is on by default
    outs = rec.of_type(RealtimeAudioOutputEvent)
    assert [(o.audio_bytes, o.duration_ms) for o in outs] == [(4800, 100.0), (4800, 100.0)]
    assert {o.response_id for o in outs} == {one(rec, RealtimeResponseEvent).response_id}
    assert one(rec, RealtimeUserTranscriptionEvent).text == "what is the weather"
    assert one(rec, RealtimeAgentTranscriptionEvent).text == "It is sunny"
    response = one(rec, RealtimeResponseEvent)
    assert (response.text, response.is_complete, response.status) == ("It is sunny", True, "completed")

    assert [t.token for t in rec.of_type(LLMTokenEvent)] == ["It", " is", " sunny"]
    assert (llm.provider, llm.model, llm.streaming) == ("openai", MODEL, True)
    end = one(rec, LLMEndEvent)
    assert (end.response, end.finish_reason, end.incomplete) == ("It is sunny", "stop", False)
    assert (end.input_tokens, end.output_tokens, end.total_tokens) == (40, 20, 60)
    assert (end.cached_input_tokens, end.input_audio_tokens, end.output_audio_tokens) == (8, 25, 15)
    assert end.time_to_first_token_ms is not None and end.latency_ms >= end.time_to_first_token_ms
    assert end.metadata == {"response_id": response.response_id}

    gone = one(rec, RealtimeDisconnectedEvent)
    assert (gone.was_clean, gone.reason, gone.close_code) == (True, "closed by the client", 1000)
    summary = one(rec, ChainEndEvent).result
    assert summary == {
        "session": connected.session_id,
        "responses": 1,
        "audio_in_ms": 400.0,
        "audio_out_ms": 200.0,
    }


async def test_text_session_and_two_responses(server: RealtimeDemoServer, rec: RecordingCallbacks) -> None:
    """Text output: the text deltas are the tokens; each response is its own LLM run under the session."""
    server.reply("one two")
    server.reply("three")
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "count"}]}
        )
        await talk(conn, responses=2)
    ended_once(rec)
    starts = rec.of_type(LLMStartEvent)
    session = one(rec, ChainStartEvent)
    assert [s.parent_run_id for s in starts] == [session.run_id, session.run_id]
    # the items the client created before a response are that response's messages
    assert starts[0].messages == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "count"}]}
    ]
    assert starts[1].messages is None
    assert [e.response for e in rec.of_type(LLMEndEvent)] == ["one two", "three"]
    assert not rec.of_type(RealtimeAudioOutputEvent)
    assert one(rec, ChainEndEvent).result["responses"] == 2


async def test_image_in_a_turn_makes_the_response_a_vlm_inference(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """An ``input_image`` item before a response: that response's LLM run has a VLM child; no image data."""
    image = "data:image/png;base64," + base64.b64encode(bytes(300)).decode()
    server.reply("a black square", input_tokens=120, input_image_tokens=85)
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        content = [
            {"type": "input_text", "text": "what is this"},
            {"type": "input_image", "image_url": image},
        ]
        await conn.conversation.item.create(item={"type": "message", "role": "user", "content": content})
        await conn.response.create()
        async for event in conn:
            if event.type == "response.done":
                break
    ended_once(rec)
    llm = one(rec, LLMStartEvent)
    start, done = one(rec, VLMInferenceStartEvent), one(rec, VLMInferenceCompletedEvent)
    assert start.parent_run_id == llm.run_id and (start.frames_count, start.image_bytes) == (1, 300)
    assert (done.text, done.input_tokens, done.frames_processed) == ("a black square", 120, 1)
    assert llm.messages[0]["content"][1]["image_url"] == "<image/png: 300 bytes>"
    assert image[30:] not in str([e.to_dict() for e in rec.events])
    assert rec.types()[-4:] == ["vlm.inference_completed", "llm.end", "realtime.disconnected", "chain.end"]


# -- how a session ends ---------------------------------------------------------------------------


async def test_dropped_socket_ends_every_open_run_once(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """The TCP connection cut mid-response: the response (and its VLM run) fail, then the session, once."""
    server.reply("never finished", drop_after=3)
    with pytest.raises(Exception) as raised:  # whatever the SDK's transport raises reaches the user
        async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
            image = {"type": "input_image", "image_url": "data:image/png;base64," + "A" * 400}
            await conn.conversation.item.create(item={"type": "message", "role": "user", "content": [image]})
            await talk(conn)
    assert not isinstance(raised.value, AssertionError)
    ended_once(rec)
    assert rec.types()[-5:] == [
        "llm.token",
        "vlm.error",
        "llm.error",
        "realtime.disconnected",
        "chain.error",
    ]
    error = one(rec, LLMErrorEvent)
    assert error.is_recoverable and error.error_code == "1006"
    assert "connection lost" in error.error_message
    gone = one(rec, RealtimeDisconnectedEvent)
    assert (gone.was_clean, gone.close_code) == (False, 1006)
    assert one(rec, ChainErrorEvent).run_id == one(rec, ChainStartEvent).run_id


async def test_server_closing_cleanly_ends_the_session(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """The server closes with 1000 after a response: iteration ends quietly, the session ends normally."""
    server.reply("goodbye", close=(1000, "session over"))
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await conn.response.create()
        seen = [event.type async for event in conn]
    assert seen[-1] == "response.done"
    ended_once(rec)
    gone = one(rec, RealtimeDisconnectedEvent)
    assert (gone.was_clean, gone.reason, gone.close_code) == (True, "session over", 1000)
    assert rec.types()[-3:] == ["llm.end", "realtime.disconnected", "chain.end"]


async def test_client_closing_mid_response_ends_it_incomplete(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """``close()`` while a response streams: that response ends ``incomplete``, the session cleanly."""
    server.reply("a long answer", audio_chunks=4)
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await conn.response.create()
        async for event in conn:
            if event.type == "response.output_audio.delta":
                await conn.close(reason="user hung up")
                break
    ended_once(rec)
    end = one(rec, LLMEndEvent)
    assert end.incomplete and end.finish_reason == "disconnected"
    gone = one(rec, RealtimeDisconnectedEvent)
    assert (gone.was_clean, gone.reason) == (True, "user hung up")


async def test_connection_dropped_without_close_is_ended_when_collected(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """A connection opened with ``enter()`` and forgotten: collecting it ends its session once."""
    conn = await aclient(server, rec).realtime.connect(model=MODEL).enter()
    await conn.recv()
    del conn
    gc.collect()
    ended_once(rec)
    gone = one(rec, RealtimeDisconnectedEvent)
    assert (gone.was_clean, gone.reason) == (False, "connection dropped without close()")


async def test_reconnect_starts_a_new_session_run(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """With the SDK's ``on_reconnecting``, a dropped socket ends one session run; the next starts another."""
    created = 0
    async with aclient(server, rec).realtime.connect(
        model=MODEL, on_reconnecting=lambda event: None, initial_delay=0.01, max_delay=0.01
    ) as conn:
        async for event in conn:  # the SDK reconnects while iterating
            if event.type == "session.created":
                created += 1
                if created == 2:
                    break
                server.drop_all()
    assert server.connections == 2
    ended_once(rec)
    first, second = rec.of_type(ChainStartEvent)
    assert first.run_id != second.run_id and first.trace_id == second.trace_id
    assert [e.session_id for e in rec.of_type(RealtimeConnectedEvent)] == [
        d.session_id for d in rec.of_type(RealtimeDisconnectedEvent)
    ]
    assert [d.was_clean for d in rec.of_type(RealtimeDisconnectedEvent)] == [False, True]


# -- errors and statuses ------------------------------------------------------------------------


async def test_server_error_event_is_reported_and_the_session_goes_on(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """An ``error`` server event: a recoverable ``RealtimeErrorEvent``; the next response still works."""
    server.script(ServerError("Invalid modalities", code="invalid_value", param="session.output_modalities"))
    server.reply("fine")
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await conn.response.create()
        async for event in conn:
            if event.type == "error":
                await conn.response.create()
            if event.type == "response.done":
                break
    ended_once(rec)
    error = one(rec, RealtimeErrorEvent)
    assert (error.error_message, error.error_code, error.error_type) == (
        "Invalid modalities",
        "invalid_value",
        "invalid_request_error",
    )
    assert error.is_recoverable and error.context == "param session.output_modalities"
    assert error.run_id == one(rec, ChainStartEvent).run_id
    assert one(rec, LLMEndEvent).response == "fine"


async def test_fatal_server_error_is_not_recoverable(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """``session_expired`` ends the session: not recoverable, and the close that follows ends the runs."""
    server.script(ServerError("Session expired", code="session_expired", close=(1000, "expired")))
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await conn.response.create()
        seen = [event.type async for event in conn]
    assert seen == ["session.created", "error"]
    assert not one(rec, RealtimeErrorEvent).is_recoverable
    ended_once(rec)


@pytest.mark.parametrize(
    ("turn", "finish_reason", "incomplete"),
    [
        (Turn("stop me", status="cancelled", reason="turn_detected"), "cancelled", True),
        (Turn("too long", status="incomplete", reason="max_output_tokens"), "length", False),
        (Turn("call it", function_call=("get_weather", '{"city": "Oslo"}')), "tool_calls", False),
    ],
)
async def test_response_statuses(
    server: RealtimeDemoServer, rec: RecordingCallbacks, turn: Turn, finish_reason: str, incomplete: bool
) -> None:
    """``response.done`` statuses map to the end event's finish reason; function calls become tool calls."""
    server.script(turn)
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await talk(conn)
    ended_once(rec)
    end = one(rec, LLMEndEvent)
    assert (end.finish_reason, end.incomplete) == (finish_reason, incomplete)
    assert one(rec, RealtimeResponseEvent).is_complete is (turn.status == "completed")
    if turn.function_call:
        assert end.tool_calls == [
            {"id": end.tool_calls[0]["id"], "name": "get_weather", "arguments": {"city": "Oslo"}}
        ]


async def test_failed_response_is_an_llm_error(server: RealtimeDemoServer, rec: RecordingCallbacks) -> None:
    """``status: failed``: the LLM run ends with an error carrying the server's code."""
    server.script(
        Turn("x", status="failed", error_code="server_error", error_message="The server had an error")
    )
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await talk(conn)
    ended_once(rec)
    error = one(rec, LLMErrorEvent)
    assert (error.error_message, error.error_code, error.is_recoverable) == (
        "The server had an error",
        "server_error",
        True,
    )
    response = one(rec, RealtimeResponseEvent)
    assert (response.is_complete, response.status) == (False, "failed")


# -- handlers, content and cost -------------------------------------------------------------------


async def test_content_capture_off_keeps_audio_and_text_out(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """``capture_content=False``: sizes and durations stay, the audio, transcripts and instructions go."""
    configure_redaction(capture_content=False)
    server.reply("secret plans")
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await talk(conn)
    audio = [*rec.of_type(RealtimeAudioInputEvent), *rec.of_type(RealtimeAudioOutputEvent)]
    assert audio and all(a.data is None and a.audio_bytes > 0 and a.duration_ms for a in audio)
    for cls in (RealtimeUserTranscriptionEvent, RealtimeAgentTranscriptionEvent, RealtimeResponseEvent):
        assert one(rec, cls).text.startswith("<redacted: ")
    assert one(rec, RealtimeConnectedEvent).session_config["instructions"].startswith("<redacted: ")
    assert "secret" not in str([e.to_dict() for e in rec.events if not isinstance(e, LLMTokenEvent)])


async def test_token_counter_and_scoped_handlers_see_voice(server: RealtimeDemoServer) -> None:
    """Handlers built for chat count voice responses: tokens per model, under the caller's agent run."""
    counter = TokenCounter()
    rec = RecordingCallbacks()
    server.reply("hello", input_tokens=12, output_text_tokens=2, output_audio_tokens=6)
    client = aclient(server, [counter, rec])
    async with (
        agent_run(agent_name="voice-bot", callbacks=rec) as agent,
        client.realtime.connect(model=MODEL) as conn,
    ):
        await talk(conn)
    assert (counter.prompt_tokens, counter.completion_tokens) == (12, 8)
    assert one(rec, ChainStartEvent).parent_run_id == agent.run_id


async def test_budget_abort_on_a_response_reaches_the_reader(server: RealtimeDemoServer) -> None:
    """A handler refusing a response (``Abort``) stops the caller's read; every run still ends once."""

    class NoMoreVoice(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise BudgetExceeded("voice budget spent", limit=0.0, spent=0.0)

    rec = RecordingCallbacks()
    async with aclient(server, [rec, NoMoreVoice()]).realtime.connect(model=MODEL) as conn:
        with pytest.raises(BudgetExceeded):
            await talk(conn)
    ended_once(rec)
    error = one(rec, LLMErrorEvent)
    assert isinstance(error.error, BudgetExceeded)
    assert rec.types()[-2:] == ["realtime.disconnected", "chain.end"]


async def test_a_handler_refusing_the_session_closes_the_connection(server: RealtimeDemoServer) -> None:
    """``Abort`` on the session's start: ``connect`` raises it, the socket is closed, the run ended once."""

    class NoSessions(Callbacks):
        def on_chain_start(self, event: ChainStartEvent) -> None:
            raise Abort("no voice today")

    rec = RecordingCallbacks()
    with pytest.raises(Abort, match="no voice today"):
        async with aclient(server, [rec, NoSessions()]).realtime.connect(model=MODEL):
            pytest.fail("the block must not run")
    assert rec.types() == ["chain.start", "chain.error"]
    assert server.connections == 1 and not server.received


async def test_async_handlers_are_awaited_in_order(server: RealtimeDemoServer) -> None:
    """Async handler methods are awaited as each protocol event is read, in the order of the protocol."""
    seen: list[str] = []

    class Slow(Callbacks):
        async def on_event(self, event: Event) -> None:
            await asyncio.sleep(0)
            seen.append(event.type)

    server.reply("a b")
    async with aclient(server, Slow()).realtime.connect(model=MODEL) as conn:
        await conn.response.create()
        async for event in conn:
            if event.type == "response.output_audio_transcript.delta":
                assert seen[-1] == "llm.token"  # delivered before the SDK event reached us
            if event.type == "response.done":
                break
    assert seen[-2:] == ["realtime.disconnected", "chain.end"]


async def test_a_handler_of_realtime_events_only_gets_them_tied_together(server: RealtimeDemoServer) -> None:
    """No handler takes run events: the realtime events still come, with ids tying audio to its response."""

    class VoiceOnly(Callbacks):
        def __init__(self) -> None:
            self.events: list[Event] = []

        def on_realtime_connected(self, event: RealtimeConnectedEvent) -> None:
            self.events.append(event)

        def on_realtime_audio_output(self, event: RealtimeAudioOutputEvent) -> None:
            self.events.append(event)

        def on_realtime_response(self, event: RealtimeResponseEvent) -> None:
            self.events.append(event)

    voice = VoiceOnly()
    server.reply("hi", audio_chunks=2)
    async with aclient(server, voice).realtime.connect(model=MODEL) as conn:
        await talk(conn)
    connected, out1, out2, response = voice.events
    assert isinstance(connected, RealtimeConnectedEvent) and isinstance(response, RealtimeResponseEvent)
    assert out1.response_id == out2.response_id == response.response_id  # type: ignore[attr-defined]
    assert out1.run_id == response.run_id != connected.run_id
    assert out1.parent_run_id == connected.run_id and out1.trace_id == connected.trace_id


async def test_seed_004_subscribers_get_the_sessions_events(server: RealtimeDemoServer) -> None:
    """Subscribers annotated with vision-agents' names receive what the realtime producer fires."""
    bus = EventManager()
    said: list[tuple[str, str]] = []
    deltas: list[str] = []
    completed: list[Any] = []

    @bus.subscribe
    async def on_speech(
        event: RealtimeUserSpeechTranscriptionEvent | RealtimeAgentSpeechTranscriptionEvent,
    ) -> None:
        said.append((type(event).__name__, event.text))

    @bus.subscribe
    async def on_chunk(event: LLMResponseChunkEvent) -> None:
        if event.delta:
            deltas.append(event.delta)

    @bus.subscribe
    async def on_done(event: LLMResponseCompletedEvent | RealtimeDisconnectedEvent) -> None:
        completed.append(event)

    server.reply("Take an umbrella")
    async with aclient(server, bus).realtime.connect(model=MODEL) as conn:
        await talk(conn)
    assert await bus.wait()
    assert said == [
        ("RealtimeUserTranscriptionEvent", "what is the weather"),
        ("RealtimeAgentTranscriptionEvent", "Take an umbrella"),
    ]
    assert "".join(deltas) == "Take an umbrella"
    end, gone = completed
    assert (end.text, end.plugin_name, end.model) == ("Take an umbrella", "openai", MODEL)
    assert (gone.was_clean, gone.reason, gone.plugin_name) == (True, "closed by the client", "openai")
    bus.shutdown()


# -- ways of reading and sending ------------------------------------------------------------------


async def test_recv_bytes_and_parse_event_are_observed(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """Reading raw frames and parsing them with the connection's ``parse_event`` reports the same events."""
    server.reply("raw")
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await conn.response.create()
        while conn.parse_event(await conn.recv_bytes()).type != "response.done":
            pass
    ended_once(rec)
    assert one(rec, LLMEndEvent).response == "raw"
    assert one(rec, RealtimeConnectedEvent).session_id


async def test_events_queued_before_connecting_are_seen(
    server: RealtimeDemoServer, rec: RecordingCallbacks
) -> None:
    """``manager.send(...)`` before the connection opens: the SDK sends it on open, and so it is reported."""
    manager = aclient(server, rec).realtime.connect(model=MODEL)
    manager.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    async with manager as conn:
        await conn.recv()
    assert one(rec, RealtimeAudioInputEvent).audio_bytes == len(PCM)
    assert "input_audio_buffer.append" in server.received_types()


def test_sync_client_session(server: RealtimeDemoServer, rec: RecordingCallbacks) -> None:
    """The sync ``OpenAI`` client's realtime connection reports the same runs and events."""
    server.reply("in sync", audio_chunks=1)
    client = instrument_openai(openai.OpenAI(api_key="sk-test", websocket_base_url=server.url), callbacks=rec)
    with client.realtime.connect(model=MODEL) as conn:
        conn.input_audio_buffer.append(audio=AUDIO)
        conn.response.create()
        for event in conn:
            if event.type == "response.done":
                break
    ended_once(rec)
    assert one(rec, LLMEndEvent).response == "in sync"
    assert rec.types()[:3] == ["chain.start", "realtime.audio_input", "realtime.connected"]
    assert rec.types()[-2:] == ["realtime.disconnected", "chain.end"]


async def test_nobody_listening_leaves_the_connection_as_it_is(server: RealtimeDemoServer) -> None:
    """With no handler at connect time the connection's methods are the SDK's own, and it works."""
    server.reply("quiet")
    async with aclient(server, None).realtime.connect(model=MODEL) as conn:
        assert conn.send.__func__ is type(conn).send  # type: ignore[attr-defined]
        assert "recv" not in conn.__dict__
        assert (await talk(conn))[-1] == "response.done"


async def test_uninstrument_stops_new_sessions(server: RealtimeDemoServer, rec: RecordingCallbacks) -> None:
    """After ``uninstrument_openai`` new connections report nothing."""
    client = aclient(server, rec)
    assert uninstrument_openai(client)
    async with client.realtime.connect(model=MODEL) as conn:
        await talk(conn)
    assert rec.events == []


async def test_api_key_never_reaches_an_event(server: RealtimeDemoServer, rec: RecordingCallbacks) -> None:
    """The bearer key the SDK sends is nowhere in the events."""
    async with aclient(server, rec).realtime.connect(model=MODEL) as conn:
        await talk(conn)
    assert server.headers[0]["authorization"] == "Bearer sk-test"
    assert "sk-test" not in str([e.to_dict() for e in rec.events])
