"""What a decorator does around one call: which run to open, with what, and how it ends.

An ``Op`` is built once at decoration time; per call it only reads arguments.
Runs opened by decorators are marked (their own subclasses), so a decorated
call made while the innermost run is a decorated run of the same operation on
the same object passes straight through: two instrumented layers, one run.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from llmhooks.core.callbacks import Callbacks
from llmhooks.core.context import manager_for
from llmhooks.core.manager import CallbackManager
from llmhooks.core.runs import LLMRun, NodeRun, NoopRun, Run, ToolRun
from llmhooks.core.scope import current_run

__all__ = ["Op", "StreamState"]


class _DecoratedLLMRun(LLMRun):
    __slots__ = ("op_key", "owner")


class _DecoratedToolRun(ToolRun):
    __slots__ = ("op_key", "owner")


class _DecoratedNodeRun(NodeRun):
    __slots__ = ("op_key", "owner")


class _DecoratedNoopRun(NoopRun):
    __slots__ = ("op_key", "owner")


_DECORATED = frozenset({_DecoratedLLMRun, _DecoratedToolRun, _DecoratedNodeRun, _DecoratedNoopRun})


def _is_callbacks(value: Any) -> bool:
    if isinstance(value, Callbacks):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, Callbacks) for v in value)


class StreamState:
    """What a stream produced so far: item count, last item, and the items if kept."""

    __slots__ = ("count", "items", "last")

    def __init__(self, keep_items: bool) -> None:
        self.count = 0
        self.last: Any = None
        self.items: list[Any] | None = [] if keep_items else None


MAX_KEPT_ITEMS = 1000  # items of a tool or node stream kept for its end event's result


class Op:
    """One decorated operation. Subclasses say how to open and close its run.

    Args:
        fn: the function being decorated (for its signature).
        callbacks: handlers added to every call of this function.
        method: True if the first argument is ``self`` (read for model and
            handlers); None to decide from the first parameter's name.
    """

    run_cls: ClassVar[type[Run]]
    keep_items: ClassVar[bool] = True

    def __init__(self, fn: Callable[..., Any], callbacks: Any, method: bool | None) -> None:
        try:
            sig: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        params = list(sig.parameters.values()) if sig is not None else []
        if method is None:
            method = bool(params) and params[0].name in ("self", "cls")
        self.method = method
        if method and params:
            params = params[1:]
        self.param_names: tuple[str, ...] = tuple(
            p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
        self.var_positional = any(p.kind is p.VAR_POSITIONAL for p in params)
        if callbacks is not None and not _is_callbacks(callbacks):
            from llmhooks.errors import InvalidHandlerError

            raise InvalidHandlerError(
                f"callbacks= must be a Callbacks instance or a list of them, got {callbacks!r}", callbacks
            )
        self.callbacks = callbacks
        self.key: Any = None

    # per call

    def arguments(self, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by parameter name (``self`` left out)."""
        start = 1 if self.method else 0
        names = self.param_names
        out = dict(zip(names, args[start:], strict=False))
        extra = len(args) - start - len(names)
        if extra > 0:
            out["args"] = tuple(args[start + len(names) :])
        if kwargs:
            out.update(kwargs)
        return out

    def handlers(self, owner: Any, described: dict[str, Any] | None = None) -> Any:
        """The decorator's handlers plus those the object carries in ``callbacks``."""
        own = None
        if owner is not None:
            own = described.get("callbacks") if described is not None else None
            if own is not None and not _is_callbacks(own):
                own = None
        if own is None:
            return self.callbacks
        if self.callbacks is None:
            return own
        return [self.callbacks, own]

    def begin(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The run for this call, or None to pass straight through (nested layer)."""
        owner = args[0] if self.method and args else None
        cur = current_run()
        if cur is not None and type(cur) in _DECORATED and cur.op_key == self.key and cur.owner is owner:  # type: ignore[attr-defined]
            return None
        described = self.describe(owner) if owner is not None else None
        manager = manager_for(self.handlers(owner, described))
        if manager is None or manager.routes_for(self.run_cls) is None:
            # nobody takes any event of this run: keep only its place in the run tree
            run: Any = _DecoratedNoopRun()
        else:
            run = self.open(manager, owner, described, args, kwargs)
        run.op_key = self.key
        run.owner = owner
        return run

    def describe(self, owner: Any) -> dict[str, Any] | None:
        """What the decorator reads from ``self``: here only its ``callbacks``."""
        own = getattr(owner, "__dict__", None)
        if own is None or "callbacks" not in own:
            return None
        return {"callbacks": own["callbacks"]}

    def open(
        self,
        manager: CallbackManager,
        owner: Any,
        described: dict[str, Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Run:
        raise NotImplementedError

    def end_fields(self, result: Any) -> dict[str, Any]:
        """End-event fields for a call that returned ``result``."""
        raise NotImplementedError

    # streams

    def on_item(self, run: Any, item: Any, state: StreamState) -> None:
        """Called in sync streams for each item, after the context is restored."""
        state.count += 1
        state.last = item
        items = state.items
        if items is not None and len(items) < MAX_KEPT_ITEMS:  # bounded: streams can be endless
            items.append(item)

    async def aon_item(self, run: Any, item: Any, state: StreamState) -> None:
        """Async ``on_item``."""
        self.on_item(run, item, state)

    def stream_end_fields(self, state: StreamState, incomplete: bool) -> dict[str, Any]:
        """End-event fields for a stream that ended (``incomplete``: stopped early)."""
        fields: dict[str, Any] = {}
        if incomplete and "incomplete" in self.run_cls.end_cls.__dataclass_fields__:
            fields["incomplete"] = True
        return fields
