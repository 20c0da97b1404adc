"""Other systems' names for our events: the same classes, under the names their users know.

Vision Agents (seed 004) names the LLM events ``LLMRequestStartedEvent``,
``LLMResponseChunkEvent`` and ``LLMResponseCompletedEvent``, and some fields
differently (``request_id``, ``delta``, ``is_first_chunk``, ``plugin_name``,
``execution_time_ms``, ``text``). Here each of its names *is* one of our classes, and
each of its field names reads and writes one of our fields, so a subscriber annotated
with a seed-004 name receives the events llmhooks' own producers fire, and code built
on it runs unchanged but for its imports. No second event system, no event built twice::

    from llmhooks.events import LLMRequestStartedEvent, LLMResponseChunkEvent

    LLMRequestStartedEvent is LLMStartEvent      # True
    event = LLMRequestStartedEvent(plugin_name="openai", request_id="req-1", model="gpt-4")
    event.provider, event.run_id                 # ("openai", "req-1")

Its ``type`` strings (``"plugin.llm_request_started"``...) name our classes too, for
events sent as dicts (``EventManager.send({"type": ...})``) and for ``lookup_type``.
"""

from __future__ import annotations

from llmhooks.events._model import add_aliases
from llmhooks.events.base import _TYPE_ALIASES
from llmhooks.events.llm import LLMEndEvent, LLMErrorEvent, LLMEvent, LLMStartEvent, LLMTokenEvent
from llmhooks.events.realtime import (
    RealtimeAgentTranscriptionEvent,
    RealtimeAudioInputEvent,
    RealtimeAudioOutputEvent,
    RealtimeConnectedEvent,
    RealtimeDisconnectedEvent,
    RealtimeErrorEvent,
    RealtimeEvent,
    RealtimeResponseEvent,
    RealtimeUserTranscriptionEvent,
)
from llmhooks.events.tool import ToolEndEvent, ToolEvent, ToolStartEvent
from llmhooks.events.vlm import VLMErrorEvent, VLMEvent, VLMInferenceCompletedEvent, VLMInferenceStartEvent

__all__ = [
    "LLMRequestStartedEvent",
    "LLMResponseChunkEvent",
    "LLMResponseCompletedEvent",
    "RealtimeAgentSpeechTranscriptionEvent",
    "RealtimeUserSpeechTranscriptionEvent",
]

# seed 004's class names
LLMRequestStartedEvent = LLMStartEvent
LLMResponseChunkEvent = LLMTokenEvent
LLMResponseCompletedEvent = LLMEndEvent
RealtimeUserSpeechTranscriptionEvent = RealtimeUserTranscriptionEvent
RealtimeAgentSpeechTranscriptionEvent = RealtimeAgentTranscriptionEvent

# seed 004's field names; its PluginBaseEvent's plugin_name is the provider (for tools: the
# server or plugin that ran it), its request and inference ids are our run id
add_aliases(LLMEvent, {"plugin_name": "provider", "request_id": "run_id"})
add_aliases(LLMTokenEvent, {"delta": "token", "is_first_chunk": "is_first"})
add_aliases(LLMEndEvent, {"text": "response"})
add_aliases(ToolEvent, {"plugin_name": "server_name"})
add_aliases(ToolEndEvent, {"execution_time_ms": "latency_ms"})
add_aliases(RealtimeEvent, {"plugin_name": "provider"})
add_aliases(VLMEvent, {"plugin_name": "provider"})

# seed 004's ``type`` strings
_TYPE_ALIASES.update(
    {
        "plugin.llm_request_started": LLMStartEvent.type,
        "plugin.llm_response_chunk": LLMTokenEvent.type,
        "plugin.llm_response_completed": LLMEndEvent.type,
        "plugin.llm_error": LLMErrorEvent.type,
        "plugin.llm.tool.start": ToolStartEvent.type,
        "plugin.llm.tool.end": ToolEndEvent.type,
        "plugin.realtime_connected": RealtimeConnectedEvent.type,
        "plugin.realtime_disconnected": RealtimeDisconnectedEvent.type,
        "plugin.realtime_audio_input": RealtimeAudioInputEvent.type,
        "plugin.realtime_audio_output": RealtimeAudioOutputEvent.type,
        "plugin.realtime_response": RealtimeResponseEvent.type,
        "plugin.realtime_error": RealtimeErrorEvent.type,
        "plugin.realtime_user_speech_transcription": RealtimeUserTranscriptionEvent.type,
        "plugin.realtime_agent_speech_transcription": RealtimeAgentTranscriptionEvent.type,
        "plugin.vlm_inference_start": VLMInferenceStartEvent.type,
        "plugin.vlm_inference_completed": VLMInferenceCompletedEvent.type,
        "plugin.vlm_error": VLMErrorEvent.type,
    }
)
