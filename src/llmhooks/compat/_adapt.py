"""Turn handler methods written in another style into ``Callbacks`` event methods.

When a class is defined, each method it writes in the other style (say
``async def on_llm_start(self, prompt, **kwargs)``) is replaced by an event
method of the same kind (``def`` or ``async def``) that translates the event
into that call: so the core's one dispatch path (resolution per class, sync and
async bridging, isolation, timeouts, stats) serves these handlers unchanged.
Called directly with the other style's arguments, the replacement passes them
straight to the original, so existing callers keep working.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

from llmhooks.errors import InvalidHandlerError
from llmhooks.events.base import _REGISTRY, Event

__all__ = ["Style", "Translation", "common_kwargs", "install", "render_prompt"]

Build = Callable[[Any], tuple[tuple[Any, ...], dict[str, Any]]]
_EVENT_SIGNATURE = inspect.Signature(
    [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("event", inspect.Parameter.POSITIONAL_OR_KEYWORD),
    ]
)


class Translation(NamedTuple):
    """How one style method is fed: the event it takes and the call it gets."""

    event_cls: type[Event]
    build: Build
    positional: tuple[str, ...]  # names of the positional arguments, for messages


class Style(NamedTuple):
    """A handler style: its methods by name, and whether unknown ``on_*`` names are errors."""

    name: str
    methods: dict[str, Translation]
    strict_names: bool


def common_kwargs(event: Event) -> dict[str, Any]:
    """What every style call gets as keywords: identity, user, tags, metadata, the event."""
    return {
        "run_id": event.run_id,
        "request_id": event.run_id,
        "parent_run_id": event.parent_run_id,
        "trace_id": event.trace_id,
        "user_id": event.user_id,
        "tags": event.tags,
        "metadata": event.metadata,
        "timestamp": event.timestamp,
        "event": event,
    }


def render_prompt(prompt: str | None, messages: Any) -> str:
    """The prompt, or the text of the messages one per line (roles left out)."""
    if prompt is not None:
        return prompt
    if not messages:
        return ""
    lines = []
    for m in messages:
        content = m.get("content") if isinstance(m, Mapping) else getattr(m, "content", m)
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(
                p.get("text", "") if isinstance(p, Mapping) else str(getattr(p, "text", "")) for p in content
            )
        lines.append("" if content is None else str(content))
    return "\n".join(lines)


def _check(cls: type, name: str, fn: Any, tr: Translation) -> tuple[bool, frozenset[str]]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True, frozenset()
    try:
        sig.bind(None, *([None] * len(tr.positional)))
    except TypeError:
        want = ", ".join(("self", *tr.positional, "**kwargs"))
        raise InvalidHandlerError(
            f"{cls.__name__}.{name}{sig} cannot take this style's call: write it as {name}({want})", cls
        ) from None
    params = sig.parameters.values()
    accepts_all = any(p.kind is p.VAR_KEYWORD for p in params)
    return accepts_all, frozenset(p.name for p in params)


def _translator(fn: Any, tr: Translation, accepts_all: bool, names: frozenset[str], event_method: str) -> Any:
    event_cls, build = tr.event_cls, tr.build

    def call_args(event: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        args, kwargs = build(event)
        if not accepts_all:
            kwargs = {k: v for k, v in kwargs.items() if k in names}
        return args, kwargs

    if inspect.iscoroutinefunction(fn):

        async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            if len(args) == 1 and not kwargs and isinstance(args[0], event_cls):
                a, kw = call_args(args[0])
                return await fn(self, *a, **kw)
            return await fn(self, *args, **kwargs)

    else:

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            if len(args) == 1 and not kwargs and isinstance(args[0], event_cls):
                a, kw = call_args(args[0])
                return fn(self, *a, **kw)
            return fn(self, *args, **kwargs)

    functools.update_wrapper(method, fn)
    method.__name__ = event_method
    method.__signature__ = _EVENT_SIGNATURE  # type: ignore[attr-defined]  # what the core validates
    method.__llmhooks_style_method__ = fn  # type: ignore[attr-defined]
    return method


def install(cls: type, style: Style, only: Collection[str] | None = None) -> None:
    """Replace the style methods ``cls`` itself defines by event methods (see module doc).

    ``only``: translate these names only (the others are left as written).

    Raises:
        InvalidHandlerError: a style method cannot take the style's call, an event
            method and its style twin are both defined, or (strict styles) an
            ``on_*`` name is neither.
    """
    own = dict(cls.__dict__)
    events = {e.handler_method for e in _REGISTRY.values()}
    events |= {m + "_async" for m in events} | {"on_event", "on_event_async"}
    for name, fn in own.items():
        if not name.startswith("on_") or not callable(fn) or getattr(fn, "__isabstractmethod__", False):
            continue
        if getattr(fn, "__llmhooks_style_method__", None) is not None:
            continue
        tr = style.methods.get(name)
        if tr is not None and only is not None and name not in only:
            continue
        if tr is None:
            if style.strict_names and name not in events:
                close = difflib.get_close_matches(name, [*style.methods, *events], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise InvalidHandlerError(
                    f"{cls.__name__}.{name} is neither a {style.name} method nor an event method{hint}", cls
                )
            continue
        event_method = tr.event_cls.handler_method
        if event_method != name and event_method in own:
            raise InvalidHandlerError(
                f"{cls.__name__} defines both {name} and {event_method}, which take the same event; keep one",
                cls,
            )
        accepts_all, names = _check(cls, name, fn, tr)
        setattr(cls, event_method, _translator(fn, tr, accepts_all, names, event_method))
