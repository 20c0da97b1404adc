"""Which run is current, and the scopes that follow it (such as OpenTelemetry's current span).

The current run lives in one contextvar. ``use_run(run)`` makes a run current for a
block, as OpenTelemetry's ``use_span`` does for a span; runs opened with ``with`` do
it for their own block, and a run held across a stream is made current around each
step of the stream only::

    held = llm_run(model="m", streaming=True, callbacks=cb).start()
    with use_run(held):
        client.send(...)          # code here, and runs it opens, see `held` as parent
    held.finish(response="...")

A *run scope* is told whenever a run becomes current and stops being current, in the
context where that happens, so an exporter can keep its own notion of "current" in step
(``OpenTelemetryCallbacks`` attaches the run's span). It is also asked, when a root run
opens, for the trace id of an ambient trace the run should join::

    class MyScope:
        def enter(self, run): return token          # run became current here
        def exit(self, run, token): ...             # ... and stopped being current
        def ambient_trace_id(self): return None     # or a 32-hex trace id to join

    add_run_scope(MyScope())

With no scope registered, making a run current is one contextvar set. A scope that
raises is logged once and skipped; it never breaks the run.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Protocol

from llmhooks.core._forksafe import fork_safe_lock

if TYPE_CHECKING:
    from llmhooks.core.runs import RunLike

__all__ = [
    "Activation",
    "RunScope",
    "activate",
    "add_run_scope",
    "clear_current",
    "ambient_trace_id",
    "current_run",
    "deactivate",
    "enter_scopes",
    "exit_scopes",
    "remove_run_scope",
    "restore",
    "run_scopes",
    "use_run",
]

logger = logging.getLogger("llmhooks")

_current: ContextVar[RunLike | None] = ContextVar("llmhooks_current_run", default=None)
_scopes: tuple[RunScope, ...] = ()
_lock = fork_safe_lock()
_warned: set[int] = set()


class RunScope(Protocol):
    """Follows the current run: told when a run becomes and stops being current."""

    def enter(self, run: RunLike) -> Any:
        """``run`` became current in this context; return a token for ``exit``."""

    def exit(self, run: RunLike, token: Any) -> None:
        """``run`` stopped being current (possibly in another context than ``enter``'s)."""

    def ambient_trace_id(self) -> str | None:
        """The trace id a root run opening now should join, or None."""


def add_run_scope(scope: RunScope) -> None:
    """Register ``scope`` (once; adding it again does nothing). Thread-safe."""
    global _scopes
    with _lock:
        if not any(s is scope for s in _scopes):
            _scopes = (*_scopes, scope)


def remove_run_scope(scope: RunScope) -> bool:
    """Unregister ``scope``; False if it was not registered."""
    global _scopes
    with _lock:
        kept = tuple(s for s in _scopes if s is not scope)
        found = len(kept) != len(_scopes)
        _scopes = kept
        _warned.discard(id(scope))
    return found


def run_scopes() -> tuple[RunScope, ...]:
    """The registered scopes, in registration order."""
    return _scopes


def current_run() -> RunLike | None:
    """The innermost run in progress in this context, if any."""
    return _current.get()


def clear_current() -> None:
    """No run is current in this context from now on (a worker thread or task of our own)."""
    _current.set(None)


def _failed(scope: RunScope, what: str) -> None:
    if id(scope) not in _warned:
        _warned.add(id(scope))
        logger.exception("llmhooks run scope %s failed in %s; skipping it", type(scope).__name__, what)


def enter_scopes(run: RunLike) -> list[tuple[Any, Any]] | None:
    """Tell every scope that ``run`` became current; what to pass to ``exit_scopes``."""
    scopes = _scopes
    if not scopes:
        return None
    entered: list[tuple[Any, Any]] = []
    for scope in scopes:
        try:
            entered.append((scope, scope.enter(run)))
        except Exception:
            _failed(scope, "enter")
    return entered


def exit_scopes(run: RunLike, entered: list[tuple[Any, Any]] | None) -> None:
    """Tell the scopes ``enter_scopes`` told that ``run`` stopped being current, in reverse."""
    if not entered:
        return
    for scope, token in reversed(entered):
        try:
            scope.exit(run, token)
        except Exception:
            _failed(scope, "exit")


class Activation:
    """What ``activate`` did, so ``deactivate`` can undo exactly that."""

    __slots__ = ("entered", "previous", "token")

    def __init__(
        self, token: Token[Any], previous: RunLike | None, entered: list[tuple[Any, Any]] | None
    ) -> None:
        self.token = token
        self.previous = previous
        self.entered = entered


def activate(run: RunLike) -> Activation:
    """Make ``run`` current in this context and tell the scopes."""
    previous = _current.get()
    token = _current.set(run)
    return Activation(token, previous, enter_scopes(run))


def restore(token: Token[Any], previous: RunLike | None) -> None:
    """Reset the current run with ``token``; from another context, set ``previous`` instead."""
    try:
        _current.reset(token)
    except ValueError:  # a generator resumed in another context than the one that set it
        _current.set(previous)


def deactivate(run: RunLike, activation: Activation) -> None:
    """Undo ``activate``: scopes told in reverse order, the previous run current again."""
    exit_scopes(run, activation.entered)
    restore(activation.token, activation.previous)


def ambient_trace_id() -> str | None:
    """The trace id a root run should join, from the first scope that knows one."""
    for scope in _scopes:
        try:
            trace_id = scope.ambient_trace_id()
        except Exception:
            _failed(scope, "ambient_trace_id")
            continue
        if trace_id:
            return trace_id
    return None


@contextlib.contextmanager
def use_run(run: RunLike) -> Iterator[RunLike]:
    """Make ``run`` current for the block: code inside, and runs it opens, see it as parent.

    For runs held open across frames (``run.start()``, streams): the run itself stays
    open after the block; end it with ``finish()`` or ``error()``.
    """
    activation = activate(run)
    try:
        yield run
    finally:
        deactivate(run, activation)
