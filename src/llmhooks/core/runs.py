"""Runs: how producers report work. Never hand-build start/end event pairs.

    with llm_run(provider="openai", model="gpt-4o", messages=msgs, callbacks=cb) as run:
        for delta in chunks:
            run.token(delta)            # LLMTokenEvent; the first one sets TTFT
        run.finish(response=text, input_tokens=12, output_tokens=40)
    # an exception inside -> LLMErrorEvent with latency, then re-raised

Each run emits its start event on entry and exactly one terminal event:

- ``finish(**fields)``: the end event with those fields; leaving the block without it,
  the end event with what is known (for an LLM stream, the text so far);
- an exception (``Abort`` included): the error event, ``cancelled=False``;
- cancellation, ``KeyboardInterrupt``, ``SystemExit``: the error event, ``cancelled=True``;
- ``GeneratorExit`` (the consumer stopped a stream early): the end event with
  ``incomplete=True`` and what was produced so far.

``token()``, ``step()``, ``finish()`` and ``error()`` after the terminal event raise
``RuntimeError``. A handler's ``Abort`` on the start event stops the call (the body
never runs; the run's error event is still emitted); on a terminal event it reaches the
producer only after every handler had the event, and never replaces the caller's own
exception. ``async with`` awaits async handlers; use ``await run.atoken(...)`` /
``await run.afinish(...)`` there to await them for tokens and the end too.

With no handler taking any of a run's events, a run is a cheap no-op that still takes
part in the run tree, so a nested run that does have handlers gets the right parent.
"""

from __future__ import annotations

import time
from contextvars import Token
from typing import Any, ClassVar, Protocol, Self

from llmhooks._validate import check_metadata, check_tags
from llmhooks.core import redaction as _redaction
from llmhooks.core import scope as _scope
from llmhooks.core._builders import LazyBuilder
from llmhooks.core.context import _GLOBAL, CallbacksLike, _ambient, manager_for, manager_in
from llmhooks.core.finalizers import in_collection, later
from llmhooks.core.isolation import report_overridden
from llmhooks.core.manager import CallbackManager, Route, adeliver, deliver
from llmhooks.core.redaction import redact_fields, redact_metadata, redact_payload, redact_value
from llmhooks.core.scope import _current, ambient_trace_id, enter_scopes, exit_scopes, restore
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
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    LLMTokenEvent,
    RetrievalEndEvent,
    RetrievalErrorEvent,
    RetrievalStartEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)
from llmhooks.events._ids import RUN_IDS, new_run_id, new_trace_id
from llmhooks.events._model import MISSING
from llmhooks.events.classify import classify_error

__all__ = [
    "AgentRun",
    "ChainRun",
    "LLMRun",
    "NodeRun",
    "RetrievalRun",
    "Run",
    "RunLike",
    "ToolRun",
    "agent_run",
    "chain_run",
    "classify_error",
    "ending",
    "llm_run",
    "llm_run_of",
    "node_run",
    "retrieval_run",
    "tool_run",
]

_LLM_START = (
    ("messages", None),
    ("prompt", None),
    ("temperature", None),
    ("max_tokens", None),
    ("tools", None),
    ("streaming", False),
    ("params", None),
)
_LLM_END_NAMES = frozenset(
    {
        "provider", "model", "response", "input_tokens", "output_tokens", "total_tokens",
        "cached_input_tokens", "cache_write_input_tokens", "reasoning_tokens", "usage_estimated",
        "latency_ms", "time_to_first_token_ms", "finish_reason", "tool_calls", "cost", "incomplete",
        "input_audio_tokens", "output_audio_tokens",
    }
)  # fmt: skip
TOKEN_EVENT_SET = (
    "run_id",
    "parent_run_id",
    "trace_id",
    "timestamp",
    "user_id",
    "tags",
    "metadata",
    "provider",
    "model",
    "token",
    "index",
    "is_first",
    "time_to_first_token_ms",
)
# left unset by LLMRun.token (they read as their default, None): a producer passes them
TOKEN_EVENT_DEFAULTED = ("content_index", "item_id", "output_index", "sequence_number")
TOKEN_EVENT_FIELDS = (
    *TOKEN_EVENT_SET,
    *TOKEN_EVENT_DEFAULTED,
)  # every field LLMRun.token provides; a test keeps it equal to the class's fields
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


class _NoopRun:
    """The run used when nobody listens: no events, ids made only if asked for.

    It still becomes the current run inside its block, so a nested run that does have
    handlers gets it as parent; its parent is read from the context token when asked.
    """

    __slots__ = ("_parent_run_id", "_run_id", "_token", "_trace_id")

    is_recording: ClassVar[bool] = False
    # the read-only surface of a recording run, empty, so producers need not branch
    done: ClassVar[bool] = False
    manager: ClassVar[None] = None
    user_id: ClassVar[None] = None
    tags: ClassVar[tuple[str, ...]] = ()
    metadata: ClassVar[dict[str, Any]] = {}
    text: ClassVar[str] = ""
    time_to_first_token_ms: ClassVar[None] = None
    steps: ClassVar[int] = 0

    def __init__(
        self, run_id: str | None = None, parent_run_id: str | None = None, trace_id: str | None = None
    ) -> None:
        self._run_id = run_id
        self._trace_id = trace_id
        self._parent_run_id = parent_run_id
        self._token: Token[Any] | None = None

    @property
    def _parent(self) -> RunLike | None:
        token = self._token
        if token is None:
            return None
        old = token.old_value
        return None if old is Token.MISSING else old

    @property
    def run_id(self) -> str:
        if self._run_id is None:
            self._run_id = new_run_id()
        return self._run_id

    @property
    def trace_id(self) -> str:
        if self._trace_id is None:
            parent = self._parent
            self._trace_id = parent.trace_id if parent is not None else new_trace_id()
        return self._trace_id

    @property
    def parent_run_id(self) -> str | None:
        if self._parent_run_id is not None:
            return self._parent_run_id
        parent = self._parent
        return parent.run_id if parent is not None else None

    def __enter__(self) -> _NoopRun:
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        token = self._token
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # left in another context (a generator resumed elsewhere)
                _current.set(self._parent)

    async def __aenter__(self) -> _NoopRun:
        self._token = _current.set(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()

    def start(self) -> _NoopRun:
        return self

    def detach(self) -> _NoopRun:
        self.__exit__()
        return self

    async def astart(self) -> _NoopRun:
        return self

    def token(self, token: str | None, **fields: Any) -> None:
        pass

    async def atoken(self, token: str | None, **fields: Any) -> None:
        pass

    def step(self, **fields: Any) -> None:
        pass

    async def astep(self, **fields: Any) -> None:
        pass

    def finish(self, **fields: Any) -> None:
        pass

    async def afinish(self, **fields: Any) -> None:
        pass

    def error(self, error: BaseException | str, **fields: Any) -> None:
        pass

    async def aerror(self, error: BaseException | str, **fields: Any) -> None:
        pass

    @property
    def finished(self) -> bool:
        return False


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


class LLMRun(Run):
    """An LLM call: adds ``token()`` for streams; the end event defaults from the stream."""

    __slots__ = ("_chunks", "_ttft", "model", "provider")
    provider: str | None
    model: str | None

    start_cls = LLMStartEvent
    end_cls = LLMEndEvent
    error_cls = LLMErrorEvent
    extra_cls = LLMTokenEvent
    family = ("provider", "model")
    _classifies = True

    def _setup(self, *args: Any) -> None:
        self._ttft: float | None = None
        self._chunks: list[str] = []
        Run._setup(self, *args)

    def _start_event(self) -> Event:
        # built field by field: runs once per call (tests check every field is set)
        payload: Any = self._payload
        if type(payload) is dict:  # from the positional constructor
            payload = tuple(payload.get(name, default) for name, default in _LLM_START)
        messages, prompt, temperature, max_tokens, tools, streaming, params = payload
        if messages is not None:
            messages = redact_payload("messages", messages)
        if prompt is not None:
            prompt = redact_payload("prompt", prompt)
        if tools is not None:
            tools = redact_payload("tools", tools)
        if params is not None:
            params = redact_payload("params", params)
        event = _new(LLMStartEvent)
        event.run_id = self.run_id
        event.parent_run_id = self.parent_run_id
        event.trace_id = self.trace_id
        event.timestamp = time.time()
        event.user_id = self.user_id
        event.tags = self.tags
        event.metadata = self.metadata
        event.provider = self.provider
        event.model = self.model
        event.messages = messages
        event.prompt = prompt
        event.temperature = temperature
        event.max_tokens = max_tokens
        event.tools = tools
        event.streaming = streaming
        event.params = params
        return event

    @property
    def time_to_first_token_ms(self) -> float | None:
        """Milliseconds from start to the first token, once there is one."""
        return self._ttft

    @property
    def text(self) -> str:
        """The text streamed so far."""
        return "".join(self._chunks)

    def _token_event(self, token: str | None, fields: dict[str, Any]) -> LLMTokenEvent | None:
        if self.done:
            raise RuntimeError(f"LLMRun {self.run_id} already emitted its terminal event; no more tokens")
        if type(token) is not str:
            if token is None:
                return None  # SDK streams send empty deltas as None: nothing was said
            raise TypeError(
                f"run.token() takes the text delta as a str, got {type(token).__name__}: {token!r}"
            )
        chunks = self._chunks
        index = len(chunks)
        chunks.append(token)
        if index == 0:
            self._ttft = (_clock() - self._t0) * 1000.0
        if not self._routes[3][0]:
            return None
        if not _redaction._active.capture_content:
            token = _redaction.blank(token)
        # tokens skip redaction (a secret split across deltas would evade it anyway); the end
        # event carries the joined text and is redacted. Built field by field: this runs per
        # streamed token (TOKEN_EVENT_FIELDS pins the list)
        event = _new(LLMTokenEvent)
        event.run_id = self.run_id
        event.parent_run_id = self.parent_run_id
        event.trace_id = self.trace_id
        event.timestamp = time.time()
        event.user_id = self.user_id
        event.tags = self.tags
        event.metadata = self.metadata
        event.provider = self.provider
        event.model = self.model
        event.token = token
        event.index = index
        event.is_first = index == 0
        event.time_to_first_token_ms = self._ttft if index == 0 else None
        for name, value in fields.items():  # rare: extra fields a producer passes
            setattr(event, name, value)
        return event

    def token(self, token: str | None, **fields: Any) -> None:
        """Report one streamed text delta (``None`` is skipped)."""
        event = self._token_event(token, fields)
        if event is not None:
            deliver(self._routes[3], event)

    async def atoken(self, token: str | None, **fields: Any) -> None:
        """Async ``token``: async handlers are awaited."""
        event = self._token_event(token, fields)
        if event is not None:
            await adeliver(self.manager.aroute(LLMTokenEvent), event)

    def finish(  # type: ignore[override]
        self,
        *,
        response: Any = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        total_tokens: int | None = None,
        cached_input_tokens: int | None = None,
        cache_write_input_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        usage_estimated: bool = False,
        latency_ms: float | None = None,
        time_to_first_token_ms: float | None = None,
        finish_reason: str | None = None,
        tool_calls: list[Any] | None = None,
        cost: float | None = None,
        incomplete: bool = False,
        provider: Any = MISSING,
        model: Any = MISSING,
        input_audio_tokens: int | None = None,
        output_audio_tokens: int | None = None,
    ) -> None:
        """Emit the end event (once; later calls raise RuntimeError).

        ``response`` defaults to the streamed text, ``total_tokens`` to input + output,
        ``latency_ms`` and ``time_to_first_token_ms`` to what the run measured;
        ``provider``/``model`` correct the run's (the model the provider resolved).

        Raises:
            Abort: a handler refused, once every handler had the event.
        """
        if self.done or self._token is None:
            self._check_open()
        if not self._routes[1][0]:
            self.done = True
            return
        event = _llm_end(
            self, response, input_tokens, output_tokens, total_tokens, cached_input_tokens,
            cache_write_input_tokens, reasoning_tokens, usage_estimated, latency_ms,
            time_to_first_token_ms, finish_reason, tool_calls, cost, incomplete, provider, model,
            input_audio_tokens, output_audio_tokens,
        )  # fmt: skip
        deliver(self._routes[1], event)

    def _end_event(self, fields: dict[str, Any]) -> Event | None:
        if not self._routes[1][0]:
            self.done = True
            return None
        if not _LLM_END_NAMES.issuperset(fields):
            unknown = ", ".join(sorted(set(fields) - _LLM_END_NAMES))
            raise TypeError(f"LLMRun.finish() got field(s) LLMEndEvent does not have: {unknown}")
        get = fields.get
        return _llm_end(
            self, get("response"), get("input_tokens"), get("output_tokens"), get("total_tokens"),
            get("cached_input_tokens"), get("cache_write_input_tokens"), get("reasoning_tokens"),
            get("usage_estimated", False), get("latency_ms"), get("time_to_first_token_ms"),
            get("finish_reason"), get("tool_calls"), get("cost"), get("incomplete", False),
            get("provider", MISSING), get("model", MISSING),
            get("input_audio_tokens"), get("output_audio_tokens"),
        )  # fmt: skip


def _llm_end(
    run: LLMRun,
    response: Any,
    input_tokens: int | None,
    output_tokens: int | None,
    total: int | None,
    cached: int | None,
    cache_write: int | None,
    reasoning: int | None,
    estimated: bool,
    latency: float | None,
    ttft: float | None,
    finish_reason: str | None,
    tool_calls: list[Any] | None,
    cost: float | None,
    incomplete: bool,
    provider: Any,
    model: Any,
    audio_in: int | None = None,
    audio_out: int | None = None,
) -> LLMEndEvent:
    """The end event of ``run``, built field by field (runs once per call; tests check every
    field is set), with the defaults ``LLMRun.finish`` documents. Marks the run done."""
    if (
        (input_tokens is not None and type(input_tokens) is not int)
        or (output_tokens is not None and type(output_tokens) is not int)
        or (total is not None and type(total) is not int)
        or (cached is not None and type(cached) is not int)
        or (cache_write is not None and type(cache_write) is not int)
        or (reasoning is not None and type(reasoning) is not int)
        or (audio_in is not None and type(audio_in) is not int)
        or (audio_out is not None and type(audio_out) is not int)
        or (cost is not None and type(cost) is not float)
    ):  # rare: a numpy integer, a Decimal cost, or a mistake; normalised or refused
        input_tokens, output_tokens, total, cached, cache_write, reasoning, audio_in, audio_out = (
            _count(name, value)
            for name, value in (
                ("input_tokens", input_tokens), ("output_tokens", output_tokens),
                ("total_tokens", total), ("cached_input_tokens", cached),
                ("cache_write_input_tokens", cache_write), ("reasoning_tokens", reasoning),
                ("input_audio_tokens", audio_in), ("output_audio_tokens", audio_out),
            )
        )  # fmt: skip
        cost = _amount("cost", cost)
    if response is None and run._chunks:
        response = "".join(run._chunks)
    if response is not None:
        response = redact_payload("response", response)
    if tool_calls is not None:
        tool_calls = redact_payload("tool_calls", tool_calls)
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    event = _new(LLMEndEvent)
    event.run_id = run.run_id
    event.parent_run_id = run.parent_run_id
    event.trace_id = run.trace_id
    event.timestamp = time.time()
    event.user_id = run.user_id
    event.tags = run.tags
    event.metadata = run.metadata
    event.provider = run.provider if provider is MISSING else provider
    event.model = run.model if model is MISSING else model
    event.response = response
    event.input_tokens = input_tokens
    event.output_tokens = output_tokens
    event.total_tokens = total
    event.cached_input_tokens = cached
    event.cache_write_input_tokens = cache_write
    event.reasoning_tokens = reasoning
    event.input_audio_tokens = audio_in
    event.output_audio_tokens = audio_out
    event.usage_estimated = estimated
    event.latency_ms = (_clock() - run._t0) * 1000.0 if latency is None else latency
    event.time_to_first_token_ms = run._ttft if ttft is None else ttft
    event.finish_reason = finish_reason
    event.tool_calls = tool_calls
    event.cost = cost
    event.incomplete = incomplete
    run.done = True
    return event


def _count(name: str, value: Any) -> int | None:
    """A token count as an ``int``: integers of any kind (numpy's too) are taken as they are."""
    if value is None or type(value) is int:
        return value
    if not isinstance(value, bool):
        try:
            index = value.__index__()  # int subclasses, numpy integers
        except (AttributeError, TypeError):
            pass
        else:
            return int(index)
    given = f"{type(value).__name__}: {value!r:.40}"
    raise TypeError(f"LLMRun.finish() {name} must be an int token count or None, got {given}")


def _amount(name: str, value: Any) -> float | None:
    """A cost as a ``float``: ints, Decimals and numpy floats are converted."""
    if value is None or type(value) is float:
        return value
    if not isinstance(value, (bool, str, bytes)):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    raise TypeError(
        f"LLMRun.finish() {name} must be a number or None, got {type(value).__name__}: {value!r:.40}"
    )


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
        return _noop(run_id, parent_run_id, trace_id, tags, metadata)
    run = _new(cls)
    run._setup(manager, routes, payload, run_id, parent_run_id, trace_id)  # type: ignore[arg-type]
    run._context(tags, metadata)
    return run


def _check_messages(messages: Any) -> Any:
    if messages is None or type(messages) is list:
        return messages
    if isinstance(messages, tuple):
        return list(messages)
    raise TypeError(
        f"messages must be a list of messages (dicts with 'role' and 'content') or None, got "
        f"{type(messages).__name__}: {messages!r:.80}; pass a single prompt as prompt="
    )


def llm_run(
    *,
    provider: str | None = None,
    model: str | None = None,
    messages: list[Any] | None = None,
    prompt: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    tools: list[Any] | None = None,
    streaming: bool = False,
    params: dict[str, Any] | None = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
) -> LLMRun:
    """A run for one LLM call; use as ``with`` or ``async with``.

    Raises:
        TypeError: ``messages`` is not a list, or ``tags`` not a string or list of strings.
    """
    if messages is not None and type(messages) is not list:
        messages = _check_messages(messages)
    ambient = _ambient.get()
    if ambient is None and not _GLOBAL._slots and type(callbacks) is CallbackManager:
        manager: CallbackManager | None = callbacks  # the common case, manager_in's first answer
    else:
        manager = manager_in(callbacks, ambient)
    if manager is None:
        return _noop(run_id, parent_run_id, trace_id, tags, metadata)  # type: ignore[return-value]
    routes = manager._routes.get(LLMRun)
    if not routes:
        routes = manager.routes_for(LLMRun) if routes is None else None
        if routes is None:  # no handler takes any LLM event: skip building anything
            return _noop(run_id, parent_run_id, trace_id, tags, metadata)  # type: ignore[return-value]
    return _fresh_llm(  # type: ignore[no-any-return]
        LLMRun, manager, routes, provider, model,
        (messages, prompt, temperature, max_tokens, tools, streaming, params),
        run_id, parent_run_id, trace_id, tags, metadata, ambient,
    )  # fmt: skip


def _fresh_llm(
    cls: type[LLMRun],
    manager: CallbackManager,
    routes: tuple[Route, ...],
    provider: str | None,
    model: str | None,
    payload: tuple[Any, ...],
    run_id: str | None,
    parent_run_id: str | None,
    trace_id: str | None,
    tags: Any,
    metadata: dict[str, Any] | None,
    ambient: Any,
) -> Any:
    """A new LLM run of ``cls`` set up without ``__init__`` (runs once per LLM call)."""
    run: Any = _new(cls)
    run.manager = manager
    run._routes = routes
    run.provider = provider
    run.model = model
    run._payload = payload
    if run_id is None:
        try:
            run_id = RUN_IDS.pop()
        except IndexError:
            run_id = new_run_id()
    run.run_id = run_id
    run.parent_run_id = parent_run_id
    run.trace_id = trace_id or ""
    run._t0 = 0.0
    run._token = None
    run._parent = None
    run._scoped = None
    run.done = False
    run._ttft = None
    run._chunks = []
    if tags is None and metadata is None and (ambient is None or ambient.run is None):
        run.user_id = None
        run.tags = []
        run.metadata = {}
    else:
        run._context(tags, metadata)
    return run


def llm_run_of(
    cls: type[LLMRun],
    manager: CallbackManager,
    provider: str | None,
    model: str | None,
    payload: tuple[Any, ...],
) -> Any:
    """A run of ``cls`` (an ``LLMRun`` subclass) for a producer that has its manager: the no-op
    run when no handler takes an LLM event. ``payload`` is the start event's fields in order:
    messages, prompt, temperature, max_tokens, tools, streaming, params."""
    routes = manager._routes.get(cls)
    if not routes:
        routes = manager.routes_for(cls) if routes is None else None
        if routes is None:
            return _noop(None, None, None, None, None)
    return _fresh_llm(
        cls, manager, routes, provider, model, payload, None, None, None, None, None, _ambient.get()
    )


def _noop(
    run_id: str | None, parent_run_id: str | None, trace_id: str | None, tags: Any, metadata: Any
) -> _NoopRun:
    if tags:  # refused whether or not anybody listens: a mistake must not wait for a handler
        check_tags("tags", tags)
    if metadata is not None:
        check_metadata("metadata", metadata)
    run = _new(_NoopRun)  # no __init__ call: this is the path of every call nobody listens to
    run._run_id = run_id
    run._parent_run_id = parent_run_id
    run._trace_id = trace_id
    run._token = None
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
