"""llmhooks: every LLM call, token, tool call, MCP operation, agent step and graph
node as a typed event for handlers to log, meter, price, limit and export.

    from llmhooks import Callbacks, llm_run

    class Printer(Callbacks):
        def on_llm_end(self, event):
            print(event.model, event.total_tokens, event.latency_ms)

    with llm_run(provider="offline", model="m", callbacks=Printer()) as run:
        run.finish(response="hi", input_tokens=3, output_tokens=1)

``__all__`` is the surface most programs need, by group:

- handlers and dispatch: Callbacks, CallbackManager, EventManager
- events (seed 000's; every event class, realtime, VLM and seed 004's names: llmhooks.events):
  Event, LLMStartEvent, LLMTokenEvent, LLMEndEvent, LLMErrorEvent, ToolStartEvent, ToolEndEvent,
  ToolErrorEvent, AgentStartEvent, AgentStepEvent, AgentEndEvent, AgentErrorEvent,
  GraphNodeStartEvent, GraphNodeEndEvent, GraphNodeErrorEvent, MCPConnectEvent,
  MCPDisconnectEvent, MCPProgressEvent, MCPLoggingEvent
- runs and the context they run in: llm_run, tool_run, agent_run, node_run, chain_run,
  retrieval_run, use_run, current_run, set_global_callbacks, get_global_callbacks,
  callbacks_context, run_context, suppress_instrumentation, flush, to_thread
- producers: LLM, Agent, Tool, MCPClient, instrument_openai, uninstrument_openai,
  instrument_anthropic, uninstrument_anthropic, instrument_llm, instrument_tool, instrument_node
- built-in handlers: LoggingCallbacks, PrintCallbacks, MetricsCallbacks, TokenCounter,
  CostTracker, CostLimiter, RateLimiter, StreamingProgress, EventRecorder, read_events,
  OpenTelemetryCallbacks, PrometheusCallbacks
- errors (the whole tree: llmhooks.errors): LLMHooksError, Abort, BudgetExceeded,
  RateLimitExceeded, InvalidHandlerError, MissingExtraError

Everything else lives in its subpackage (``llmhooks.events``, ``llmhooks.core``,
``llmhooks.handlers``, ``llmhooks.compat``, ``llmhooks.integrations``, ...), and the
names the seeds' examples and the docs import from here keep working. Optional parts
(integrations, handlers needing extras) load on first use, so ``import llmhooks`` stays
fast and needs nothing outside the standard library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from llmhooks._version import __version__ as __version__
from llmhooks.core import (
    CallbackManager,
    Callbacks,
    agent_run,
    callbacks_context,
    chain_run,
    current_run,
    flush,
    get_global_callbacks,
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
    AgentStartEvent,
    AgentStepEvent,
    Event,
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    GraphNodeStartEvent,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    LLMTokenEvent,
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)
from llmhooks.events.classify import register_classifier as _register_classifier

if TYPE_CHECKING:  # the lazy names, for type checkers and IDEs
    from llmhooks.agent import (
        Agent as Agent,
    )
    from llmhooks.bus import (
        EventManager as EventManager,
    )
    from llmhooks.bus import (
        HandlerErrorEvent as HandlerErrorEvent,
    )
    from llmhooks.compat import (
        CompositeCallbackHandler as CompositeCallbackHandler,
    )
    from llmhooks.compat import (
        CustomAsyncCallbackHandler as CustomAsyncCallbackHandler,
    )
    from llmhooks.compat import (
        DetailedRedisTokenCallbackHandler as DetailedRedisTokenCallbackHandler,
    )
    from llmhooks.compat import (
        KeywordCallbacks as KeywordCallbacks,
    )
    from llmhooks.compat import (
        KeywordResponse as KeywordResponse,
    )
    from llmhooks.compat import (
        RedisTokenCallbackHandler as RedisTokenCallbackHandler,
    )
    from llmhooks.core import (
        AgentRun as AgentRun,
    )
    from llmhooks.core import (
        BackgroundWorker as BackgroundWorker,
    )
    from llmhooks.core import (
        ChainRun as ChainRun,
    )
    from llmhooks.core import (
        HandlerStats as HandlerStats,
    )
    from llmhooks.core import (
        LLMRun as LLMRun,
    )
    from llmhooks.core import (
        NodeRun as NodeRun,
    )
    from llmhooks.core import (
        RetrievalRun as RetrievalRun,
    )
    from llmhooks.core import (
        Run as Run,
    )
    from llmhooks.core import (
        RunContext as RunContext,
    )
    from llmhooks.core import (
        ToolRun as ToolRun,
    )
    from llmhooks.core import (
        aisolated as aisolated,
    )
    from llmhooks.core import (
        configure_background as configure_background,
    )
    from llmhooks.core import (
        get_run_context as get_run_context,
    )
    from llmhooks.core import (
        global_manager as global_manager,
    )
    from llmhooks.core import (
        isolated as isolated,
    )
    from llmhooks.core.executor import (
        ContextExecutor as ContextExecutor,
    )
    from llmhooks.core.redaction import (
        Redactor as Redactor,
    )
    from llmhooks.core.redaction import (
        configure_redaction as configure_redaction,
    )
    from llmhooks.events import (
        AgentEvent as AgentEvent,
    )
    from llmhooks.events import (
        ChainEndEvent as ChainEndEvent,
    )
    from llmhooks.events import (
        ChainErrorEvent as ChainErrorEvent,
    )
    from llmhooks.events import (
        ChainEvent as ChainEvent,
    )
    from llmhooks.events import (
        ChainStartEvent as ChainStartEvent,
    )
    from llmhooks.events import (
        GraphEvent as GraphEvent,
    )
    from llmhooks.events import (
        LLMEvent as LLMEvent,
    )
    from llmhooks.events import (
        LLMRequestStartedEvent as LLMRequestStartedEvent,
    )
    from llmhooks.events import (
        LLMResponseChunkEvent as LLMResponseChunkEvent,
    )
    from llmhooks.events import (
        LLMResponseCompletedEvent as LLMResponseCompletedEvent,
    )
    from llmhooks.events import (
        MCPEvent as MCPEvent,
    )
    from llmhooks.events import (
        RealtimeAgentSpeechTranscriptionEvent as RealtimeAgentSpeechTranscriptionEvent,
    )
    from llmhooks.events import (
        RealtimeAgentTranscriptionEvent as RealtimeAgentTranscriptionEvent,
    )
    from llmhooks.events import (
        RealtimeAudioInputEvent as RealtimeAudioInputEvent,
    )
    from llmhooks.events import (
        RealtimeAudioOutputEvent as RealtimeAudioOutputEvent,
    )
    from llmhooks.events import (
        RealtimeConnectedEvent as RealtimeConnectedEvent,
    )
    from llmhooks.events import (
        RealtimeDisconnectedEvent as RealtimeDisconnectedEvent,
    )
    from llmhooks.events import (
        RealtimeErrorEvent as RealtimeErrorEvent,
    )
    from llmhooks.events import (
        RealtimeEvent as RealtimeEvent,
    )
    from llmhooks.events import (
        RealtimeResponseEvent as RealtimeResponseEvent,
    )
    from llmhooks.events import (
        RealtimeUserSpeechTranscriptionEvent as RealtimeUserSpeechTranscriptionEvent,
    )
    from llmhooks.events import (
        RealtimeUserTranscriptionEvent as RealtimeUserTranscriptionEvent,
    )
    from llmhooks.events import (
        RetrievalEndEvent as RetrievalEndEvent,
    )
    from llmhooks.events import (
        RetrievalErrorEvent as RetrievalErrorEvent,
    )
    from llmhooks.events import (
        RetrievalEvent as RetrievalEvent,
    )
    from llmhooks.events import (
        RetrievalStartEvent as RetrievalStartEvent,
    )
    from llmhooks.events import (
        ToolEvent as ToolEvent,
    )
    from llmhooks.events import (
        VLMErrorEvent as VLMErrorEvent,
    )
    from llmhooks.events import (
        VLMEvent as VLMEvent,
    )
    from llmhooks.events import (
        VLMInferenceCompletedEvent as VLMInferenceCompletedEvent,
    )
    from llmhooks.events import (
        VLMInferenceStartEvent as VLMInferenceStartEvent,
    )
    from llmhooks.handlers.budget import (
        CostLimiter as CostLimiter,
    )
    from llmhooks.handlers.collector import (
        Collector as Collector,
    )
    from llmhooks.handlers.cost import (
        CostTracker as CostTracker,
    )
    from llmhooks.handlers.cost import (
        Price as Price,
    )
    from llmhooks.handlers.logging import (
        LoggingCallbacks as LoggingCallbacks,
    )
    from llmhooks.handlers.metrics import (
        MetricsCallbacks as MetricsCallbacks,
    )
    from llmhooks.handlers.otel import (
        OpenTelemetryCallbacks as OpenTelemetryCallbacks,
    )
    from llmhooks.handlers.printing import (
        PrintCallbacks as PrintCallbacks,
    )
    from llmhooks.handlers.prometheus import (
        PrometheusCallbacks as PrometheusCallbacks,
    )
    from llmhooks.handlers.ratelimit import (
        RateLimiter as RateLimiter,
    )
    from llmhooks.handlers.record import (
        EventRecorder as EventRecorder,
    )
    from llmhooks.handlers.record import (
        ReplayResult as ReplayResult,
    )
    from llmhooks.handlers.record import (
        areplay as areplay,
    )
    from llmhooks.handlers.record import (
        read_events as read_events,
    )
    from llmhooks.handlers.record import (
        replay as replay,
    )
    from llmhooks.handlers.redis import (
        RedisCostLimiter as RedisCostLimiter,
    )
    from llmhooks.handlers.redis import (
        RedisRateLimiter as RedisRateLimiter,
    )
    from llmhooks.handlers.redis import (
        RedisStreamConsumer as RedisStreamConsumer,
    )
    from llmhooks.handlers.redis import (
        RedisStreamShipper as RedisStreamShipper,
    )
    from llmhooks.handlers.redis import (
        RedisTokenLedger as RedisTokenLedger,
    )
    from llmhooks.handlers.redis import (
        TokenLedger as TokenLedger,
    )
    from llmhooks.handlers.shipping import (
        EventShipper as EventShipper,
    )
    from llmhooks.handlers.streaming import (
        StreamingProgress as StreamingProgress,
    )
    from llmhooks.handlers.tokens import (
        TokenCounter as TokenCounter,
    )
    from llmhooks.instrument import (
        instrument_llm as instrument_llm,
    )
    from llmhooks.instrument import (
        instrument_node as instrument_node,
    )
    from llmhooks.instrument import (
        instrument_tool as instrument_tool,
    )
    from llmhooks.instrument import (
        llm_chat_callback as llm_chat_callback,
    )
    from llmhooks.instrument import (
        llm_completion_callback as llm_completion_callback,
    )
    from llmhooks.integrations.anthropic import (
        instrument_anthropic as instrument_anthropic,
    )
    from llmhooks.integrations.anthropic import (
        uninstrument_anthropic as uninstrument_anthropic,
    )
    from llmhooks.integrations.mcp import (
        MCPClient as MCPClient,
    )
    from llmhooks.integrations.mcp import (
        MCPConnectionError as MCPConnectionError,
    )
    from llmhooks.integrations.mcp import (
        MCPTimeoutError as MCPTimeoutError,
    )
    from llmhooks.integrations.mcp import (
        MCPToolError as MCPToolError,
    )
    from llmhooks.integrations.openai import (
        instrument_openai as instrument_openai,
    )
    from llmhooks.integrations.openai import (
        uninstrument_openai as uninstrument_openai,
    )
    from llmhooks.llm import (
        LLM as LLM,
    )
    from llmhooks.llm import (
        ChatResponse as ChatResponse,
    )
    from llmhooks.llm import (
        ToolCall as ToolCall,
    )
    from llmhooks.llm import (
        Usage as Usage,
    )
    from llmhooks.tools import (
        Tool as Tool,
    )
    from llmhooks.tools import (
        ToolArgumentError as ToolArgumentError,
    )

# name -> module that defines it, imported on first access (see __getattr__)
_LAZY: dict[str, str] = {
    "Agent": "llmhooks.agent",
    "EventManager": "llmhooks.bus",
    "HandlerErrorEvent": "llmhooks.bus",
    "CompositeCallbackHandler": "llmhooks.compat",
    "CustomAsyncCallbackHandler": "llmhooks.compat",
    "DetailedRedisTokenCallbackHandler": "llmhooks.compat",
    "KeywordCallbacks": "llmhooks.compat",
    "KeywordResponse": "llmhooks.compat",
    "RedisTokenCallbackHandler": "llmhooks.compat",
    "AgentRun": "llmhooks.core",
    "BackgroundWorker": "llmhooks.core",
    "ChainRun": "llmhooks.core",
    "HandlerStats": "llmhooks.core",
    "LLMRun": "llmhooks.core",
    "NodeRun": "llmhooks.core",
    "RetrievalRun": "llmhooks.core",
    "Run": "llmhooks.core",
    "RunContext": "llmhooks.core",
    "ToolRun": "llmhooks.core",
    "aisolated": "llmhooks.core",
    "configure_background": "llmhooks.core",
    "get_run_context": "llmhooks.core",
    "global_manager": "llmhooks.core",
    "isolated": "llmhooks.core",
    "ContextExecutor": "llmhooks.core.executor",
    "Redactor": "llmhooks.core.redaction",
    "configure_redaction": "llmhooks.core.redaction",
    "AgentEvent": "llmhooks.events",
    "ChainEndEvent": "llmhooks.events",
    "ChainErrorEvent": "llmhooks.events",
    "ChainEvent": "llmhooks.events",
    "ChainStartEvent": "llmhooks.events",
    "GraphEvent": "llmhooks.events",
    "LLMEvent": "llmhooks.events",
    "LLMRequestStartedEvent": "llmhooks.events",
    "LLMResponseChunkEvent": "llmhooks.events",
    "LLMResponseCompletedEvent": "llmhooks.events",
    "MCPEvent": "llmhooks.events",
    "RealtimeAgentSpeechTranscriptionEvent": "llmhooks.events",
    "RealtimeAgentTranscriptionEvent": "llmhooks.events",
    "RealtimeAudioInputEvent": "llmhooks.events",
    "RealtimeAudioOutputEvent": "llmhooks.events",
    "RealtimeConnectedEvent": "llmhooks.events",
    "RealtimeDisconnectedEvent": "llmhooks.events",
    "RealtimeErrorEvent": "llmhooks.events",
    "RealtimeEvent": "llmhooks.events",
    "RealtimeResponseEvent": "llmhooks.events",
    "RealtimeUserSpeechTranscriptionEvent": "llmhooks.events",
    "RealtimeUserTranscriptionEvent": "llmhooks.events",
    "RetrievalEndEvent": "llmhooks.events",
    "RetrievalErrorEvent": "llmhooks.events",
    "RetrievalEvent": "llmhooks.events",
    "RetrievalStartEvent": "llmhooks.events",
    "ToolEvent": "llmhooks.events",
    "VLMErrorEvent": "llmhooks.events",
    "VLMEvent": "llmhooks.events",
    "VLMInferenceCompletedEvent": "llmhooks.events",
    "VLMInferenceStartEvent": "llmhooks.events",
    "CostLimiter": "llmhooks.handlers.budget",
    "Collector": "llmhooks.handlers.collector",
    "CostTracker": "llmhooks.handlers.cost",
    "Price": "llmhooks.handlers.cost",
    "LoggingCallbacks": "llmhooks.handlers.logging",
    "MetricsCallbacks": "llmhooks.handlers.metrics",
    "OpenTelemetryCallbacks": "llmhooks.handlers.otel",
    "PrintCallbacks": "llmhooks.handlers.printing",
    "PrometheusCallbacks": "llmhooks.handlers.prometheus",
    "RateLimiter": "llmhooks.handlers.ratelimit",
    "EventRecorder": "llmhooks.handlers.record",
    "ReplayResult": "llmhooks.handlers.record",
    "areplay": "llmhooks.handlers.record",
    "read_events": "llmhooks.handlers.record",
    "replay": "llmhooks.handlers.record",
    "RedisCostLimiter": "llmhooks.handlers.redis",
    "RedisRateLimiter": "llmhooks.handlers.redis",
    "RedisStreamConsumer": "llmhooks.handlers.redis",
    "RedisStreamShipper": "llmhooks.handlers.redis",
    "RedisTokenLedger": "llmhooks.handlers.redis",
    "TokenLedger": "llmhooks.handlers.redis",
    "EventShipper": "llmhooks.handlers.shipping",
    "StreamingProgress": "llmhooks.handlers.streaming",
    "TokenCounter": "llmhooks.handlers.tokens",
    "instrument_llm": "llmhooks.instrument",
    "instrument_node": "llmhooks.instrument",
    "instrument_tool": "llmhooks.instrument",
    "llm_chat_callback": "llmhooks.instrument",
    "llm_completion_callback": "llmhooks.instrument",
    "instrument_anthropic": "llmhooks.integrations.anthropic",
    "uninstrument_anthropic": "llmhooks.integrations.anthropic",
    "MCPClient": "llmhooks.integrations.mcp",
    "MCPConnectionError": "llmhooks.integrations.mcp",
    "MCPTimeoutError": "llmhooks.integrations.mcp",
    "MCPToolError": "llmhooks.integrations.mcp",
    "instrument_openai": "llmhooks.integrations.openai",
    "uninstrument_openai": "llmhooks.integrations.openai",
    "ChatResponse": "llmhooks.llm",
    "LLM": "llmhooks.llm",
    "ToolCall": "llmhooks.llm",
    "Usage": "llmhooks.llm",
    "Tool": "llmhooks.tools",
    "ToolArgumentError": "llmhooks.tools",
}


def __getattr__(name: str) -> Any:
    if name == "__all__":  # asked by `from llmhooks import *`, once
        globals()["__all__"] = names = _installed(_ALL)
        return names
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmhooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _installed(names: tuple[str, ...]) -> list[str]:
    """``names`` without those whose optional extra is not installed (``MCPClient`` without
    ``mcp``): a star import takes what this install has; importing such a name by itself
    still raises ``MissingExtraError``, saying what to install."""
    kept = []
    for name in names:
        try:
            if name not in globals():
                __getattr__(name)
        except MissingExtraError:
            continue
        kept.append(name)
    return kept


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Abort",
    "Agent",
    "AgentEndEvent",
    "AgentErrorEvent",
    "AgentStartEvent",
    "AgentStepEvent",
    "BudgetExceeded",
    "CallbackManager",
    "Callbacks",
    "CostLimiter",
    "CostTracker",
    "Event",
    "EventManager",
    "EventRecorder",
    "GraphNodeEndEvent",
    "GraphNodeErrorEvent",
    "GraphNodeStartEvent",
    "InvalidHandlerError",
    "LLM",
    "LLMEndEvent",
    "LLMErrorEvent",
    "LLMHooksError",
    "LLMStartEvent",
    "LLMTokenEvent",
    "LoggingCallbacks",
    "MCPClient",
    "MCPConnectEvent",
    "MCPDisconnectEvent",
    "MCPLoggingEvent",
    "MCPProgressEvent",
    "MetricsCallbacks",
    "MissingExtraError",
    "OpenTelemetryCallbacks",
    "PrintCallbacks",
    "PrometheusCallbacks",
    "RateLimitExceeded",
    "RateLimiter",
    "StreamingProgress",
    "TokenCounter",
    "Tool",
    "ToolEndEvent",
    "ToolErrorEvent",
    "ToolStartEvent",
    "agent_run",
    "callbacks_context",
    "chain_run",
    "current_run",
    "flush",
    "get_global_callbacks",
    "instrument_anthropic",
    "instrument_llm",
    "instrument_node",
    "instrument_openai",
    "instrument_tool",
    "llm_run",
    "node_run",
    "read_events",
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
_ALL = tuple(__all__)
if not TYPE_CHECKING:  # type checkers read the list above; at run time __getattr__ gives it
    del __all__


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
