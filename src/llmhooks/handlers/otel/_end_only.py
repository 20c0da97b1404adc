"""End-only mode: the start event of a run rebuilt from its terminal event alone.

A collector fed by several processes, or one of several collectors sharing a stream,
may see a run's end without its start (another collector took it, or the shipper sends
terminal events only). Every terminal event names its run, parent, trace, family
fields (provider and model, tool, agent, node...) and its latency, which is all a span
needs: it starts ``latency_ms`` before the terminal event and its parent is the parent
run's span, by id, wherever that span is exported from.
"""

from __future__ import annotations

from typing import Any

from llmhooks.events import (
    AgentEndEvent,
    AgentErrorEvent,
    AgentStartEvent,
    ChainEndEvent,
    ChainErrorEvent,
    ChainStartEvent,
    Event,
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    GraphNodeStartEvent,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    RetrievalEndEvent,
    RetrievalErrorEvent,
    RetrievalStartEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)
from llmhooks.events._model import field_names

__all__ = ["START_METHODS", "start_of"]

_START_OF: dict[type[Event], type[Event]] = {
    LLMEndEvent: LLMStartEvent,
    LLMErrorEvent: LLMStartEvent,
    ToolEndEvent: ToolStartEvent,
    ToolErrorEvent: ToolStartEvent,
    AgentEndEvent: AgentStartEvent,
    AgentErrorEvent: AgentStartEvent,
    ChainEndEvent: ChainStartEvent,
    ChainErrorEvent: ChainStartEvent,
    GraphNodeEndEvent: GraphNodeStartEvent,
    GraphNodeErrorEvent: GraphNodeStartEvent,
    RetrievalEndEvent: RetrievalStartEvent,
    RetrievalErrorEvent: RetrievalStartEvent,
}
# the handler method that opens the span of each start event class
START_METHODS: dict[type[Event], str] = {
    LLMStartEvent: "_llm_start",
    ToolStartEvent: "_tool_start",
    AgentStartEvent: "_agent_start",
    ChainStartEvent: "_chain_start",
    GraphNodeStartEvent: "_node_start",
    RetrievalStartEvent: "_retrieval_start",
}


def start_of(event: Event) -> Event | None:
    """The start event of ``event``'s run, rebuilt from it; None for an event that ends no run."""
    start_cls = None
    for cls in type(event).__mro__:  # a subclass (a VLM end, say) starts as its base does
        start_cls = _START_OF.get(cls)
        if start_cls is not None:
            break
    if start_cls is None:
        return None
    fields: dict[str, Any] = {}
    for name in field_names(start_cls):
        if name != "timestamp" and hasattr(event, name):
            fields[name] = getattr(event, name)
    latency = getattr(event, "latency_ms", None)
    fields["timestamp"] = event.timestamp - (latency / 1000.0 if latency else 0.0)
    if start_cls is LLMStartEvent:
        fields["streaming"] = getattr(event, "time_to_first_token_ms", None) is not None
    return start_cls(**fields)
