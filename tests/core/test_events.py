"""Events: shape, names, serialisation."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

import llmhooks
from llmhooks.events import Event, event_from_dict, event_types, new_run_id, new_trace_id


def test_every_event_type_has_a_dotted_name_and_a_handler_method() -> None:
    """Each registered event class maps its dotted type to an on_* method of Callbacks."""
    types = {n: c for n, c in event_types().items() if c.__module__.startswith("llmhooks.events")}
    assert len(types) >= 35
    for name, cls in types.items():
        assert cls.type == name and "." in name
        assert cls.handler_method == "on_" + name.replace(".", "_")
        assert hasattr(llmhooks.Callbacks, cls.handler_method)
        assert hasattr(llmhooks.Callbacks, cls.handler_method + "_async")


def test_events_are_slotted_and_keyword_only() -> None:
    """Events take keyword arguments only and have no per-instance dict."""
    ev = llmhooks.LLMStartEvent(provider="openai", model="gpt-4o")
    assert not hasattr(ev, "__dict__")
    with pytest.raises(TypeError):
        llmhooks.LLMStartEvent("openai")  # type: ignore[misc]


def test_issue_fields_exist() -> None:
    """The fields the issue names are on the events."""
    want = {
        llmhooks.LLMStartEvent: "provider model messages prompt temperature max_tokens tools streaming "
        "params",
        llmhooks.LLMTokenEvent: "token index is_first time_to_first_token_ms",
        llmhooks.LLMEndEvent: "response input_tokens output_tokens total_tokens cached_input_tokens "
        "reasoning_tokens latency_ms time_to_first_token_ms finish_reason tool_calls cost incomplete",
        llmhooks.LLMErrorEvent: "error error_type error_code is_recoverable cancelled latency_ms",
        llmhooks.ToolStartEvent: "tool_name arguments tool_call_id server_name",
        llmhooks.ToolEndEvent: "result success latency_ms",
        llmhooks.ToolErrorEvent: "error error_type latency_ms",
        llmhooks.MCPConnectEvent: "server_name transport tools_count resources_count prompts_count",
        llmhooks.MCPDisconnectEvent: "reason",
        llmhooks.MCPProgressEvent: "tool_name progress total message",
        llmhooks.MCPLoggingEvent: "level data logger_name",
        llmhooks.GraphNodeStartEvent: "node_id node_type inputs step",
        llmhooks.GraphNodeEndEvent: "outputs latency_ms",
        llmhooks.GraphNodeErrorEvent: "error",
        llmhooks.AgentStartEvent: "goal",
        llmhooks.AgentStepEvent: "action step",
        llmhooks.AgentEndEvent: "result",
        llmhooks.ChainStartEvent: "chain_name",
        llmhooks.RetrievalStartEvent: "query",
        llmhooks.RetrievalEndEvent: "documents",
        llmhooks.RealtimeConnectedEvent: "provider session_id session_config capabilities",
        llmhooks.RealtimeDisconnectedEvent: "reason was_clean",
        llmhooks.RealtimeAudioInputEvent: "data response_id",
        llmhooks.RealtimeAudioOutputEvent: "data response_id",
        llmhooks.RealtimeResponseEvent: "text response_id is_complete",
        llmhooks.RealtimeUserTranscriptionEvent: "text",
        llmhooks.RealtimeAgentTranscriptionEvent: "text",
        llmhooks.RealtimeErrorEvent: "error_code is_recoverable",
        llmhooks.VLMInferenceStartEvent: "inference_id model frames_count",
        llmhooks.VLMInferenceCompletedEvent: "text latency_ms input_tokens output_tokens frames_processed "
        "detections",
        llmhooks.VLMErrorEvent: "error",
    }
    common = {"run_id", "parent_run_id", "trace_id", "timestamp", "tags", "metadata"}
    for cls, names in want.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = (set(names.split()) | common) - fields
        assert not missing, f"{cls.__name__} lacks {missing}"


class _Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_to_dict_is_json_serialisable_whatever_the_payload() -> None:
    """to_dict never raises and always gives JSON, for every event type and odd payloads."""
    cyclic: list[object] = []
    cyclic.append(cyclic)
    payloads = [
        ValueError("bad"),
        b"\x00\x01audio",
        {1: object(), "nested": {"set": {1, 2}}},
        _Hostile(),
        float("nan"),
        cyclic,
        "x" * 200_000,
    ]
    for cls in event_types().values():
        field_names = [f.name for f in dataclasses.fields(cls) if f.name not in ("tags", "metadata")]
        for payload in payloads:
            kwargs = {n: payload for n in field_names if n not in ("timestamp",)}
            ev = cls(**kwargs)
            text = json.dumps(ev.to_dict())
            assert json.loads(text)["type"] == cls.type


def test_exception_becomes_type_and_message() -> None:
    """An exception payload serialises as its type and message, and error_message reads it."""
    ev = llmhooks.LLMErrorEvent(error=TimeoutError("slow"))
    assert ev.to_dict()["error"] == {"error_type": "TimeoutError", "message": "slow"}
    assert ev.error_message == "slow"
    assert llmhooks.ToolErrorEvent(error=KeyError()).error_message == "KeyError"
    assert llmhooks.ToolErrorEvent(error="plain").error_message == "plain"


def test_event_round_trips_through_dict() -> None:
    """event_from_dict rebuilds the same event from to_dict output."""
    ev = llmhooks.LLMEndEvent(
        run_id=new_run_id(), trace_id=new_trace_id(), model="m", response="hi", input_tokens=3, tags=["a"]
    )
    back = event_from_dict(json.loads(json.dumps(ev.to_dict())))
    assert back == ev
    with pytest.raises(ValueError, match="unknown event type 'nope'"):
        event_from_dict({"type": "nope"})


def test_ids_are_opentelemetry_shaped_and_unique() -> None:
    """Trace ids are 32 hex chars, run ids 16, and they do not repeat."""
    traces = {new_trace_id() for _ in range(1000)}
    runs = {new_run_id() for _ in range(1000)}
    assert len(traces) == 1000 and len(runs) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in traces)
    assert all(re.fullmatch(r"[0-9a-f]{16}", r) for r in runs)


def test_custom_event_types_are_dispatched() -> None:
    """A user's Event subclass gets its own handler method name and reaches on_event."""
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(slots=True, kw_only=True)
    class CacheHitEvent(Event):
        type: ClassVar[str] = "myapp.cache_hit"
        key: str = ""

    assert CacheHitEvent.handler_method == "on_myapp_cache_hit"
    from llmhooks.testing import RecordingCallbacks

    rec = RecordingCallbacks()
    llmhooks.CallbackManager([rec]).emit(CacheHitEvent(key="k"))
    assert rec.types() == ["myapp.cache_hit"]


def test_events_stay_dataclasses_for_the_standard_tools() -> None:
    """fields(), replace(), asdict(), pickle, copy, == and repr work on every event class."""
    import copy
    import pickle

    for cls in {c for c in event_types().values() if c.__module__.startswith("llmhooks.")}:
        ev = cls(run_id="r1", metadata={"k": 1})
        assert dataclasses.is_dataclass(ev)
        names = [f.name for f in dataclasses.fields(ev)]
        assert names[:3] == ["run_id", "parent_run_id", "trace_id"] and len(names) == len(set(names))
        assert dataclasses.replace(ev, run_id="r2").run_id == "r2"
        assert dataclasses.asdict(ev)["metadata"] == {"k": 1}
        assert pickle.loads(pickle.dumps(ev)) == ev == copy.copy(ev)
        assert repr(ev).startswith(f"{cls.__qualname__}(run_id='r1'")
    a, b = llmhooks.LLMStartEvent(), llmhooks.LLMStartEvent()
    assert a.tags is not b.tags and a.metadata is not b.metadata  # defaults made per instance


def test_a_users_dataclass_subclass_works_and_is_dispatched() -> None:
    """``@dataclass`` on a subclass of ``Event`` gives a normal dataclass, delivered to ``on_<type>``."""
    from typing import ClassVar

    @dataclasses.dataclass(kw_only=True)
    class Deployed(Event):
        type: ClassVar[str] = "app.deployed"
        version: str = "1"

    class Listener(llmhooks.Callbacks):
        validate_names = False

        def __init__(self) -> None:
            self.got: list[Event] = []

        def on_app_deployed(self, event: Deployed) -> None:
            self.got.append(event)

    listener = Listener()
    ev = Deployed(version="2", run_id="x")
    llmhooks.CallbackManager([listener]).emit(ev)
    assert listener.got == [ev] and ev.version == "2" and ev.tags == []
    assert [f.name for f in dataclasses.fields(ev)][-1] == "version"


def test_hand_built_error_event_derives_error_type() -> None:
    """An error event built by hand with an exception and no ``error_type`` names its class (ai-infra)."""
    assert llmhooks.LLMErrorEvent(error=KeyError("x")).error_type == "KeyError"
    assert llmhooks.ToolErrorEvent(error=ValueError(), error_type="Custom").error_type == "Custom"
    assert llmhooks.ToolErrorEvent(error="text").error_type is None


def test_seed_004_names_are_our_classes_and_fields() -> None:
    """Seed 004's names are the same classes; its field names read and write ours."""
    from llmhooks.events import (
        LLMRequestStartedEvent,
        LLMResponseChunkEvent,
        LLMResponseCompletedEvent,
        RealtimeUserSpeechTranscriptionEvent,
        lookup_type,
    )

    assert LLMRequestStartedEvent is llmhooks.LLMStartEvent
    assert LLMResponseChunkEvent is llmhooks.LLMTokenEvent
    assert LLMResponseCompletedEvent is llmhooks.LLMEndEvent
    assert RealtimeUserSpeechTranscriptionEvent is llmhooks.RealtimeUserTranscriptionEvent
    started = LLMRequestStartedEvent(
        plugin_name="openai", request_id="req-123", model="gpt-4", streaming=True
    )
    assert (started.provider, started.run_id, started.request_id) == ("openai", "req-123", "req-123")
    chunk = LLMResponseChunkEvent(delta="Hi", is_first_chunk=True, time_to_first_token_ms=12.0)
    assert (chunk.token, chunk.is_first, chunk.item_id) == ("Hi", True, None)
    done = LLMResponseCompletedEvent(text="Hi there", input_tokens=3)
    assert done.response == "Hi there" and done.text == "Hi there"
    tool = llmhooks.ToolEndEvent(tool_name="t", execution_time_ms=5.0, success=False, error="boom")
    assert (tool.latency_ms, tool.error) == (5.0, "boom")
    assert lookup_type("plugin.llm_request_started") is llmhooks.LLMStartEvent
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        llmhooks.LLMStartEvent(nope=1)


def test_fields_a_fast_builder_leaves_unset_read_as_their_default() -> None:
    """An event filled field by field reads an unset field as its default (and keeps it)."""
    ev = object.__new__(llmhooks.LLMTokenEvent)
    assert ev.item_id is None and ev.tags == [] and ev.tags is ev.tags
    with pytest.raises(AttributeError):
        ev.no_such_field  # noqa: B018


def test_a_hand_built_error_event_names_its_error_type() -> None:
    """Issue 9: ``XErrorEvent(error=exc)`` derives ``error_type`` from ``exc``, as ai-infra does."""
    classes = [c for c in event_types().values() if "error_type" in {f.name for f in dataclasses.fields(c)}]
    assert len(classes) >= 9
    for cls in classes:
        assert cls(error=KeyError("k")).error_type == "KeyError", cls
        assert cls(error=KeyError("k"), error_type="Mine").error_type == "Mine", cls
        assert cls(error="plain text").error_type is None, cls
