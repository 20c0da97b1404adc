"""llmhooks: every LLM call, token, tool call, MCP operation, agent step and graph
node as a typed event for handlers to log, meter, price, limit and export.

    from llmhooks import Callbacks, llm_run

    class Printer(Callbacks):
        def on_llm_end(self, event):
            print(event.model, event.total_tokens, event.latency_ms)

    with llm_run(provider="offline", model="m", callbacks=Printer()) as run:
        run.finish(response="hi", input_tokens=3, output_tokens=1)

Optional parts (integrations, handlers needing extras) load on first use, so
``import llmhooks`` stays fast and needs nothing outside the standard library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from llmhooks._version import __version__ as __version__
from llmhooks.core import (
    AgentRun,
    BackgroundWorker,
    CallbackManager,
    Callbacks,
    ChainRun,
    HandlerStats,
    LLMRun,
    NodeRun,
    RetrievalRun,
    Run,
    RunContext,
    ToolRun,
    agent_run,
    aisolated,
    callbacks_context,
    chain_run,
    configure_background,
    current_run,
    flush,
    get_global_callbacks,
    get_run_context,
    global_manager,
    isolated,
    llm_run,
    node_run,
    retrieval_run,
    run_context,
    set_global_callbacks,
    suppress_instrumentation,
    to_thread,
    tool_run,
    use_run,
)
from llmhooks.core._resolve import register_style as _register_style
from llmhooks.core.classify import register_classifier as _register_classifier
from llmhooks.errors import (
    Abort,
    BudgetExceeded,
    InvalidHandlerError,
    LLMHooksError,
    MissingExtraError,
    RateLimitExceeded,
)
from llmhooks.events import (
    AgentEndEvent,
    AgentErrorEvent,
    AgentEvent,
    AgentStartEvent,
    AgentStepEvent,
    ChainEndEvent,
    ChainErrorEvent,
    ChainEvent,
    ChainStartEvent,
    Event,
    GraphEvent,
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    GraphNodeStartEvent,
    LLMEndEvent,
    LLMErrorEvent,
    LLMEvent,
    LLMStartEvent,
    LLMTokenEvent,
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    RealtimeAgentTranscriptionEvent,
    RealtimeAudioInputEvent,
    RealtimeAudioOutputEvent,
    RealtimeConnectedEvent,
    RealtimeDisconnectedEvent,
    RealtimeErrorEvent,
    RealtimeEvent,
    RealtimeResponseEvent,
    RealtimeUserTranscriptionEvent,
    RetrievalEndEvent,
    RetrievalErrorEvent,
    RetrievalEvent,
    RetrievalStartEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolEvent,
    ToolStartEvent,
    VLMErrorEvent,
    VLMEvent,
    VLMInferenceCompletedEvent,
    VLMInferenceStartEvent,
)

if TYPE_CHECKING:  # the lazy names, for type checkers and IDEs
    from llmhooks.agent import Agent
    from llmhooks.bus import EventManager, HandlerErrorEvent
    from llmhooks.compat import (
        CompositeCallbackHandler,
        CustomAsyncCallbackHandler,
        KeywordCallbacks,
        KeywordResponse,
    )
    from llmhooks.core.executor import ContextExecutor
    from llmhooks.core.redaction import Redactor, configure_redaction
    from llmhooks.events import (
        LLMRequestStartedEvent,
        LLMResponseChunkEvent,
        LLMResponseCompletedEvent,
        RealtimeAgentSpeechTranscriptionEvent,
        RealtimeUserSpeechTranscriptionEvent,
    )
    from llmhooks.handlers.budget import CostLimiter
    from llmhooks.handlers.cost import CostTracker, Price
    from llmhooks.handlers.logging import LoggingCallbacks
    from llmhooks.handlers.metrics import MetricsCallbacks
    from llmhooks.handlers.otel import OpenTelemetryCallbacks
    from llmhooks.handlers.printing import PrintCallbacks
    from llmhooks.handlers.prometheus import PrometheusCallbacks
    from llmhooks.handlers.ratelimit import RateLimiter
    from llmhooks.handlers.record import EventRecorder, ReplayResult, areplay, read_events, replay
    from llmhooks.handlers.streaming import StreamingProgress
    from llmhooks.handlers.tokens import TokenCounter
    from llmhooks.instrument import (
        instrument_llm,
        instrument_node,
        instrument_tool,
        llm_chat_callback,
        llm_completion_callback,
    )
    from llmhooks.integrations.anthropic import instrument_anthropic, uninstrument_anthropic
    from llmhooks.integrations.mcp import MCPClient, MCPConnectionError, MCPTimeoutError, MCPToolError
    from llmhooks.integrations.openai import instrument_openai, uninstrument_openai
    from llmhooks.llm import LLM, ChatResponse, ToolCall, Usage
    from llmhooks.tools import Tool, ToolArgumentError

# name -> module that defines it; imported on first access (see __getattr__)
_LAZY: dict[str, str] = {
    # seed 004's (Vision Agents') names for our events: the same classes
    "LLMRequestStartedEvent": "llmhooks.events",
    "LLMResponseChunkEvent": "llmhooks.events",
    "LLMResponseCompletedEvent": "llmhooks.events",
    "RealtimeUserSpeechTranscriptionEvent": "llmhooks.events",
    "RealtimeAgentSpeechTranscriptionEvent": "llmhooks.events",
    "ContextExecutor": "llmhooks.core.executor",
    # handlers (stdlib; extras where noted)
    "LoggingCallbacks": "llmhooks.handlers.logging",
    "PrintCallbacks": "llmhooks.handlers.printing",
    "MetricsCallbacks": "llmhooks.handlers.metrics",
    "TokenCounter": "llmhooks.handlers.tokens",
    "CostTracker": "llmhooks.handlers.cost",
    "CostLimiter": "llmhooks.handlers.budget",
    "RateLimiter": "llmhooks.handlers.ratelimit",
    "StreamingProgress": "llmhooks.handlers.streaming",
    "EventRecorder": "llmhooks.handlers.record",
    "ReplayResult": "llmhooks.handlers.record",
    "replay": "llmhooks.handlers.record",
    "read_events": "llmhooks.handlers.record",
    "areplay": "llmhooks.handlers.record",
    "Price": "llmhooks.handlers.cost",
    "OpenTelemetryCallbacks": "llmhooks.handlers.otel",  # extra: otel
    "PrometheusCallbacks": "llmhooks.handlers.prometheus",  # extra: prometheus
    # instrumentation, bus, other handler styles
    "instrument_llm": "llmhooks.instrument",
    "instrument_tool": "llmhooks.instrument",
    "instrument_node": "llmhooks.instrument",
    "llm_chat_callback": "llmhooks.instrument",
    "llm_completion_callback": "llmhooks.instrument",
    "EventManager": "llmhooks.bus",
    "HandlerErrorEvent": "llmhooks.bus",
    "KeywordResponse": "llmhooks.compat",
    "configure_redaction": "llmhooks.core.redaction",
    "Redactor": "llmhooks.core.redaction",
    "KeywordCallbacks": "llmhooks.compat",
    "CustomAsyncCallbackHandler": "llmhooks.compat",
    "CompositeCallbackHandler": "llmhooks.compat",
    # producers
    "LLM": "llmhooks.llm",
    "ChatResponse": "llmhooks.llm",
    "ToolCall": "llmhooks.llm",
    "Usage": "llmhooks.llm",
    "Agent": "llmhooks.agent",
    "MCPClient": "llmhooks.integrations.mcp",
    "MCPToolError": "llmhooks.integrations.mcp",
    "MCPConnectionError": "llmhooks.integrations.mcp",
    "MCPTimeoutError": "llmhooks.integrations.mcp",
    "instrument_openai": "llmhooks.integrations.openai",
    "uninstrument_openai": "llmhooks.integrations.openai",
    "instrument_anthropic": "llmhooks.integrations.anthropic",
    "uninstrument_anthropic": "llmhooks.integrations.anthropic",
    "Tool": "llmhooks.tools",
    "ToolArgumentError": "llmhooks.tools",
    # across processes (llmhooks[redis])
    "TokenLedger": "llmhooks.handlers.redis",
    "RedisTokenLedger": "llmhooks.handlers.redis",
    "RedisCostLimiter": "llmhooks.handlers.redis",
    "RedisRateLimiter": "llmhooks.handlers.redis",
    "RedisStreamShipper": "llmhooks.handlers.redis",
    "RedisStreamConsumer": "llmhooks.handlers.redis",
    "EventShipper": "llmhooks.handlers.shipping",
    "Collector": "llmhooks.handlers.collector",
    "RedisTokenCallbackHandler": "llmhooks.compat",
    "DetailedRedisTokenCallbackHandler": "llmhooks.compat",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmhooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Abort",
    "Agent",
    "AgentEndEvent",
    "AgentErrorEvent",
    "AgentEvent",
    "AgentRun",
    "AgentStartEvent",
    "AgentStepEvent",
    "BackgroundWorker",
    "BudgetExceeded",
    "CallbackManager",
    "Callbacks",
    "ChainEndEvent",
    "ChainErrorEvent",
    "ChainEvent",
    "ChainRun",
    "ChainStartEvent",
    "ChatResponse",
    "CompositeCallbackHandler",
    "ContextExecutor",
    "CostLimiter",
    "CostTracker",
    "CustomAsyncCallbackHandler",
    "Event",
    "EventManager",
    "EventRecorder",
    "GraphEvent",
    "GraphNodeEndEvent",
    "GraphNodeErrorEvent",
    "GraphNodeStartEvent",
    "HandlerErrorEvent",
    "HandlerStats",
    "InvalidHandlerError",
    "KeywordCallbacks",
    "KeywordResponse",
    "LLM",
    "LLMEndEvent",
    "LLMErrorEvent",
    "LLMEvent",
    "LLMHooksError",
    "LLMRequestStartedEvent",
    "LLMResponseChunkEvent",
    "LLMResponseCompletedEvent",
    "LLMRun",
    "LLMStartEvent",
    "LLMTokenEvent",
    "LoggingCallbacks",
    "MCPClient",
    "MCPConnectEvent",
    "MCPConnectionError",
    "MCPDisconnectEvent",
    "MCPEvent",
    "MCPLoggingEvent",
    "MCPProgressEvent",
    "MCPTimeoutError",
    "MCPToolError",
    "MetricsCallbacks",
    "MissingExtraError",
    "NodeRun",
    "OpenTelemetryCallbacks",
    "Price",
    "PrintCallbacks",
    "PrometheusCallbacks",
    "RateLimitExceeded",
    "RateLimiter",
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
    "Redactor",
    "ReplayResult",
    "RetrievalEndEvent",
    "RetrievalErrorEvent",
    "RetrievalEvent",
    "RetrievalRun",
    "RetrievalStartEvent",
    "Run",
    "RunContext",
    "StreamingProgress",
    "TokenCounter",
    "Tool",
    "ToolArgumentError",
    "ToolCall",
    "ToolEndEvent",
    "ToolErrorEvent",
    "ToolEvent",
    "ToolRun",
    "ToolStartEvent",
    "Usage",
    "VLMErrorEvent",
    "VLMEvent",
    "VLMInferenceCompletedEvent",
    "VLMInferenceStartEvent",
    "agent_run",
    "aisolated",
    "areplay",
    "callbacks_context",
    "chain_run",
    "configure_background",
    "configure_redaction",
    "current_run",
    "flush",
    "get_global_callbacks",
    "get_run_context",
    "global_manager",
    "instrument_anthropic",
    "instrument_llm",
    "instrument_node",
    "instrument_openai",
    "instrument_tool",
    "isolated",
    "llm_chat_callback",
    "llm_completion_callback",
    "llm_run",
    "node_run",
    "read_events",
    "replay",
    "retrieval_run",
    "run_context",
    "set_global_callbacks",
    "suppress_instrumentation",
    "to_thread",
    "tool_run",
    "uninstrument_anthropic",
    "uninstrument_openai",
    "use_run",
]


def _classify_sdk_error(exc: BaseException) -> tuple[str | None, bool] | None:
    # the core knows protocols, integrations know SDKs: loaded on the first error only
    from llmhooks.integrations.errors import classify_sdk_error

    return classify_sdk_error(exc)


_register_classifier(_classify_sdk_error)


class _KeywordStyle:
    """Seed 001's keyword-style methods on a plain ``Callbacks`` subclass (``compat.keyword``),
    for the core's registration checks; the adapter is loaded only when a class needs it."""

    def adopt(self, cls: type) -> bool:
        from llmhooks.compat.keyword import adopt_keyword_methods

        return adopt_keyword_methods(cls)

    def form(self, name: str) -> str | None:
        from llmhooks.compat.keyword import keyword_form

        return keyword_form(name)

    def names(self) -> set[str]:
        from llmhooks.compat.keyword import KEYWORD_STYLE

        return set(KEYWORD_STYLE.methods)


_register_style(_KeywordStyle())
