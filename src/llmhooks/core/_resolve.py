"""Work out, once per handler class and event type, which method handles it and how.

The result is cached on the class, so registering a thousand instances of one
handler class inspects it once.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from llmhooks.core.callbacks import Callbacks
from llmhooks.errors import InvalidHandlerError
from llmhooks.events.base import _REGISTRY, Event

__all__ = ["Plan", "plan_for", "validate_handler"]


class Plan(NamedTuple):
    """How one handler class takes one event type, in sync and in async code."""

    sync_name: str | None
    sync_is_coro: bool
    async_name: str | None
    async_is_coro: bool


_NONE = Plan(None, False, None, False)
_plans: dict[tuple[type, type[Event]], Plan] = {}
_validated: set[type] = set()


def _overrides(cls: type, name: str) -> Any:
    """The function ``cls`` defines for ``name`` below ``Callbacks``, or None."""
    for klass in cls.__mro__:
        if klass is Callbacks or klass is object:
            return None
        fn = klass.__dict__.get(name)
        if fn is not None:
            return fn
    return None


_CO_COROUTINE = 0x80


def _is_coro(fn: Any) -> bool:
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is not None and not hasattr(fn, "_is_coroutine_marker"):
        return bool(code.co_flags & _CO_COROUTINE)
    import inspect  # odd callables (partials, markers): ask inspect; import kept off `import llmhooks`

    return inspect.iscoroutinefunction(fn)


def plan_for(cls: type, event_cls: type[Event]) -> Plan:
    """Return the cached plan for handler class ``cls`` and ``event_cls``."""
    key = (cls, event_cls)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    name = event_cls.handler_method
    sync_fn = _overrides(cls, name) if name != "on_event" else None
    async_fn = _overrides(cls, name + "_async") if name != "on_event" else None
    catch_all = _overrides(cls, "on_event")
    catch_all_async = _overrides(cls, "on_event_async")
    sync_name: str | None = None
    sync_coro = False
    async_name: str | None = None
    async_coro = False
    if sync_fn is not None:
        sync_name, sync_coro = name, _is_coro(sync_fn)
    elif async_fn is not None:
        sync_name, sync_coro = name + "_async", _is_coro(async_fn)
    elif catch_all is not None:
        sync_name, sync_coro = "on_event", _is_coro(catch_all)
    elif catch_all_async is not None:
        sync_name, sync_coro = "on_event_async", _is_coro(catch_all_async)
    if async_fn is not None:
        async_name, async_coro = name + "_async", _is_coro(async_fn)
    elif sync_fn is not None:
        async_name, async_coro = name, _is_coro(sync_fn)
    elif catch_all_async is not None:
        async_name, async_coro = "on_event_async", _is_coro(catch_all_async)
    elif catch_all is not None:
        async_name, async_coro = "on_event", _is_coro(catch_all)
    plan = Plan(sync_name, sync_coro, async_name, async_coro) if sync_name else _NONE
    _plans[key] = plan
    return plan


def _known_names() -> set[str]:
    names = {"on_event", "on_event_async", "on_batch"}
    for event_cls in _REGISTRY.values():
        names.add(event_cls.handler_method)
        names.add(event_cls.handler_method + "_async")
    return names


_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08  # inspect's values, without importing inspect


def _plain_event_method(fn: Any) -> bool:
    """True if ``fn`` is written ``(self, event)``: nothing for another style to recognise."""
    code = getattr(fn, "__code__", None)
    if code is None or getattr(fn, "__llmhooks_style_method__", None) is not None:
        return True
    starred = code.co_flags & (_CO_VARARGS | _CO_VARKEYWORDS)
    return code.co_argcount == 2 and not starred and code.co_varnames[1] == "event"


class HandlerStyle(Protocol):
    """Another system's way of writing handler methods (seed 001's keyword style), served by
    an adapter of ``llmhooks.compat`` on the one dispatch path."""

    def adopt(self, cls: type) -> bool:
        """Serve ``cls``'s methods written in this style; True if it had any."""

    def form(self, name: str) -> str | None:
        """How a method named ``name`` is written in this style, for error messages."""

    def names(self) -> set[str]:
        """The method names this style has."""


_styles: list[HandlerStyle] = []  # registered from above (llmhooks/__init__.py): core imports no compat


def register_style(style: HandlerStyle) -> None:
    """Let ``style`` adopt handler classes whose methods are not written ``(self, event)``."""
    if style not in _styles:
        _styles.append(style)


def _other_style(cls: type) -> bool:
    """Serve another style's methods (seed 001's keywords) on a plain ``Callbacks`` subclass."""
    for klass in cls.__mro__:
        if klass is Callbacks or klass is object:
            return False
        if not getattr(klass, "validate_names", True):
            continue
        for attr, fn in klass.__dict__.items():
            if attr.startswith("on_") and callable(fn) and not _plain_event_method(fn):
                return any(style.adopt(cls) for style in _styles)
    return False


def validate_handler(handler: object) -> None:
    """Check ``handler`` once per class; raise ``InvalidHandlerError`` naming the fix.

    Methods written in seed 001's keyword style (``on_llm_start(self, prompt, **kwargs)``,
    ``on_llm_stream_chunk``...) on a plain ``Callbacks`` subclass are recognised here and
    served through ``llmhooks.compat.keyword``, as if the class were a ``KeywordCallbacks``.

    Raises:
        InvalidHandlerError: a class instead of an instance, an object that is not
            a ``Callbacks``, a misspelt ``on_*`` method, or a method that can take
            neither the event as its one argument nor seed 001's keyword-style call.
    """
    if isinstance(handler, type):
        raise InvalidHandlerError(
            f"got the class {handler.__name__}, not an instance; pass {handler.__name__}()",
            handler,
        )
    if not isinstance(handler, Callbacks):
        raise InvalidHandlerError(
            f"{type(handler).__name__} is not a handler: subclass llmhooks.Callbacks "
            "and override on_<event> methods",
            handler,
        )
    cls = type(handler)
    if cls in _validated:
        return
    import difflib
    import inspect

    _other_style(cls)
    known = _known_names()
    for klass in cls.__mro__:
        if klass is Callbacks or klass is object:
            break
        if not getattr(klass, "validate_names", True):
            continue
        adopted = klass.__dict__.get("_llmhooks_keyword_methods", ())
        for attr, fn in klass.__dict__.items():
            if not attr.startswith("on_") or not callable(fn) or attr in adopted:
                continue
            if attr not in known:
                close = difflib.get_close_matches(attr, known | _keyword_names(), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise InvalidHandlerError(f"{cls.__name__}.{attr} is not an event method{hint}", handler)
            try:
                inspect.signature(fn).bind(None, None)
            except TypeError:
                form = _keyword_form(attr)
                also = f", or in seed 001's keyword style as {form}" if form else ""
                raise InvalidHandlerError(
                    f"{cls.__name__}.{attr}{inspect.signature(fn)} cannot take the event: "
                    f"write it as (self, event){also}",
                    handler,
                ) from None
            except ValueError:  # builtins without a signature
                pass
    _validated.add(cls)


def _keyword_form(name: str) -> str | None:
    for style in _styles:
        form = style.form(name)
        if form is not None:
            return form
    return None


def _keyword_names() -> set[str]:
    return {name for style in _styles for name in style.names()}
