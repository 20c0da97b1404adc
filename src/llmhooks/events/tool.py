"""Tool call events: start, end, error."""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events.base import ErrorInfo, Event

__all__ = ["ToolEndEvent", "ToolErrorEvent", "ToolEvent", "ToolStartEvent"]


class ToolEvent(Event):
    """Base of the tool family; ``server_name`` is set for MCP tools."""

    tool_name: str = ""
    tool_call_id: str | None = None
    server_name: str | None = None


class ToolStartEvent(ToolEvent):
    """A tool is about to run with ``arguments`` as given by the caller or model."""

    type: ClassVar[str] = "tool.start"
    arguments: Any = None


class ToolEndEvent(ToolEvent):
    """A tool returned."""

    type: ClassVar[str] = "tool.end"
    terminal: ClassVar[bool] = True
    result: Any = None
    success: bool = True
    incomplete: bool = False
    latency_ms: float | None = None
    error: str | None = None


class ToolErrorEvent(ErrorInfo, ToolEndEvent):
    """A tool raised, or its result was flagged as an error; ``arguments`` as it was called with.

    A subclass of ``ToolEndEvent`` with ``success=False``, because seed 004 (vision-agents)
    reports a failed tool as a ``ToolEndEvent``: a bus subscriber annotated with
    ``ToolEndEvent`` gets failures too. Handlers are still called by type:
    ``on_tool_error`` gets this event, ``on_tool_end`` does not.
    """

    type: ClassVar[str] = "tool.error"
    handler_method: ClassVar[str] = "on_tool_error"
    terminal: ClassVar[bool] = True
    success: bool = False
    arguments: Any = None
    error: BaseException | str | None = None  # type: ignore[assignment]  # an end's error is text; here the exception
    error_type: str | None = None
    cancelled: bool = False
    latency_ms: float | None = None
