"""Plain data: the event classes. Imports nothing of llmhooks outside this package."""

from __future__ import annotations

from llmhooks.events._ids import new_run_id, new_trace_id
from llmhooks.events.agent import (
    AgentEndEvent,
    AgentErrorEvent,
    AgentEvent,
    AgentStartEvent,
    AgentStepEvent,
)
from llmhooks.events.aliases import (
    LLMRequestStartedEvent,
    LLMResponseChunkEvent,
    LLMResponseCompletedEvent,
    RealtimeAgentSpeechTranscriptionEvent,
    RealtimeUserSpeechTranscriptionEvent,
)
from llmhooks.events.base import ErrorInfo, Event, event_types, lookup_type, type_aliases, type_names
from llmhooks.events.chain import ChainEndEvent, ChainErrorEvent, ChainEvent, ChainStartEvent
from llmhooks.events.graph import (
    GraphEvent,
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    GraphNodeStartEvent,
)
from llmhooks.events.handler import HandlerErrorEvent
from llmhooks.events.llm import LLMEndEvent, LLMErrorEvent, LLMEvent, LLMStartEvent, LLMTokenEvent
from llmhooks.events.mcp import (
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
)
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
from llmhooks.events.retrieval import (
    RetrievalEndEvent,
    RetrievalErrorEvent,
    RetrievalEvent,
    RetrievalStartEvent,
)
from llmhooks.events.serialize import event_from_dict, event_to_dict, to_jsonable
from llmhooks.events.tool import ToolEndEvent, ToolErrorEvent, ToolEvent, ToolStartEvent
from llmhooks.events.vlm import (
    VLMErrorEvent,
    VLMEvent,
    VLMInferenceCompletedEvent,
    VLMInferenceStartEvent,
)

__all__ = [
    "AgentEndEvent",
    "AgentErrorEvent",
    "AgentEvent",
    "AgentStartEvent",
    "AgentStepEvent",
    "ChainEndEvent",
    "ChainErrorEvent",
    "ChainEvent",
    "ChainStartEvent",
    "ErrorInfo",
    "Event",
    "GraphEvent",
    "GraphNodeEndEvent",
    "GraphNodeErrorEvent",
    "GraphNodeStartEvent",
    "HandlerErrorEvent",
    "LLMEndEvent",
    "LLMErrorEvent",
    "LLMRequestStartedEvent",
    "LLMResponseChunkEvent",
    "LLMResponseCompletedEvent",
    "LLMEvent",
    "LLMStartEvent",
    "LLMTokenEvent",
    "MCPConnectEvent",
    "MCPDisconnectEvent",
    "MCPEvent",
    "MCPLoggingEvent",
    "MCPProgressEvent",
    "RealtimeAgentSpeechTranscriptionEvent",
    "RealtimeAgentTranscriptionEvent",
    "RealtimeAudioInputEvent",
    "RealtimeAudioOutputEvent",
    "RealtimeConnectedEvent",
    "RealtimeDisconnectedEvent",
    "RealtimeErrorEvent",
    "RealtimeEvent",
    "RealtimeResponseEvent",
    "RealtimeUserSpeechTranscriptionEvent",
    "RealtimeUserTranscriptionEvent",
    "RetrievalEndEvent",
    "RetrievalErrorEvent",
    "RetrievalEvent",
    "RetrievalStartEvent",
    "ToolEndEvent",
    "ToolErrorEvent",
    "ToolEvent",
    "ToolStartEvent",
    "VLMErrorEvent",
    "VLMEvent",
    "VLMInferenceCompletedEvent",
    "VLMInferenceStartEvent",
    "event_from_dict",
    "event_to_dict",
    "event_types",
    "lookup_type",
    "type_aliases",
    "type_names",
    "new_run_id",
    "new_trace_id",
    "to_jsonable",
]
