"""Agent run events: start, step, end, error."""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events.base import ErrorInfo, Event

__all__ = ["AgentEndEvent", "AgentErrorEvent", "AgentEvent", "AgentStartEvent", "AgentStepEvent"]


class AgentEvent(Event):
    """Base of the agent family."""

    agent_name: str | None = None


class AgentStartEvent(AgentEvent):
    """An agent run started towards ``goal``."""

    type: ClassVar[str] = "agent.start"
    goal: Any = None


class AgentStepEvent(AgentEvent):
    """An agent took step number ``step`` (1-based): ``action`` and what came of it."""

    type: ClassVar[str] = "agent.step"
    step: int = 0
    action: Any = None
    action_input: Any = None
    observation: Any = None


class AgentEndEvent(AgentEvent):
    """An agent run finished with ``result`` (``incomplete=True``: its stream was stopped early)."""

    type: ClassVar[str] = "agent.end"
    terminal: ClassVar[bool] = True
    result: Any = None
    steps: int | None = None
    incomplete: bool = False
    latency_ms: float | None = None


class AgentErrorEvent(ErrorInfo, AgentEvent):
    """An agent run failed or was cancelled."""

    type: ClassVar[str] = "agent.error"
    terminal: ClassVar[bool] = True
    error: BaseException | str | None = None
    error_type: str | None = None
    cancelled: bool = False
    latency_ms: float | None = None
