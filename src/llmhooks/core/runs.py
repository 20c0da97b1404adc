"""Runs: how producers report work. Never hand-build start/end event pairs.

    with llm_run(provider="openai", model="gpt-4o", messages=msgs, callbacks=cb) as run:
        for delta in chunks:
            run.token(delta)            # LLMTokenEvent; the first one sets TTFT
        run.finish(response=text, input_tokens=12, output_tokens=40)
    # an exception inside -> LLMErrorEvent with latency, then re-raised

Each run emits its start event on entry and exactly one terminal event: the end
event from ``finish()`` (or, if the block ends without it, an end event with what
is known); the error event when the block raises (``cancelled=True`` for
cancellation and interrupts); for an LLM stream closed early (``GeneratorExit``),
an end event with ``incomplete=True`` and the text produced so far. ``async with``
awaits async handlers; use ``await run.atoken(...)`` / ``await run.afinish(...)``
there to await them for tokens and the end too.

With no handler anywhere, a run is a cheap no-op that still takes part in the
run tree, so a nested run that does have handlers gets the right parent.
"""

from __future__ import annotations

import time
from contextvars import Token
from random import getrandbits
from typing import Any, ClassVar, Protocol, Self

from llmhooks.core import redaction as _redaction
from llmhooks.core.context import CallbacksLike, _current, _run_ctx, manager_for
from llmhooks.core.manager import CallbackManager
from llmhooks.core.redaction import redact_fields, redact_metadata, redact_value
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
from llmhooks.events._ids import new_run_id, new_trace_id

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
    "llm_run",
    "node_run",
    "retrieval_run",
    "tool_run",
]

TOKEN_EVENT_FIELDS = (
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
)  # every field LLMRun sets on a token event; a test keeps it equal to the dataclass's
_new_object = object.__new__
_RECOVERABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


class RunLike(Protocol):
    """What every run, recording or not, offers to the run tree."""

    @property
    def run_id(self) -> str: ...
    @property
    def trace_id(self) -> str: ...


def classify_error(exc: BaseException) -> tuple[str | None, bool]:
    """Return ``(error_code, is_recoverable)`` read from a provider or OS exception.

    ``error_code`` is the HTTP status, or for an error sent inside a stream (whose HTTP
    status was 200) the provider's error type (``overloaded_error``, ``server_error``);
    rate limits, overloads, timeouts, connection errors and 5xx answers are recoverable.
    """
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    if isinstance(status, int) and 200 <= status < 300:
        status = None  # an error event inside a successful stream: the type says more
    kind = _error_type_of(exc)
    code = getattr(exc, "code", None)
    error_code = str(status) if isinstance(status, int) else (kind or (str(code) if code else None))
    if isinstance(status, int):
        return error_code, status in _RECOVERABLE_STATUS or status >= 500
    if kind in _RECOVERABLE_TYPES:
        return error_code, True
    name = type(exc).__name__
    recoverable = isinstance(exc, (TimeoutError, ConnectionError)) or name in (
        "APITimeoutError",
        "APIConnectionError",
        "RateLimitError",
    )
    # httpx/httpx2 transport failures (a cut stream, a timeout) without importing either
    recoverable = recoverable or any(
        c.__name__ in ("TransportError", "TimeoutException") for c in type(exc).__mro__
    )
    return error_code, recoverable


_RECOVERABLE_TYPES = frozenset(
    {"overloaded_error", "api_error", "rate_limit_error", "server_error", "rate_limit_exceeded", "timeout"}
)


def _error_type_of(exc: BaseException) -> str | None:
    """The provider's error type: Anthropic's ``body["error"]["type"]``, OpenAI's ``exc.type``."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return inner["type"]  # type: ignore[no-any-return]
        if isinstance(body.get("type"), str) and body.get("type") != "error":
            return body["type"]  # type: ignore[no-any-return]
    kind = getattr(exc, "type", None)
    return kind if isinstance(kind, str) else None


class _NoopRun:
    """The run used when nobody listens: no events, ids made only if asked for."""

    __slots__ = ("_parent", "_parent_run_id", "_run_id", "_token", "_trace_id")

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
        self._parent: RunLike | None = None
        self._token: Token[Any] | None = None

    @property
    def run_id(self) -> str:
        if self._run_id is None:
            self._run_id = new_run_id()
        return self._run_id

    @property
    def trace_id(self) -> str:
        if self._trace_id is None:
            self._trace_id = self._parent.trace_id if self._parent is not None else new_trace_id()
        return self._trace_id

    @property
    def parent_run_id(self) -> str | None:
        if self._parent_run_id is not None:
            return self._parent_run_id
        return self._parent.run_id if self._parent is not None else None

    def __enter__(self) -> _NoopRun:
        self._parent = _current.get()
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _reset_current(self._token, self._parent)

    async def __aenter__(self) -> _NoopRun:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        _reset_current(self._token, self._parent)

    def start(self) -> _NoopRun:
        return self

    async def astart(self) -> _NoopRun:
        return self

    def token(self, token: str, **fields: Any) -> None:
        pass

    async def atoken(self, token: str, **fields: Any) -> None:
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


def _reset_current(token: Token[Any] | None, parent: RunLike | None) -> None:
    if token is None:
        return
    try:
        _current.reset(token)
    except ValueError:  # exited in another context (a generator resumed elsewhere)
        _current.set(parent)


class Run:
    """A recording run: emits its start event on entry and one terminal event.

    Subclasses name their events and the fields every event of the run carries.
    Not thread-safe: one run belongs to one thread or task at a time.
    """

    __slots__ = (
        "_base",
        "_family",
        "_mgr",
        "_parent",
        "_start_fields",
        "_t0",
        "_token",
        "done",
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
    is_recording: ClassVar[bool] = True

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
        self._mgr = manager
        self._family = family
        self._start_fields = start_fields
        self.run_id = run_id or f"{getrandbits(64):016x}"
        self.parent_run_id = parent_run_id
        self.trace_id = trace_id or ""
        ctx = _run_ctx.get()
        if ctx is None:
            self.user_id = None
            self.tags = list(tags) if tags else []
            self.metadata = dict(metadata) if metadata else {}
        else:
            self.user_id = ctx.user_id
            self.tags = [*ctx.tags, *(tags or ())]
            self.metadata = {**ctx.metadata, **(metadata or {})}
        if self.metadata:
            self.metadata = redact_metadata(self.metadata)
        # identity fields are copied onto every event of the run: redacted once, here
        if self.tags:
            self.tags = redact_value(self.tags)
        if self.user_id is not None:
            self.user_id = redact_value(self.user_id)
        self._t0 = 0.0
        self._token: Token[Any] | None = None
        self._parent: RunLike | None = None
        self.done = False

    @property
    def finished(self) -> bool:
        """True once the terminal event was emitted."""
        return self.done

    @property
    def manager(self) -> CallbackManager:
        """The manager this run emits through."""
        return self._mgr

    def _event(self, cls: type[Event], fields: dict[str, Any]) -> Event | None:
        """Build an event of this run, or None when no handler takes ``cls``.

        Payload ``fields`` pass through redaction first.
        """
        mgr = self._mgr
        route = mgr._routes.get(cls)  # inlined CallbackManager.wants: this runs for every event
        if route is None:
            route = mgr._route(cls)
        if not route[0]:
            return None  # nobody listens: neither build nor redact it
        if fields:
            fields = redact_fields(fields)
            try:
                return cls(**self._base, **fields)
            except TypeError:
                # a producer correcting a family field (the model it resolved), or a bad field
                return cls(**{**self._base, **fields})
        return cls(**self._base)

    def _send(self, event: Event | None) -> None:
        if event is not None:
            self._mgr.emit(event)

    async def _asend(self, event: Event | None) -> None:
        if event is not None:
            await self._mgr.aemit(event)

    def _latency_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000.0

    # lifecycle

    def _open(self) -> Event | None:
        parent = _current.get()
        self._parent = parent
        if parent is not None:
            if self.parent_run_id is None:
                self.parent_run_id = parent.run_id
            if not self.trace_id:
                self.trace_id = parent.trace_id
        if not self.trace_id:
            self.trace_id = f"{getrandbits(128):032x}"
        # every event of the run shares these; built once, expanded per event
        self._base = {
            "run_id": self.run_id,
            "parent_run_id": self.parent_run_id,
            "trace_id": self.trace_id,
            "user_id": self.user_id,
            "tags": self.tags,
            "metadata": self.metadata,
            **self._family,
        }
        self._t0 = time.perf_counter()
        start = self._event(self.start_cls, self._start_fields)  # may raise: nothing is set yet
        self._start_fields = {}
        self._token = _current.set(self)
        return start

    def __enter__(self) -> Self:
        start = self._open()
        if start is not None:
            try:
                self._mgr.emit(start)
            except BaseException as exc:
                self._close_on_exception(exc)
                raise
        return self

    async def __aenter__(self) -> Self:
        start = self._open()
        try:
            await self._asend(start)
        except BaseException as exc:
            await self._aclose_on_exception(exc)
            raise
        return self

    def start(self) -> Self:
        """Emit the start event without making this the current run of the context.

        For producers whose start and end come from different frames or threads
        (callback-driven libraries such as LangChain): finish with ``finish()`` or
        ``error()``. The parent is ``parent_run_id`` if given, else the current run.
        If a start handler raises (an ``Abort``), the run's error event is emitted
        and the exception propagates.
        """
        start = self._open()
        _reset_current(self._token, self._parent)
        try:
            self._send(start)
        except BaseException as exc:
            if not self.done:
                try:
                    self._send(self._terminal_for(exc))
                except Exception:
                    pass
            raise
        return self

    async def astart(self) -> Self:
        """Async ``start``: async handlers are awaited."""
        start = self._open()
        _reset_current(self._token, self._parent)
        try:
            await self._asend(start)
        except BaseException as exc:
            if not self.done:
                try:
                    await self._asend(self._terminal_for(exc))
                except Exception:
                    pass
            raise
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if not self.done:
                if exc is None:
                    event = self._end_event({})
                    if event is not None:
                        self._mgr.emit(event)
                else:
                    self._send(self._terminal_for(exc))
        finally:
            try:
                _current.reset(self._token)  # type: ignore[arg-type]
            except ValueError:  # exited in another context (a generator resumed elsewhere)
                _current.set(self._parent)

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if not self.done:
                if exc is None:
                    await self.afinish()
                else:
                    await self._asend(self._terminal_for(exc))
        finally:
            _reset_current(self._token, self._parent)

    def _close_on_exception(self, exc: BaseException) -> None:
        # a start handler aborted (or raised with raise_errors): close the run anyway
        try:
            if not self.done:
                self._send(self._terminal_for(exc))
        except Exception:
            pass
        finally:
            _reset_current(self._token, self._parent)

    async def _aclose_on_exception(self, exc: BaseException) -> None:
        try:
            if not self.done:
                await self._asend(self._terminal_for(exc))
        except Exception:
            pass
        finally:
            _reset_current(self._token, self._parent)

    def _terminal_for(self, exc: BaseException) -> Event | None:
        """The terminal event for a block that raised ``exc``; marks the run done."""
        # CancelledError, KeyboardInterrupt and SystemExit are BaseExceptions, not Exceptions
        return self._error_event(exc, cancelled=not isinstance(exc, Exception))

    def _error_event(self, error: BaseException | str, **fields: Any) -> Event | None:
        if isinstance(error, BaseException):
            code, recoverable = classify_error(error)
            fields.setdefault("error_type", type(error).__name__)
            if "error_code" in self.error_cls.__dataclass_fields__:
                fields.setdefault("error_code", code)
                fields.setdefault("is_recoverable", recoverable)
        fields.setdefault("latency_ms", self._latency_ms())
        event = self._event(self.error_cls, {"error": error, **fields})
        self.done = True  # only once the event exists: a failed build leaves the run to close
        return event

    def _end_event(self, fields: dict[str, Any]) -> Event | None:
        if "latency_ms" not in fields:
            fields["latency_ms"] = (time.perf_counter() - self._t0) * 1000.0
        event = self._event(self.end_cls, fields)
        self.done = True  # only once the event exists: a failed build leaves the run to close
        return event

    def finish(self, **fields: Any) -> None:
        """Emit the end event with ``fields`` (once; later calls raise RuntimeError)."""
        if self.done or self._token is None:
            self._check_open()
        event = self._end_event(fields)
        if event is not None:
            self._mgr.emit(event)

    async def afinish(self, **fields: Any) -> None:
        """Async ``finish``: async handlers are awaited."""
        if self.done or self._token is None:
            self._check_open()
        await self._asend(self._end_event(fields))

    def error(self, error: BaseException | str, **fields: Any) -> None:
        """Emit the error event now, for a failure that is handled rather than raised."""
        self._check_open()
        self._send(self._error_event(error, **fields))

    async def aerror(self, error: BaseException | str, **fields: Any) -> None:
        """Async ``error``."""
        self._check_open()
        await self._asend(self._error_event(error, **fields))

    def _check_open(self) -> None:
        if self.done:
            raise RuntimeError(f"{type(self).__name__} {self.run_id} already emitted its terminal event")
        if self._token is None:
            raise RuntimeError(f"{type(self).__name__} used outside its 'with' block")


class LLMRun(Run):
    """An LLM call: adds ``token()`` for streams; the end event defaults from the stream."""

    __slots__ = ("_chunks", "_index", "_ttft")

    start_cls = LLMStartEvent
    end_cls = LLMEndEvent
    error_cls = LLMErrorEvent

    def _open(self) -> Event | None:
        # stream state set here rather than in __init__: one constructor signature for all runs
        self._index = 0
        self._ttft: float | None = None
        self._chunks: list[str] = []
        return Run._open(self)

    @property
    def time_to_first_token_ms(self) -> float | None:
        """Milliseconds from start to the first token, once there is one."""
        return self._ttft

    @property
    def text(self) -> str:
        """The text streamed so far."""
        return "".join(self._chunks)

    def _token_event(self, token: str, fields: dict[str, Any]) -> LLMTokenEvent | None:
        # tokens skip redaction (a secret split across deltas would evade it anyway);
        # the end event carries the joined text and is redacted
        index = self._index
        self._index = index + 1
        self._chunks.append(token)
        if index == 0:
            self._ttft = (time.perf_counter() - self._t0) * 1000.0
        if self.done or not self._mgr.wants(LLMTokenEvent):
            return None
        if not _redaction.content_captured():
            token = _redaction.blank(token)
        # built field by field: a positional-free dataclass __init__ costs about three
        # times as much, and this runs once per streamed token (tests pin the field list)
        event = _new_object(LLMTokenEvent)
        event.run_id = self.run_id
        event.parent_run_id = self.parent_run_id
        event.trace_id = self.trace_id
        event.timestamp = time.time()
        event.user_id = self.user_id
        event.tags = self.tags
        event.metadata = self.metadata
        family = self._family
        event.provider = family["provider"]
        event.model = family["model"]
        event.token = token
        event.index = index
        event.is_first = index == 0
        event.time_to_first_token_ms = self._ttft if index == 0 else None
        for name, value in fields.items():  # rare: extra fields a producer passes
            setattr(event, name, value)
        return event

    def token(self, token: str, **fields: Any) -> None:
        """Report one streamed text delta."""
        event = self._token_event(token, fields)
        if event is not None:
            self._mgr.emit(event)

    async def atoken(self, token: str, **fields: Any) -> None:
        """Async ``token``: async handlers are awaited."""
        event = self._token_event(token, fields)
        if event is not None:
            await self._mgr.aemit(event)

    def _end_event(self, fields: dict[str, Any]) -> Event | None:
        if "latency_ms" not in fields:
            fields["latency_ms"] = (time.perf_counter() - self._t0) * 1000.0
        if self._chunks and "response" not in fields:
            fields["response"] = "".join(self._chunks)
        if self._ttft is not None and "time_to_first_token_ms" not in fields:
            fields["time_to_first_token_ms"] = self._ttft
        if fields.get("total_tokens") is None:
            i, o = fields.get("input_tokens"), fields.get("output_tokens")
            if i is not None and o is not None:
                fields["total_tokens"] = i + o
        event = self._event(LLMEndEvent, fields)
        self.done = True
        return event

    def _terminal_for(self, exc: BaseException) -> Event | None:
        if isinstance(exc, GeneratorExit):  # the consumer stopped the stream early
            return self._end_event({"incomplete": True})
        return Run._terminal_for(self, exc)


class ToolRun(Run):
    """A tool call; its error event repeats the arguments it was called with."""

    __slots__ = ("_arguments",)
    start_cls = ToolStartEvent
    end_cls = ToolEndEvent
    error_cls = ToolErrorEvent

    def _open(self) -> Event | None:
        self._arguments = self._start_fields.get("arguments")
        return Run._open(self)

    def _error_event(self, error: BaseException | str, **fields: Any) -> Event | None:
        fields.setdefault("arguments", self._arguments)
        return Run._error_event(self, error, **fields)


class AgentRun(Run):
    """An agent run: adds ``step()``, numbered from 1."""

    __slots__ = ("steps",)
    start_cls = AgentStartEvent
    end_cls = AgentEndEvent
    error_cls = AgentErrorEvent

    def _open(self) -> Event | None:
        self.steps = 0
        return Run._open(self)

    def _step_event(self, fields: dict[str, Any]) -> Event | None:
        self.steps += 1
        fields.setdefault("step", self.steps)
        return self._event(AgentStepEvent, fields)

    def step(self, **fields: Any) -> None:
        """Report a step: ``action``, ``action_input``, ``observation``."""
        self._send(self._step_event(fields))

    async def astep(self, **fields: Any) -> None:
        """Async ``step``."""
        await self._asend(self._step_event(fields))

    def _end_event(self, fields: dict[str, Any]) -> Event | None:
        fields.setdefault("steps", self.steps)
        return Run._end_event(self, fields)


class NodeRun(Run):
    """A graph node run."""

    __slots__ = ()
    start_cls = GraphNodeStartEvent
    end_cls = GraphNodeEndEvent
    error_cls = GraphNodeErrorEvent


class ChainRun(Run):
    """A chain run."""

    __slots__ = ()
    start_cls = ChainStartEvent
    end_cls = ChainEndEvent
    error_cls = ChainErrorEvent


class RetrievalRun(Run):
    """A retrieval run."""

    __slots__ = ()
    start_cls = RetrievalStartEvent
    end_cls = RetrievalEndEvent
    error_cls = RetrievalErrorEvent


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
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> LLMRun:
    """A run for one LLM call; use as ``with`` or ``async with``."""
    manager = manager_for(callbacks)
    if manager is None:  # nobody listens: skip building anything
        return _NoopRun(run_id, parent_run_id, trace_id)  # type: ignore[return-value]
    return LLMRun(
        manager,
        {"provider": provider, "model": model},
        {
            "messages": messages,
            "prompt": prompt,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "tools": tools,
            "streaming": streaming,
            "params": params,
        },
        run_id,
        parent_run_id,
        trace_id,
        tags,
        metadata,
    )


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
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> ToolRun:
    """A run for one tool call."""
    manager = manager_for(callbacks)
    if manager is None:  # nobody listens: skip building anything
        return _NoopRun(run_id, parent_run_id, trace_id)  # type: ignore[return-value]
    return ToolRun(
        manager,
        {
            "tool_name": tool_name,
            "tool_call_id": redact_value(tool_call_id) if tool_call_id else tool_call_id,
            "server_name": server_name,
        },
        {"arguments": arguments},
        run_id,
        parent_run_id,
        trace_id,
        tags,
        metadata,
    )


def agent_run(
    *,
    goal: Any = None,
    agent_name: str | None = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> AgentRun:
    """A run for one agent invocation; ``run.step(...)`` reports each step."""
    manager = manager_for(callbacks)
    if manager is None:  # nobody listens: skip building anything
        return _NoopRun(run_id, parent_run_id, trace_id)  # type: ignore[return-value]
    return AgentRun(
        manager,
        {"agent_name": agent_name},
        {"goal": goal},
        run_id,
        parent_run_id,
        trace_id,
        tags,
        metadata,
    )


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
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> NodeRun:
    """A run for one graph node."""
    manager = manager_for(callbacks)
    if manager is None:  # nobody listens: skip building anything
        return _NoopRun(run_id, parent_run_id, trace_id)  # type: ignore[return-value]
    return NodeRun(
        manager,
        {"node_id": node_id, "node_type": node_type, "step": step},
        {"inputs": inputs},
        run_id,
        parent_run_id,
        trace_id,
        tags,
        metadata,
    )


def chain_run(
    chain_name: str,
    *,
    inputs: Any = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> ChainRun:
    """A run for one chain."""
    manager = manager_for(callbacks)
    if manager is None:  # nobody listens: skip building anything
        return _NoopRun(run_id, parent_run_id, trace_id)  # type: ignore[return-value]
    return ChainRun(
        manager,
        {"chain_name": chain_name},
        {"inputs": inputs},
        run_id,
        parent_run_id,
        trace_id,
        tags,
        metadata,
    )


def retrieval_run(
    *,
    query: str = "",
    retriever: str | None = None,
    callbacks: CallbacksLike = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    trace_id: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> RetrievalRun:
    """A run for one retrieval."""
    manager = manager_for(callbacks)
    if manager is None:  # nobody listens: skip building anything
        return _NoopRun(run_id, parent_run_id, trace_id)  # type: ignore[return-value]
    return RetrievalRun(
        manager,
        {"retriever": retriever},
        {"query": query},
        run_id,
        parent_run_id,
        trace_id,
        tags,
        metadata,
    )
