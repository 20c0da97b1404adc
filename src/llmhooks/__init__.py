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
from typing import Any

from llmhooks.core import (
    AgentRun,
    BackgroundWorker,
    CallbackManager,
    Callbacks,
    ChainRun,
    ContextExecutor,
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
)
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

__version__ = "0.1.0"

# name -> module that defines it; imported on first access (see __getattr__)
_LAZY: dict[str, str] = {
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
    "replay": "llmhooks.handlers.record",
    # instrumentation, bus, other handler styles
    "instrument_llm": "llmhooks.instrument",
    "instrument_tool": "llmhooks.instrument",
    "instrument_node": "llmhooks.instrument",
    "llm_chat_callback": "llmhooks.instrument",
    "llm_completion_callback": "llmhooks.instrument",
    "EventManager": "llmhooks.bus",
    "KeywordCallbacks": "llmhooks.compat",
    "CustomAsyncCallbackHandler": "llmhooks.compat",
    "CompositeCallbackHandler": "llmhooks.compat",
    # producers
    "LLM": "llmhooks.llm",
    "Agent": "llmhooks.agent",
    "MCPClient": "llmhooks.integrations.mcp",
    "MCPToolError": "llmhooks.integrations.mcp",
    "MCPConnectionError": "llmhooks.integrations.mcp",
    "MCPTimeoutError": "llmhooks.integrations.mcp",
    "instrument_openai": "llmhooks.integrations.openai",
    "uninstrument_openai": "llmhooks.integrations.openai",
    "instrument_anthropic": "llmhooks.integrations.anthropic",
    "uninstrument_anthropic": "llmhooks.integrations.anthropic",
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
    "ContextExecutor",
    "Event",
    "GraphEvent",
    "GraphNodeEndEvent",
    "GraphNodeErrorEvent",
    "GraphNodeStartEvent",
    "HandlerStats",
    "InvalidHandlerError",
    "LLMEndEvent",
    "LLMErrorEvent",
    "LLMEvent",
    "LLMHooksError",
    "LLMRun",
    "LLMStartEvent",
    "LLMTokenEvent",
    "MCPConnectEvent",
    "MCPDisconnectEvent",
    "MCPEvent",
    "MCPLoggingEvent",
    "MCPProgressEvent",
    "MissingExtraError",
    "NodeRun",
    "RateLimitExceeded",
    "RealtimeAgentTranscriptionEvent",
    "RealtimeAudioInputEvent",
    "RealtimeAudioOutputEvent",
    "RealtimeConnectedEvent",
    "RealtimeDisconnectedEvent",
    "RealtimeErrorEvent",
    "RealtimeEvent",
    "RealtimeResponseEvent",
    "RealtimeUserTranscriptionEvent",
    "RetrievalEndEvent",
    "RetrievalErrorEvent",
    "RetrievalEvent",
    "RetrievalRun",
    "RetrievalStartEvent",
    "Run",
    "RunContext",
    "ToolEndEvent",
    "ToolErrorEvent",
    "ToolEvent",
    "ToolRun",
    "ToolStartEvent",
    "VLMErrorEvent",
    "VLMEvent",
    "VLMInferenceCompletedEvent",
    "VLMInferenceStartEvent",
    "agent_run",
    "aisolated",
    "callbacks_context",
    "chain_run",
    "configure_background",
    "current_run",
    "flush",
    "get_global_callbacks",
    "get_run_context",
    "global_manager",
    "isolated",
    "llm_run",
    "node_run",
    "retrieval_run",
    "run_context",
    "set_global_callbacks",
    "suppress_instrumentation",
    "to_thread",
    "tool_run",
]
