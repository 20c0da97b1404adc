"""``Callbacks``: the base class of every handler.

Override the methods for the events you want, as ``def`` or ``async def``::

    class Printer(Callbacks):
        def on_llm_end(self, event: LLMEndEvent) -> None:
            print(event.model, event.total_tokens)

        async def on_llm_token_async(self, event: LLMTokenEvent) -> None:
            await websocket.send(event.token)

Which method runs (worked out once per handler class, see ``core/_resolve.py``):

- In async code (``aemit``, ``async with llm_run(...)``): ``on_X_async`` if the class
  overrides it, else ``on_X`` (awaited if it is ``async def``), else ``on_event``.
- In sync code (``emit``, ``with llm_run(...)``): ``on_X`` if overridden, else
  ``on_X_async``, else ``on_event``. An ``async def`` method reached from sync code
  is never dropped: with no event loop running in the calling thread it is run to
  completion before ``emit`` returns (on a private loop kept per thread); with a
  loop running in the calling thread (sync code called from async code) it is
  scheduled as a task on that loop, kept alive until done, and its failures are
  isolated and counted like any other.
- A class that overrides none of them for an event is never called for it.

Class (or instance) settings: ``raise_errors`` lets this handler's exceptions
propagate to the caller; ``background`` delivers its events from a worker thread
through a bounded queue; ``timeout`` bounds its async methods (seconds);
``priority`` orders handlers (higher first, then registration order).
"""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events import (
    AgentEndEvent,
    AgentErrorEvent,
    AgentStartEvent,
    AgentStepEvent,
    ChainEndEvent,
    ChainErrorEvent,
    ChainStartEvent,
    Event,
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    GraphNodeStartEvent,
    HandlerErrorEvent,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    LLMTokenEvent,
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    RealtimeAgentTranscriptionEvent,
    RealtimeAudioInputEvent,
    RealtimeAudioOutputEvent,
    RealtimeConnectedEvent,
    RealtimeDisconnectedEvent,
    RealtimeErrorEvent,
    RealtimeResponseEvent,
    RealtimeUserTranscriptionEvent,
    RetrievalEndEvent,
    RetrievalErrorEvent,
    RetrievalStartEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
    VLMErrorEvent,
    VLMInferenceCompletedEvent,
    VLMInferenceStartEvent,
)

__all__ = ["Callbacks"]


async def _maybe_await(result: Any) -> Any:
    if hasattr(result, "__await__"):
        return await result
    return result


class Callbacks:
    """Base class for handlers: one ``on_<event>`` method per event type, plus ``on_event``.

    The base methods pass events on to ``on_event``, which does nothing; the
    dispatcher never calls methods a subclass did not override, so an unused
    event costs nothing.
    """

    raise_errors: bool = False
    background: bool = False
    timeout: float | None = None
    priority: int = 0
    validate_names: ClassVar[bool] = True

    def on_event(self, event: Event) -> Any:
        """Catch-all for every event whose own method this class does not override."""
        return None

    def on_agent_start(self, event: AgentStartEvent) -> Any:
        """Called with each ``agent.start`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_agent_start_async(self, event: AgentStartEvent) -> Any:
        """Async twin of ``on_agent_start``; by default runs it."""
        return await _maybe_await(self.on_agent_start(event))

    def on_agent_step(self, event: AgentStepEvent) -> Any:
        """Called with each ``agent.step`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_agent_step_async(self, event: AgentStepEvent) -> Any:
        """Async twin of ``on_agent_step``; by default runs it."""
        return await _maybe_await(self.on_agent_step(event))

    def on_agent_end(self, event: AgentEndEvent) -> Any:
        """Called with each ``agent.end`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_agent_end_async(self, event: AgentEndEvent) -> Any:
        """Async twin of ``on_agent_end``; by default runs it."""
        return await _maybe_await(self.on_agent_end(event))

    def on_agent_error(self, event: AgentErrorEvent) -> Any:
        """Called with each ``agent.error`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_agent_error_async(self, event: AgentErrorEvent) -> Any:
        """Async twin of ``on_agent_error``; by default runs it."""
        return await _maybe_await(self.on_agent_error(event))

    def on_chain_start(self, event: ChainStartEvent) -> Any:
        """Called with each ``chain.start`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_chain_start_async(self, event: ChainStartEvent) -> Any:
        """Async twin of ``on_chain_start``; by default runs it."""
        return await _maybe_await(self.on_chain_start(event))

    def on_chain_end(self, event: ChainEndEvent) -> Any:
        """Called with each ``chain.end`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_chain_end_async(self, event: ChainEndEvent) -> Any:
        """Async twin of ``on_chain_end``; by default runs it."""
        return await _maybe_await(self.on_chain_end(event))

    def on_chain_error(self, event: ChainErrorEvent) -> Any:
        """Called with each ``chain.error`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_chain_error_async(self, event: ChainErrorEvent) -> Any:
        """Async twin of ``on_chain_error``; by default runs it."""
        return await _maybe_await(self.on_chain_error(event))

    def on_graph_node_start(self, event: GraphNodeStartEvent) -> Any:
        """Called with each ``graph.node_start`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_graph_node_start_async(self, event: GraphNodeStartEvent) -> Any:
        """Async twin of ``on_graph_node_start``; by default runs it."""
        return await _maybe_await(self.on_graph_node_start(event))

    def on_graph_node_end(self, event: GraphNodeEndEvent) -> Any:
        """Called with each ``graph.node_end`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_graph_node_end_async(self, event: GraphNodeEndEvent) -> Any:
        """Async twin of ``on_graph_node_end``; by default runs it."""
        return await _maybe_await(self.on_graph_node_end(event))

    def on_graph_node_error(self, event: GraphNodeErrorEvent) -> Any:
        """Called with each ``graph.node_error`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_graph_node_error_async(self, event: GraphNodeErrorEvent) -> Any:
        """Async twin of ``on_graph_node_error``; by default runs it."""
        return await _maybe_await(self.on_graph_node_error(event))

    def on_bus_handler_error(self, event: HandlerErrorEvent) -> Any:
        """Called with each ``bus.handler_error`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_bus_handler_error_async(self, event: HandlerErrorEvent) -> Any:
        """Async twin of ``on_bus_handler_error``; by default runs it."""
        return await _maybe_await(self.on_bus_handler_error(event))

    def on_llm_start(self, event: LLMStartEvent) -> Any:
        """Called with each ``llm.start`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_llm_start_async(self, event: LLMStartEvent) -> Any:
        """Async twin of ``on_llm_start``; by default runs it."""
        return await _maybe_await(self.on_llm_start(event))

    def on_llm_token(self, event: LLMTokenEvent) -> Any:
        """Called with each ``llm.token`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_llm_token_async(self, event: LLMTokenEvent) -> Any:
        """Async twin of ``on_llm_token``; by default runs it."""
        return await _maybe_await(self.on_llm_token(event))

    def on_llm_end(self, event: LLMEndEvent) -> Any:
        """Called with each ``llm.end`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_llm_end_async(self, event: LLMEndEvent) -> Any:
        """Async twin of ``on_llm_end``; by default runs it."""
        return await _maybe_await(self.on_llm_end(event))

    def on_llm_error(self, event: LLMErrorEvent) -> Any:
        """Called with each ``llm.error`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_llm_error_async(self, event: LLMErrorEvent) -> Any:
        """Async twin of ``on_llm_error``; by default runs it."""
        return await _maybe_await(self.on_llm_error(event))

    def on_mcp_connect(self, event: MCPConnectEvent) -> Any:
        """Called with each ``mcp.connect`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_mcp_connect_async(self, event: MCPConnectEvent) -> Any:
        """Async twin of ``on_mcp_connect``; by default runs it."""
        return await _maybe_await(self.on_mcp_connect(event))

    def on_mcp_disconnect(self, event: MCPDisconnectEvent) -> Any:
        """Called with each ``mcp.disconnect`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_mcp_disconnect_async(self, event: MCPDisconnectEvent) -> Any:
        """Async twin of ``on_mcp_disconnect``; by default runs it."""
        return await _maybe_await(self.on_mcp_disconnect(event))

    def on_mcp_progress(self, event: MCPProgressEvent) -> Any:
        """Called with each ``mcp.progress`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_mcp_progress_async(self, event: MCPProgressEvent) -> Any:
        """Async twin of ``on_mcp_progress``; by default runs it."""
        return await _maybe_await(self.on_mcp_progress(event))

    def on_mcp_logging(self, event: MCPLoggingEvent) -> Any:
        """Called with each ``mcp.logging`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_mcp_logging_async(self, event: MCPLoggingEvent) -> Any:
        """Async twin of ``on_mcp_logging``; by default runs it."""
        return await _maybe_await(self.on_mcp_logging(event))

    def on_realtime_connected(self, event: RealtimeConnectedEvent) -> Any:
        """Called with each ``realtime.connected`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_realtime_connected_async(self, event: RealtimeConnectedEvent) -> Any:
        """Async twin of ``on_realtime_connected``; by default runs it."""
        return await _maybe_await(self.on_realtime_connected(event))

    def on_realtime_disconnected(self, event: RealtimeDisconnectedEvent) -> Any:
        """Called with each ``realtime.disconnected`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_realtime_disconnected_async(self, event: RealtimeDisconnectedEvent) -> Any:
        """Async twin of ``on_realtime_disconnected``; by default runs it."""
        return await _maybe_await(self.on_realtime_disconnected(event))

    def on_realtime_audio_input(self, event: RealtimeAudioInputEvent) -> Any:
        """Called with each ``realtime.audio_input`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_realtime_audio_input_async(self, event: RealtimeAudioInputEvent) -> Any:
        """Async twin of ``on_realtime_audio_input``; by default runs it."""
        return await _maybe_await(self.on_realtime_audio_input(event))

    def on_realtime_audio_output(self, event: RealtimeAudioOutputEvent) -> Any:
        """Called with each ``realtime.audio_output`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_realtime_audio_output_async(self, event: RealtimeAudioOutputEvent) -> Any:
        """Async twin of ``on_realtime_audio_output``; by default runs it."""
        return await _maybe_await(self.on_realtime_audio_output(event))

    def on_realtime_response(self, event: RealtimeResponseEvent) -> Any:
        """Called with each ``realtime.response`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_realtime_response_async(self, event: RealtimeResponseEvent) -> Any:
        """Async twin of ``on_realtime_response``; by default runs it."""
        return await _maybe_await(self.on_realtime_response(event))

    def on_realtime_user_transcription(self, event: RealtimeUserTranscriptionEvent) -> Any:
        """Called with each ``realtime.user_transcription`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_realtime_user_transcription_async(self, event: RealtimeUserTranscriptionEvent) -> Any:
        """Async twin of ``on_realtime_user_transcription``; by default runs it."""
        return await _maybe_await(self.on_realtime_user_transcription(event))

    def on_realtime_agent_transcription(self, event: RealtimeAgentTranscriptionEvent) -> Any:
        """Called with each ``realtime.agent_transcription`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_realtime_agent_transcription_async(self, event: RealtimeAgentTranscriptionEvent) -> Any:
        """Async twin of ``on_realtime_agent_transcription``; by default runs it."""
        return await _maybe_await(self.on_realtime_agent_transcription(event))

    def on_realtime_error(self, event: RealtimeErrorEvent) -> Any:
        """Called with each ``realtime.error`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_realtime_error_async(self, event: RealtimeErrorEvent) -> Any:
        """Async twin of ``on_realtime_error``; by default runs it."""
        return await _maybe_await(self.on_realtime_error(event))

    def on_retrieval_start(self, event: RetrievalStartEvent) -> Any:
        """Called with each ``retrieval.start`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_retrieval_start_async(self, event: RetrievalStartEvent) -> Any:
        """Async twin of ``on_retrieval_start``; by default runs it."""
        return await _maybe_await(self.on_retrieval_start(event))

    def on_retrieval_end(self, event: RetrievalEndEvent) -> Any:
        """Called with each ``retrieval.end`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_retrieval_end_async(self, event: RetrievalEndEvent) -> Any:
        """Async twin of ``on_retrieval_end``; by default runs it."""
        return await _maybe_await(self.on_retrieval_end(event))

    def on_retrieval_error(self, event: RetrievalErrorEvent) -> Any:
        """Called with each ``retrieval.error`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_retrieval_error_async(self, event: RetrievalErrorEvent) -> Any:
        """Async twin of ``on_retrieval_error``; by default runs it."""
        return await _maybe_await(self.on_retrieval_error(event))

    def on_tool_start(self, event: ToolStartEvent) -> Any:
        """Called with each ``tool.start`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_tool_start_async(self, event: ToolStartEvent) -> Any:
        """Async twin of ``on_tool_start``; by default runs it."""
        return await _maybe_await(self.on_tool_start(event))

    def on_tool_end(self, event: ToolEndEvent) -> Any:
        """Called with each ``tool.end`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_tool_end_async(self, event: ToolEndEvent) -> Any:
        """Async twin of ``on_tool_end``; by default runs it."""
        return await _maybe_await(self.on_tool_end(event))

    def on_tool_error(self, event: ToolErrorEvent) -> Any:
        """Called with each ``tool.error`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_tool_error_async(self, event: ToolErrorEvent) -> Any:
        """Async twin of ``on_tool_error``; by default runs it."""
        return await _maybe_await(self.on_tool_error(event))

    def on_vlm_inference_start(self, event: VLMInferenceStartEvent) -> Any:
        """Called with each ``vlm.inference_start`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_vlm_inference_start_async(self, event: VLMInferenceStartEvent) -> Any:
        """Async twin of ``on_vlm_inference_start``; by default runs it."""
        return await _maybe_await(self.on_vlm_inference_start(event))

    def on_vlm_inference_completed(self, event: VLMInferenceCompletedEvent) -> Any:
        """Called with each ``vlm.inference_completed`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_vlm_inference_completed_async(self, event: VLMInferenceCompletedEvent) -> Any:
        """Async twin of ``on_vlm_inference_completed``; by default runs it."""
        return await _maybe_await(self.on_vlm_inference_completed(event))

    def on_vlm_error(self, event: VLMErrorEvent) -> Any:
        """Called with each ``vlm.error`` event; by default passes it to ``on_event``."""
        return self.on_event(event)

    async def on_vlm_error_async(self, event: VLMErrorEvent) -> Any:
        """Async twin of ``on_vlm_error``; by default runs it."""
        return await _maybe_await(self.on_vlm_error(event))
