"""Decorators that turn any function into a tool run or a graph-node run.

    @instrument_tool(name="search")
    async def search(query: str, limit: int = 5) -> list[str]: ...

    @instrument_node(node_type="retriever")
    def retrieve(state: dict) -> dict: ...

A tool run's ``arguments`` are the call's arguments by name and its ``result``
the return value; a node run's ``inputs`` is its one argument (the graph
state) or the arguments by name, and ``outputs`` the return value. For a
generator, the end event carries the list of items produced (so far, when the
stream was stopped early).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from llmhooks.core.manager import CallbackManager
from llmhooks.core.runs import Run
from llmhooks.instrument._op import Op, StreamState, _DecoratedNodeRun, _DecoratedToolRun
from llmhooks.instrument._wrap import decorate

__all__ = ["instrument_node", "instrument_tool"]

P = ParamSpec("P")
R = TypeVar("R")


class ToolOp(Op):
    """A tool call: arguments in, result out."""

    run_cls = _DecoratedToolRun

    def __init__(
        self, fn: Callable[..., Any], *, name: str | None, callbacks: Any, method: bool | None
    ) -> None:
        Op.__init__(self, fn, callbacks, method)
        self.tool_name = name or getattr(fn, "__name__", "tool")
        self.key = ("tool", self.tool_name)

    def open(
        self,
        manager: CallbackManager,
        owner: Any,
        described: dict[str, Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Run:
        return _DecoratedToolRun(
            manager,
            {"tool_name": self.tool_name, "tool_call_id": None, "server_name": None},
            {"arguments": self.arguments(args, kwargs)},
        )

    def end_fields(self, result: Any) -> dict[str, Any]:
        return {"result": result}

    def stream_end_fields(self, state: StreamState, incomplete: bool) -> dict[str, Any]:
        fields = Op.stream_end_fields(self, state, incomplete)
        fields["result"] = state.items
        return fields


class NodeOp(Op):
    """A graph node: state in, update out."""

    run_cls = _DecoratedNodeRun

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        node_id: str | None,
        node_type: str | None,
        callbacks: Any,
        method: bool | None,
    ) -> None:
        Op.__init__(self, fn, callbacks, method)
        self.node_id = node_id or getattr(fn, "__name__", "node")
        self.node_type = node_type
        self.key = ("node", self.node_id)

    def open(
        self,
        manager: CallbackManager,
        owner: Any,
        described: dict[str, Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Run:
        start = 1 if self.method else 0
        if len(args) - start == 1 and not kwargs:
            inputs: Any = args[start]
        else:
            inputs = self.arguments(args, kwargs)
        return _DecoratedNodeRun(
            manager,
            {"node_id": self.node_id, "node_type": self.node_type, "step": None},
            {"inputs": inputs},
        )

    def end_fields(self, result: Any) -> dict[str, Any]:
        return {"outputs": result}

    def stream_end_fields(self, state: StreamState, incomplete: bool) -> dict[str, Any]:
        fields = Op.stream_end_fields(self, state, incomplete)
        fields["outputs"] = state.items
        return fields


@overload
def instrument_tool(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def instrument_tool(
    fn: None = None, /, *, name: str | None = None, callbacks: Any = None, method: bool | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def instrument_tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    callbacks: Any = None,
    method: bool | None = None,
) -> Any:
    """Make each call of the decorated function a tool run (``tool.start`` ... ``tool.end``).

    Args:
        name: the tool's name in events (default: the function's ``__name__``).
        callbacks: handlers for every call, added to the global and scoped ones.
        method: whether the first argument is ``self``; None decides from its name.
    """

    def make(f: Callable[..., Any]) -> Any:
        return decorate(lambda g: ToolOp(g, name=name, callbacks=callbacks, method=method), f)

    return make(fn) if fn is not None else make


@overload
def instrument_node(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def instrument_node(
    fn: None = None,
    /,
    *,
    node_id: str | None = None,
    node_type: str | None = None,
    callbacks: Any = None,
    method: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def instrument_node(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    node_id: str | None = None,
    node_type: str | None = None,
    callbacks: Any = None,
    method: bool | None = None,
) -> Any:
    """Make each call of the decorated function a graph-node run (``graph.node_start`` ... end).

    Args:
        node_id: the node's id in events (default: the function's ``__name__``).
        node_type: a free label such as ``"retriever"`` or ``"llm"``.
        callbacks: handlers for every call, added to the global and scoped ones.
        method: whether the first argument is ``self``; None decides from its name.
    """

    def make(f: Callable[..., Any]) -> Any:
        return decorate(
            lambda g: NodeOp(g, node_id=node_id, node_type=node_type, callbacks=callbacks, method=method), f
        )

    return make(fn) if fn is not None else make
