"""The recording run: a start event on entry and exactly one terminal event (see ``core.runs``)."""

from __future__ import annotations

import time
from contextvars import Token
from typing import Any, ClassVar, Protocol, Self

from llmhooks._validate import check_metadata, check_tags
from llmhooks.core import scope as _scope
from llmhooks.core._builders import LazyBuilder
from llmhooks.core.context import _ambient
from llmhooks.core.delivery import Route, adeliver, deliver
from llmhooks.core.finalizers import in_collection, later
from llmhooks.core.isolation import report_overridden
from llmhooks.core.manager import CallbackManager
from llmhooks.core.redaction import redact_fields, redact_metadata, redact_value
from llmhooks.core.scope import _current, ambient_trace_id, enter_scopes, exit_scopes, restore
from llmhooks.events import (
    Event,
)
from llmhooks.events._ids import new_run_id, new_trace_id
from llmhooks.events.classify import classify_error

__all__ = ["Run", "RunLike", "ending"]

_new = object.__new__
_clock = time.perf_counter
_EMPTY_ROUTE: Route = ((), iter(()), False)  # type: ignore[assignment]  # never dispatched: no entries


class RunLike(Protocol):
    """What every run, recording or not, offers to the run tree."""

    @property
    def run_id(self) -> str: ...
    @property
    def trace_id(self) -> str: ...


def ending(exc: BaseException) -> str:
    """How a run left by ``exc`` ends: ``"incomplete"``, ``"cancelled"`` or ``"error"``.

    The one rule for every run kind and every producer: ``GeneratorExit`` (a stream its
    consumer stopped) is an incomplete end; other ``BaseException``s (cancellation,
    interrupts, exit) are cancelled errors; an ``Exception``, ``Abort`` included, is an error.
    """
    if isinstance(exc, GeneratorExit):
        return "incomplete"
    return "error" if isinstance(exc, Exception) else "cancelled"


class Run:
    """A recording run: emits its start event on entry and one terminal event.

    Subclasses name their events (``start_cls``, ``end_cls``, ``error_cls`` and an
    ``extra_cls`` such as token or step events) and the ``family`` fields every event
    of the run repeats (kept as attributes of the run). Not thread-safe: one run belongs
    to one thread or task at a time.
    """

    __slots__ = (
        "_parent",
        "_payload",
        "_routes",
        "_scoped",
        "_t0",
        "_token",
        "done",
        "manager",
        "metadata",
        "parent_run_id",
        "run_id",
        "tags",
        "trace_id",
        "user_id",
    )

    start_cls: ClassVar[type[Event]]
    end_cls: ClassVar[type[Event]]
    error_cls: ClassVar[type[Event]]
    extra_cls: ClassVar[type[Event] | None] = None
    family: ClassVar[tuple[str, ...]] = ()
    is_recording: ClassVar[bool] = True
    _classes: ClassVar[tuple[type[Event], ...]]
    _build_start: ClassVar[Any]
    _build_end: ClassVar[Any]
    _build_error: ClassVar[Any]
    _build_extra: ClassVar[Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "start_cls" not in cls.__dict__:
            return  # a subclass of a run kind (a decorator's marker): same events
        classes = (cls.start_cls, cls.end_cls, cls.error_cls)
        cls._classes = (*classes, cls.extra_cls) if cls.extra_cls is not None else classes
        for name, event_cls in (
            ("_build_start", cls.start_cls),
            ("_build_end", cls.end_cls),
            ("_build_error", cls.error_cls),
            ("_build_extra", cls.extra_cls),
        ):
            if event_cls is not None:
                lazy = LazyBuilder(event_cls, cls.family)
                lazy.__set_name__(cls, name)
                setattr(cls, name, lazy)

    def __init__(
        self,
        manager: CallbackManager,
        family: dict[str, Any],
        start_fields: dict[str, Any],
        run_id: str | None = None,
        parent_run_id: str | None = None,
        trace_id: str | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        for name in self.family:
            value = family.get(name)
            setattr(self, name, redact_value(value) if value and name == "tool_call_id" else value)
        self._setup(manager, manager.routes_for(type(self)), start_fields, run_id, parent_run_id, trace_id)
        self._context(tags, metadata)

    def _setup(
        self,
        manager: CallbackManager,
        routes: tuple[Route, ...] | None,
        payload: dict[str, Any] | None,
        run_id: str | None,
        parent_run_id: str | None,
        trace_id: str | None,
    ) -> None:
        self.manager = manager
        self._routes = routes if routes is not None else (_EMPTY_ROUTE,) * len(self._classes)
        self._payload = payload
        self.run_id = run_id or new_run_id()
        self.parent_run_id = parent_run_id
        self.trace_id = trace_id or ""
        self._t0 = 0.0
        self._token: Token[Any] | None = None
        self._parent: RunLike | None = None
        self._scoped: list[tuple[Any, Any]] | None = None
        self.done = False

    def _context(self, tags: Any, metadata: dict[str, Any] | None) -> None:
        own_tags = check_tags("tags", tags) if tags else ()
        if metadata is not None:
            metadata = check_metadata("metadata", metadata)
        ambient = _ambient.get()
        ctx = ambient.run if ambient is not None else None
        if ctx is None:
            self.user_id = None
            self.tags = list(own_tags)
            meta = dict(metadata) if metadata else {}
        else:
            self.user_id = ctx.user_id
            self.tags = [*ctx.tags, *own_tags]
            meta = {**ctx.metadata, **metadata} if metadata else dict(ctx.metadata)
        self.metadata = redact_metadata(meta) if meta else meta
        # copied onto every event of the run: redacted once, here
        if self.tags:
            self.tags = redact_value(self.tags)
        if self.user_id is not None:
            self.user_id = redact_value(self.user_id)

    @property
    def finished(self) -> bool:
        """True once the terminal event was emitted."""
        return self.done

    def _latency_ms(self) -> float:
        return (_clock() - self._t0) * 1000.0

    # opening

    def _open(self) -> Event | None:
        parent = _current.get()
        self._parent = parent
        if parent is not None:
            if self.parent_run_id is None:
                self.parent_run_id = parent.run_id
            if not self.trace_id:
                self.trace_id = parent.trace_id
        elif not self.trace_id:
            # a root run joins the trace a run scope knows of (OpenTelemetry's current span)
            self.trace_id = (_scope._scopes and ambient_trace_id()) or new_trace_id()
        self._t0 = _clock()
        start = self._start_event() if self._routes[0][0] else None
        self._payload = None
        self._token = _current.set(self)  # only once the start event exists: nothing set if it failed
        return start

    def _start_event(self) -> Event:
        payload = self._payload
        return self._build_start(self, **redact_fields(payload)) if payload else self._build_start(self)  # type: ignore[no-any-return]

    def __enter__(self) -> Self:
        # _open() inlined: this is the path of every `with` run
        parent = _current.get()
        self._parent = parent
        if parent is not None:
            if self.parent_run_id is None:
                self.parent_run_id = parent.run_id
            if not self.trace_id:
                self.trace_id = parent.trace_id
        elif not self.trace_id:
            self.trace_id = (_scope._scopes and ambient_trace_id()) or new_trace_id()
        self._t0 = _clock()
        route = self._routes[0]
        start = self._start_event() if route[0] else None
        self._payload = None
        self._token = _current.set(self)  # only once the start event exists: nothing set if it failed
        if start is not None:
            try:
                deliver(route, start)
            except BaseException as exc:
                self._close_after_refusal(exc)
                raise
        if _scope._scopes:
            self._scoped = enter_scopes(self)
        return self

    async def __aenter__(self) -> Self:
        start = self._open()
        if start is not None:
            try:
                await adeliver(self.manager.aroute(self.start_cls), start)
            except BaseException as exc:
                await self._aclose_after_refusal(exc)
                raise
        if _scope._scopes:
            self._scoped = enter_scopes(self)
        return self

    def start(self) -> Self:
        """Emit the start event without leaving this run current in the caller's context.

        For producers whose start and end come from different frames or threads
        (streams, callback-driven libraries such as LangChain): finish with ``finish()``
        or ``error()``, and make it current where needed with ``use_run(run)``. Start
        handlers see it as the current run, as inside ``with``. The parent is
        ``parent_run_id`` if given, else the current run. If a start handler raises (an
        ``Abort``), the run's error event is emitted and the exception propagates.
        """
        start = self._open()
        try:
            if start is not None:
                deliver(self._routes[0], start)
        except BaseException as exc:
            self._terminal_quietly(exc)
            raise
        finally:
            restore(self._token, self._parent)  # type: ignore[arg-type]
        return self

    async def astart(self) -> Self:
        """Async ``start``: async handlers are awaited."""
        start = self._open()
        try:
            if start is not None:
                await adeliver(self.manager.aroute(self.start_cls), start)
        except BaseException as exc:
            await self._aterminal_quietly(exc)
            raise
        finally:
            restore(self._token, self._parent)  # type: ignore[arg-type]
        return self

    def detach(self) -> Self:
        """Stop being current here without ending: the run, entered with ``with``, goes on
        elsewhere (a decorated function returned a stream). End it with ``finish``/``error``."""
        if self._scoped is not None:
            exit_scopes(self, self._scoped)
            self._scoped = None
        restore(self._token, self._parent)  # type: ignore[arg-type]
        return self

    def _close_after_refusal(self, exc: BaseException) -> None:
        # a start handler aborted (or raised with raise_errors): end the run anyway
        try:
            self._terminal_quietly(exc)
        finally:
            restore(self._token, self._parent)  # type: ignore[arg-type]

    async def _aclose_after_refusal(self, exc: BaseException) -> None:
        try:
            await self._aterminal_quietly(exc)
        finally:
            restore(self._token, self._parent)  # type: ignore[arg-type]

    # closing

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if not self.done:
                if exc is None:
                    self._end(self._default_end())
                else:
                    self._terminal_quietly(exc)
        finally:
            if self._scoped is not None:
                exit_scopes(self, self._scoped)
                self._scoped = None
            # a generator closed from elsewhere (the collector, another caller) leaves alone
            # the run current there: it is not this run's to reset
            if exc_type is not GeneratorExit or _current.get() is self:
                restore(self._token, self._parent)  # type: ignore[arg-type]

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if not self.done:
                if exc is None:
                    event = self._end_event(self._default_end())
                    if event is not None:
                        await adeliver(self.manager.aroute(self.end_cls), event)
                else:
                    await self._aterminal_quietly(exc)
        finally:
            if self._scoped is not None:
                exit_scopes(self, self._scoped)
                self._scoped = None
            restore(self._token, self._parent)  # type: ignore[arg-type]

    def _default_end(self) -> dict[str, Any]:
        """The end fields of a run left normally without ``finish()``."""
        return {}

    def _terminal_for(self, exc: BaseException) -> tuple[Event | None, int, type[Event]]:
        """The terminal event for a block left by ``exc``, its route index and class."""
        kind = ending(exc)
        if kind == "incomplete":
            fields = self._default_end()
            fields["incomplete"] = True
            return self._end_event(fields), 1, self.end_cls
        return self._error_event(exc, cancelled=kind == "cancelled"), 2, self.error_cls

    def _terminal_quietly(self, exc: BaseException) -> None:
        """End the run for the caller's ``exc``; what handlers raise never replaces it.

        Left by ``GeneratorExit`` while the garbage collector runs (a generator holding the
        run was caught in a reference cycle), the event is delivered after the collection.
        """
        event, index, _cls = self._terminal_for(exc)
        if event is not None:
            if type(exc) is GeneratorExit and in_collection():
                later(lambda: self._deliver_quietly(index, event, exc))
                return
            self._deliver_quietly(index, event, exc)

    def _deliver_quietly(self, index: int, event: Event, exc: BaseException) -> None:
        try:
            deliver(self._routes[index], event)
        except Exception as escaped:  # the caller's own exception wins over a handler's
            report_overridden(event, escaped, exc)

    async def _aterminal_quietly(self, exc: BaseException) -> None:
        event, _index, cls = self._terminal_for(exc)
        if event is not None:
            try:
                await adeliver(self.manager.aroute(cls), event)
            except Exception as escaped:
                report_overridden(event, escaped, exc)

    def _error_event(self, error: BaseException | str, **fields: Any) -> Event | None:
        if self._routes[2][0]:
            if isinstance(error, BaseException):
                fields.setdefault("error_type", type(error).__name__)
                if self._classifies:
                    code, recoverable = classify_error(error)
                    fields.setdefault("error_code", code)
                    fields.setdefault("is_recoverable", recoverable)
            fields.setdefault("latency_ms", self._latency_ms())
            fields["error"] = error
            event = self._build_error(self, **redact_fields(fields))
        else:
            event = None
        self.done = True  # only once the event exists: a failed build leaves the run to close
        return event  # type: ignore[no-any-return]

    _classifies: ClassVar[bool] = False  # error events with error_code/is_recoverable (LLM)

    def _end_event(self, fields: dict[str, Any]) -> Event | None:
        if self._routes[1][0]:
            if "latency_ms" not in fields:
                fields["latency_ms"] = self._latency_ms()
            event = self._build_end(self, **redact_fields(fields))
        else:
            event = None
        self.done = True  # only once the event exists: a failed build leaves the run to close
        return event  # type: ignore[no-any-return]

    def _end(self, fields: dict[str, Any]) -> None:
        event = self._end_event(fields)
        if event is not None:
            deliver(self._routes[1], event)

    def finish(self, **fields: Any) -> None:
        """Emit the end event with ``fields`` (once; later calls raise RuntimeError).

        Raises:
            TypeError: a field the end event does not have.
            Abort: a handler refused, once every handler had the event.
        """
        if self.done or self._token is None:
            self._check_open()
        self._end(fields)

    async def afinish(self, **fields: Any) -> None:
        """Async ``finish``: async handlers are awaited."""
        if self.done or self._token is None:
            self._check_open()
        event = self._end_event(fields)
        if event is not None:
            await adeliver(self.manager.aroute(self.end_cls), event)

    def error(self, error: BaseException | str, **fields: Any) -> None:
        """Emit the error event now, for a failure that is handled rather than raised."""
        self._check_open()
        event = self._error_event(error, **fields)
        if event is not None:
            deliver(self._routes[2], event)

    async def aerror(self, error: BaseException | str, **fields: Any) -> None:
        """Async ``error``."""
        self._check_open()
        event = self._error_event(error, **fields)
        if event is not None:
            await adeliver(self.manager.aroute(self.error_cls), event)

    def _check_open(self) -> None:
        if self.done:
            raise RuntimeError(f"{type(self).__name__} {self.run_id} already emitted its terminal event")
        if self._token is None:
            raise RuntimeError(f"{type(self).__name__} used outside its 'with' block")
