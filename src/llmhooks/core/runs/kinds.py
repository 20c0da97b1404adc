"""The other run kinds: tools, agents, graph nodes, chains and retrievals."""

from __future__ import annotations

from typing import Any

from llmhooks.core.context import CallbacksLike, manager_for
from llmhooks.core.delivery import adeliver, deliver
from llmhooks.core.redaction import redact_fields, redact_value
from llmhooks.core.runs.base import Run, _new
from llmhooks.core.runs.noop import noop_run
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
    RetrievalEndEvent,
    RetrievalErrorEvent,
    RetrievalStartEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)

__all__ = [
    "AgentRun",
    "ChainRun",
    "NodeRun",
    "RetrievalRun",
    "ToolRun",
    "agent_run",
    "chain_run",
    "node_run",
    "retrieval_run",
    "tool_run",
]


class ToolRun(Run):
    """A tool call; its error event repeats the arguments it was called with."""

    __slots__ = ("_arguments", "server_name", "tool_call_id", "tool_name")
    start_cls = ToolStartEvent
    end_cls = ToolEndEvent
    error_cls = ToolErrorEvent
    family = ("tool_name", "tool_call_id", "server_name")

    def _setup(self, *args: Any) -> None:
        Run._setup(self, *args)
        payload = self._payload
        self._arguments = payload.get("arguments") if payload else None

    def _error_event(self, error: BaseException | str, **fields: Any) -> Event | None:
        fields.setdefault("arguments", self._arguments)
        return Run._error_event(self, error, **fields)


class AgentRun(Run):
    """An agent run: adds ``step()``, numbered from 1."""

    __slots__ = ("agent_name", "steps")
    start_cls = AgentStartEvent
    end_cls = AgentEndEvent
    error_cls = AgentErrorEvent
    extra_cls = AgentStepEvent
    family = ("agent_name",)

    def _setup(self, *args: Any) -> None:
        self.steps = 0
        Run._setup(self, *args)

    def _step_event(self, fields: dict[str, Any]) -> Event | None:
        if self.done:
            raise RuntimeError(f"AgentRun {self.run_id} already emitted its terminal event; no more steps")
        self.steps += 1
        if not self._routes[3][0]:
            return None
        fields.setdefault("step", self.steps)
        return self._build_extra(self, **redact_fields(fields))  # type: ignore[no-any-return]

    def step(self, **fields: Any) -> None:
        """Report a step: ``action``, ``action_input``, ``observation``."""
        event = self._step_event(fields)
        if event is not None:
            deliver(self._routes[3], event)

    async def astep(self, **fields: Any) -> None:
        """Async ``step``."""
        event = self._step_event(fields)
        if event is not None:
            await adeliver(self.manager.aroute(AgentStepEvent), event)

    def _end_event(self, fields: dict[str, Any]) -> Event | None:
        fields.setdefault("steps", self.steps)
        return Run._end_event(self, fields)


class NodeRun(Run):
    """A graph node run."""

    __slots__ = ("node_id", "node_type", "step")
    start_cls = GraphNodeStartEvent
    end_cls = GraphNodeEndEvent
    error_cls = GraphNodeErrorEvent
    family = ("node_id", "node_type", "step")


class ChainRun(Run):
    """A chain run."""

    __slots__ = ("chain_name",)
    start_cls = ChainStartEvent
    end_cls = ChainEndEvent
    error_cls = ChainErrorEvent
    family = ("chain_name",)


class RetrievalRun(Run):
    """A retrieval run."""

    __slots__ = ("retriever",)
    start_cls = RetrievalStartEvent
    end_cls = RetrievalEndEvent
    error_cls = RetrievalErrorEvent
    family = ("retriever",)


def _recording(
    cls: type[Run],
    callbacks: CallbacksLike,
    payload: dict[str, Any] | None,
    run_id: str | None,
    parent_run_id: str | None,
    trace_id: str | None,
    tags: Any,
    metadata: dict[str, Any] | None,
) -> Any:
    """A run of ``cls``, or the no-op run when no handler takes any of its events."""
    manager = manager_for(callbacks)
    routes = manager.routes_for(cls) if manager is not None else None
    if routes is None:  # nobody listens: skip building anything
        return noop_run(run_id, parent_run_id, trace_id, tags, metadata)
    run = _new(cls)
    run._setup(manager, routes, payload, run_id, parent_run_id, trace_id)  # type: ignore[arg-type]
    run._context(tags, metadata)
    return run


def tool_run(
    tool_name: str,
    *,
    arguments: Any = None,
    tool_call_id: str | None = None,
    server_name: str | None = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
) -> ToolRun:
    """A run for one tool call."""
    run: Any = _recording(
        ToolRun, callbacks, {"arguments": arguments}, run_id, parent_run_id, trace_id, tags, metadata
    )
    if run.is_recording:
        run.tool_name = tool_name
        run.tool_call_id = redact_value(tool_call_id) if tool_call_id else tool_call_id
        run.server_name = server_name
    return run  # type: ignore[no-any-return]


def agent_run(
    *,
    goal: Any = None,
    agent_name: str | None = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
) -> AgentRun:
    """A run for one agent invocation; ``run.step(...)`` reports each step."""
    run: Any = _recording(
        AgentRun, callbacks, {"goal": goal}, run_id, parent_run_id, trace_id, tags, metadata
    )
    if run.is_recording:
        run.agent_name = agent_name
    return run  # type: ignore[no-any-return]


def node_run(
    node_id: str,
    *,
    node_type: str | None = None,
    inputs: Any = None,
    step: int | None = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
) -> NodeRun:
    """A run for one graph node."""
    run: Any = _recording(
        NodeRun, callbacks, {"inputs": inputs}, run_id, parent_run_id, trace_id, tags, metadata
    )
    if run.is_recording:
        run.node_id = node_id
        run.node_type = node_type
        run.step = step
    return run  # type: ignore[no-any-return]


def chain_run(
    chain_name: str,
    *,
    inputs: Any = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
) -> ChainRun:
    """A run for one chain."""
    run: Any = _recording(
        ChainRun, callbacks, {"inputs": inputs}, run_id, parent_run_id, trace_id, tags, metadata
    )
    if run.is_recording:
        run.chain_name = chain_name
    return run  # type: ignore[no-any-return]


def retrieval_run(
    *,
    query: str = "",
    retriever: str | None = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
) -> RetrievalRun:
    """A run for one retrieval."""
    run: Any = _recording(
        RetrievalRun, callbacks, {"query": query}, run_id, parent_run_id, trace_id, tags, metadata
    )
    if run.is_recording:
        run.retriever = retriever
    return run  # type: ignore[no-any-return]
