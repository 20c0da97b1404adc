"""Subscriptions: which event types a subscriber takes, read once when it subscribes.

The types come from ``types=`` or from the annotation of the handler's first
parameter: a class, ``A | B``, ``Union[A, B]`` or ``Optional[A]``. A class
matches its subclasses too, so ``LLMEvent`` takes every LLM event and
``Event`` takes everything. String annotations (``from __future__ import
annotations``) are resolved in the handler's module, its closure and the scope
that subscribes it. A subscriber is called with the event alone, so one that
needs more arguments is refused here rather than failing on every delivery.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

from llmhooks.errors import InvalidSubscriberError

__all__ = ["Subscription", "resolve_types"]


class Subscription:
    """One subscriber: the callable, the types it takes, and whether to await it."""

    __slots__ = ("active", "failures", "fn", "is_async", "name", "types")

    def __init__(self, fn: Callable[[Any], Any], event_types: tuple[type, ...]) -> None:
        self.fn = fn
        self.types = event_types
        self.is_async = _is_async(fn)
        self.name = getattr(fn, "__qualname__", None) or type(fn).__name__
        self.active = True
        self.failures = 0

    def takes(self, cls: type) -> bool:
        """True if an event of class ``cls`` goes to this subscriber."""
        return issubclass(cls, self.types)

    def __repr__(self) -> str:
        names = " | ".join(t.__name__ for t in self.types)
        return f"<Subscription {self.name}({names})>"


def _is_async(fn: Any) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    return call is not None and inspect.iscoroutinefunction(call)


def _flatten(annotation: Any, where: str) -> tuple[type, ...]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        out: list[type] = []
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            out.extend(_flatten(arg, where))
        return tuple(out)
    if annotation is typing.Any:
        return (object,)
    if isinstance(annotation, type):
        return (annotation,)
    raise InvalidSubscriberError(
        f"{where}: cannot subscribe to {annotation!r}; annotate the event parameter with event "
        "classes (A, A | B, Union[A, B]) or pass types=",
        None,
    )


def _first_param(fn: Any) -> inspect.Parameter | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL):
            return p
    return None


def _check_arity(fn: Any, where: str) -> None:
    """Refuse a subscriber that cannot be called with the event as its only argument."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # no signature to read (some builtins): let it be
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_any = positional or any(p.kind is p.VAR_POSITIONAL for p in params)
    extra = [p.name for p in positional[1:] if p.default is p.empty]
    extra += [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    if takes_any and not extra:
        return
    if not takes_any:
        raise InvalidSubscriberError(f"{where} takes no argument; a subscriber receives the event", fn)
    raise InvalidSubscriberError(
        f"{where} needs {len(extra) + 1} arguments but a subscriber is called with the event alone; "
        f"give {', '.join(repr(n) for n in extra)} a default, or take several event types in one "
        "parameter (event: A | B)",
        fn,
    )


def _namespace(fn: Any, frame_depth: int) -> dict[str, Any]:
    target = inspect.unwrap(getattr(fn, "__func__", fn))
    ns: dict[str, Any] = dict(getattr(target, "__globals__", {}))
    try:
        frame = sys._getframe(frame_depth)
        ns.update(frame.f_globals)
        ns.update(frame.f_locals)
    except ValueError:
        pass
    try:
        ns.update(inspect.getclosurevars(target).nonlocals)
    except (TypeError, ValueError):
        pass
    return ns


def resolve_types(fn: Any, explicit: Any, frame_depth: int) -> tuple[type, ...]:
    """The event classes ``fn`` subscribes to.

    Raises:
        InvalidSubscriberError: not callable, needs more than the event to be called,
            no way to tell its types, or an annotation that names no class.
    """
    where = getattr(fn, "__qualname__", None) or repr(fn)
    if not callable(fn):
        raise InvalidSubscriberError(f"{where} is not callable; subscribe a function or method", fn)
    _check_arity(fn, where)
    if explicit is not None:
        items = explicit if isinstance(explicit, (list, tuple, set, frozenset)) else (explicit,)
        out: list[type] = []
        for item in items:
            out.extend(_flatten(item, where))
        if not out:
            raise InvalidSubscriberError(f"{where}: types= names no event class", fn)
        return tuple(dict.fromkeys(out))
    param = _first_param(fn)
    if param is None:
        raise InvalidSubscriberError(f"{where} takes no argument; a subscriber receives the event", fn)
    annotation = param.annotation
    if annotation is inspect.Parameter.empty:
        raise InvalidSubscriberError(
            f"{where}: annotate the event parameter (e.g. 'event: LLMEndEvent') or pass types=", fn
        )
    if isinstance(annotation, str):
        try:
            annotation = eval(annotation, _namespace(fn, frame_depth + 1))
        except Exception as exc:
            raise InvalidSubscriberError(
                f"{where}: cannot resolve the annotation {param.annotation!r} ({exc}); "
                "import the event class where the handler is defined or pass types=",
                fn,
            ) from None
    resolved = _flatten(annotation, where)
    if not resolved:
        raise InvalidSubscriberError(f"{where}: the annotation names no event class", fn)
    return tuple(dict.fromkeys(resolved))
