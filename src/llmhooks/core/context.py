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
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, NamedTuple, Union

from llmhooks.core._forksafe import fork_safe_lock
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.manager import CallbackManager
from llmhooks.core.scope import _current, current_run
from llmhooks.errors import InvalidHandlerError

__all__ = [
    "Ambient",
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


class RunContext(NamedTuple):
    """Fields added to every event started inside ``run_context(...)``."""

    user_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = {}  # noqa: RUF012 - never mutated: run_context builds a new one


class Ambient(NamedTuple):
    """What the context adds to runs started in it: scoped handlers, run context, suppression.

    One contextvar for the three, so a run reads its context with a single ``get``.
    """

    handlers: tuple[Callbacks, ...] = ()
    run: RunContext | None = None
    suppressed: bool = False


_GLOBAL = CallbackManager()
_ambient: ContextVar[Ambient | None] = ContextVar("llmhooks_ambient", default=None)
_NOTHING = Ambient()
_SUPPRESSED = Ambient(suppressed=True)


def _set_ambient(new: Ambient) -> Any:
    return _ambient.set(new)


def _restore_ambient(token: Any, outer: Ambient | None) -> None:
    try:
        _ambient.reset(token)
    except ValueError:  # closed in another context (a generator finished elsewhere)
        _ambient.set(outer)


def suppress_here() -> None:
    """Suppress instrumentation in the current context for good (a worker thread's own)."""
    _ambient.set(_SUPPRESSED)


_cache: dict[tuple[int, ...], tuple[tuple[Any, ...], CallbackManager]] = {}
_cache_lock = fork_safe_lock()
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
    outer = _ambient.get()
    base = outer or _NOTHING
    token = _ambient.set(base._replace(handlers=base.handlers + tuple(handlers)))
    try:
        yield
    finally:
        _restore_ambient(token, outer)


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
    from llmhooks._validate import check_tags

    own = tuple(check_tags("tags", tags)) if tags is not None else ()
    outer_ambient = _ambient.get()
    base = outer_ambient or _NOTHING
    outer = base.run
    if outer is None:
        ctx = RunContext(user_id, own, dict(metadata or {}))
    else:
        ctx = RunContext(
            user_id if user_id is not None else outer.user_id,
            outer.tags + own,
            {**outer.metadata, **(metadata or {})},
        )
    token = _ambient.set(base._replace(run=ctx))
    try:
        yield ctx
    finally:
        _restore_ambient(token, outer_ambient)


def get_run_context() -> RunContext | None:
    """The innermost ``run_context`` in effect, if any."""
    ambient = _ambient.get()
    return ambient.run if ambient is not None else None


@contextlib.contextmanager
def suppress_instrumentation() -> Iterator[None]:
    """Inside the block, runs emit nothing (used by exporters and background work)."""
    outer = _ambient.get()
    token = _ambient.set((outer or _NOTHING)._replace(suppressed=True))
    try:
        yield
    finally:
        _restore_ambient(token, outer)


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
    return manager_in(callbacks, _ambient.get())


def manager_in(callbacks: CallbacksLike, ambient: Ambient | None) -> CallbackManager | None:
    """``manager_for`` with the context's ``Ambient`` already read (runs read it once)."""
    if ambient is None:
        scoped: tuple[Callbacks, ...] = ()
    elif ambient.suppressed:
        return None
    else:
        scoped = ambient.handlers
    glob = _GLOBAL._slots
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
    _ambient.set(None)
    _current.set(None)
