"""Where handlers come from for a call, and the run tree, kept in ``contextvars``.

Handlers for a call are, in this order and without duplicates: the global ones
(``set_global_callbacks``), the scoped ones (``with callbacks_context([...])``),
then those of the object and of the call (``callbacks=``)::

    set_global_callbacks([MetricsCallbacks()])
    with callbacks_context([PrintCallbacks()]), run_context(user_id="u1", tags=["beta"]):
        llm.chat("hi")       # both handlers; every event has user_id="u1"

This module holds all of llmhooks' global state; ``llmhooks.testing.reset()``
clears it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from llmhooks.core.callbacks import Callbacks
from llmhooks.core.manager import CallbackManager
from llmhooks.core.scope import _current, current_run
from llmhooks.errors import InvalidHandlerError

if TYPE_CHECKING:
    pass

__all__ = [
    "CallbacksLike",
    "RunContext",
    "callbacks_context",
    "current_run",
    "get_global_callbacks",
    "get_run_context",
    "global_manager",
    "manager_for",
    "run_context",
    "set_global_callbacks",
    "suppress_instrumentation",
]

CallbacksLike = Union[Callbacks, Sequence["CallbacksLike"], None]  # noqa: UP007 - recursive alias


@dataclass(frozen=True, slots=True)
class RunContext:
    """Fields added to every event started inside ``run_context(...)``."""

    user_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


_GLOBAL = CallbackManager()
_scoped: ContextVar[tuple[Callbacks, ...]] = ContextVar("llmhooks_scoped", default=())
_run_ctx: ContextVar[RunContext | None] = ContextVar("llmhooks_run_context", default=None)
_suppress: ContextVar[bool] = ContextVar("llmhooks_suppress", default=False)

_cache: dict[tuple[int, ...], tuple[tuple[Any, ...], CallbackManager]] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 512


def global_manager() -> CallbackManager:
    """The manager of the global handlers (add to or remove from it directly)."""
    return _GLOBAL


def set_global_callbacks(callbacks: CallbacksLike) -> None:
    """Make ``callbacks`` the global handlers, seen by every call in every thread.

    Raises:
        InvalidHandlerError: a handler is malformed.
    """
    _GLOBAL.set_handlers(_flatten(callbacks))


def get_global_callbacks() -> list[Callbacks]:
    """The global handlers, in call order."""
    return list(_GLOBAL.handlers)


@contextlib.contextmanager
def callbacks_context(callbacks: CallbacksLike) -> Iterator[None]:
    """Add ``callbacks`` for every call made inside the block (this context only).

    Scopes nest; inner handlers come after outer ones. Tasks and threads started
    with ``to_thread``/``ContextExecutor`` inside the block inherit them.
    """
    handlers = _flatten(callbacks)
    for h in handlers:
        if not isinstance(h, CallbackManager):
            from llmhooks.core._resolve import validate_handler

            validate_handler(h)
    outer = _scoped.get()
    token = _scoped.set(outer + tuple(handlers))
    try:
        yield
    finally:
        try:
            _scoped.reset(token)
        except ValueError:  # closed in another context (a generator finished elsewhere)
            _scoped.set(outer)


@contextlib.contextmanager
def run_context(
    *,
    user_id: str | None = None,
    tags: Iterable[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Iterator[RunContext]:
    """Add ``user_id``, ``tags`` and ``metadata`` to every event of runs started inside.

    Nested blocks add to the outer one: tags are appended, metadata merged, an
    inner ``user_id`` wins.
    """
    outer = _run_ctx.get()
    if outer is None:
        ctx = RunContext(user_id, tuple(tags or ()), dict(metadata or {}))
    else:
        ctx = RunContext(
            user_id if user_id is not None else outer.user_id,
            outer.tags + tuple(tags or ()),
            {**outer.metadata, **(metadata or {})},
        )
    token = _run_ctx.set(ctx)
    try:
        yield ctx
    finally:
        _run_ctx.reset(token)


def get_run_context() -> RunContext | None:
    """The innermost ``run_context`` in effect, if any."""
    return _run_ctx.get()


@contextlib.contextmanager
def suppress_instrumentation() -> Iterator[None]:
    """Inside the block, runs emit nothing (used by exporters and background work)."""
    token = _suppress.set(True)
    try:
        yield
    finally:
        _suppress.reset(token)


def _flatten(callbacks: CallbacksLike) -> list[Callbacks]:
    out: list[Callbacks] = []

    def walk(item: Any) -> None:
        if item is None:
            return
        if isinstance(item, Callbacks):
            if not any(x is item for x in out):
                out.append(item)
            return
        if isinstance(item, (list, tuple)):
            for sub in item:
                walk(sub)
            return
        if isinstance(item, type) and issubclass(item, Callbacks):
            raise InvalidHandlerError(
                f"got the class {item.__name__}, not an instance; pass {item.__name__}()", item
            )
        raise InvalidHandlerError(
            f"callbacks must be a Callbacks instance or a list of them, got {type(item).__name__}",
            item,
        )

    walk(callbacks)
    return out


def manager_for(callbacks: CallbacksLike = None) -> CallbackManager | None:
    """The manager that serves a call: global + scoped + ``callbacks``, or None if empty.

    Managers are cached per combination, so a steady set of handlers costs a dict
    lookup per call.
    """
    if _suppress.get():
        return None
    glob = _GLOBAL._slots
    scoped = _scoped.get()
    if callbacks is None:
        if not scoped:
            return _GLOBAL if glob else None
        key: tuple[int, ...] = (id(glob), *map(id, scoped))
        refs: tuple[Any, ...] = (glob, *scoped)
    elif isinstance(callbacks, CallbackManager) and not glob and not scoped:
        return callbacks
    else:
        extra = _flatten(callbacks) if not isinstance(callbacks, Callbacks) else [callbacks]
        if not extra and not scoped:
            return _GLOBAL if glob else None
        key = (id(glob), *map(id, scoped), 0, *map(id, extra))
        refs = (glob, *scoped, *extra)
    hit = _cache.get(key)
    if hit is not None:
        return hit[1]
    return _build(key, refs, glob, scoped, callbacks)


def _build(
    key: tuple[int, ...],
    refs: tuple[Any, ...],
    glob: tuple[Any, ...],
    scoped: tuple[Callbacks, ...],
    callbacks: CallbacksLike,
) -> CallbackManager:
    in_global = {id(s.handler) for s in glob}
    handlers: list[Callbacks] = [_GLOBAL] if glob else []
    seen = set(in_global)
    for h in (*scoped, *_flatten(callbacks)):
        if id(h) not in seen:
            seen.add(id(h))
            handlers.append(h)
    manager = handlers[0] if len(handlers) == 1 and isinstance(handlers[0], CallbackManager) else None
    if manager is None:
        manager = CallbackManager(handlers)
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        # refs keep every keyed object alive, so no id in the key can be reused
        _cache[key] = (refs, manager)
    return manager


def _reset() -> None:
    """Clear global handlers, the manager cache and this context's scoped state."""
    _GLOBAL.clear()
    with _cache_lock:
        _cache.clear()
    _scoped.set(())
    _current.set(None)
    _run_ctx.set(None)
    _suppress.set(False)
