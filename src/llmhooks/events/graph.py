"""Graph node events: start, end, error."""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events.base import ErrorInfo, Event

__all__ = ["GraphEvent", "GraphNodeEndEvent", "GraphNodeErrorEvent", "GraphNodeStartEvent"]


class GraphEvent(Event):
    """Base of the graph family; every event of a node run names the node, its type and step."""

    node_id: str = ""
    node_type: str | None = None
    step: int | None = None


class GraphNodeStartEvent(GraphEvent):
    """A graph node started (``step`` as the graph engine counts it)."""

    type: ClassVar[str] = "graph.node_start"
    inputs: Any = None


class GraphNodeEndEvent(GraphEvent):
    """A graph node completed."""

    type: ClassVar[str] = "graph.node_end"
    terminal: ClassVar[bool] = True
    outputs: Any = None
    incomplete: bool = False
    latency_ms: float | None = None


class GraphNodeErrorEvent(ErrorInfo, GraphEvent):
    """A graph node raised."""

    type: ClassVar[str] = "graph.node_error"
    terminal: ClassVar[bool] = True
    error: BaseException | str | None = None
    error_type: str | None = None
    cancelled: bool = False
    latency_ms: float | None = None
