"""LLM runs: tokens, the end event built from the stream, and ``llm_run``."""

from __future__ import annotations

import time
from typing import Any

from llmhooks.core import redaction as _redaction
from llmhooks.core.context import _GLOBAL, CallbacksLike, _ambient, manager_in
from llmhooks.core.delivery import Route, adeliver, deliver
from llmhooks.core.manager import CallbackManager
from llmhooks.core.redaction import redact_payload
from llmhooks.core.runs.base import Run, _clock, _new
from llmhooks.core.runs.noop import noop_run
from llmhooks.events import (
    Event,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    LLMTokenEvent,
)
from llmhooks.events._ids import RUN_IDS, new_run_id
from llmhooks.events._model import MISSING

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
        "input_audio_tokens", "output_audio_tokens", "item_id", "response_id", "response_model",
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

__all__ = ["TOKEN_EVENT_FIELDS", "LLMRun", "llm_run", "llm_run_of"]


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
        self._chunks: list[str] | None = None
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
        return "".join(self._chunks) if self._chunks else ""

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
        if chunks is None:  # the first token: most runs never stream, so the list waits for one
            self._chunks = chunks = []
            self._ttft = (_clock() - self._t0) * 1000.0
        index = len(chunks)
        chunks.append(token)
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
        item_id: str | None = None,
        response_id: str | None = None,
        response_model: str | None = None,
    ) -> None:
        """Emit the end event (once; later calls raise RuntimeError).

        ``response`` defaults to the streamed text, ``total_tokens`` to input + output,
        ``latency_ms`` and ``time_to_first_token_ms`` to what the run measured;
        ``provider``/``model`` correct the run's (the model the provider resolved);
        ``item_id`` names the output item the answer is (seed 004's field; realtime sets it);
        ``response_id``/``response_model`` are what the provider's answer named (its id, the
        model that answered).

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
            input_audio_tokens, output_audio_tokens, item_id, response_id, response_model,
        )  # fmt: skip
        deliver(self._routes[1], event)

    async def afinish(  # type: ignore[override]
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
        item_id: str | None = None,
        response_id: str | None = None,
        response_model: str | None = None,
    ) -> None:
        """Async ``finish``: async handlers are awaited."""
        if self.done or self._token is None:
            self._check_open()
        if not self._routes[1][0]:
            self.done = True
            return
        event = _llm_end(
            self, response, input_tokens, output_tokens, total_tokens, cached_input_tokens,
            cache_write_input_tokens, reasoning_tokens, usage_estimated, latency_ms,
            time_to_first_token_ms, finish_reason, tool_calls, cost, incomplete, provider, model,
            input_audio_tokens, output_audio_tokens, item_id, response_id, response_model,
        )  # fmt: skip
        await adeliver(self.manager.aroute(self.end_cls), event)

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
            get("input_audio_tokens"), get("output_audio_tokens"), get("item_id"),
            get("response_id"), get("response_model"),
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
    item_id: str | None = None,
    response_id: str | None = None,
    response_model: str | None = None,
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
    if item_id is not None:  # rare (realtime): left unset, the field reads as None
        event.item_id = item_id
    if response_id is not None:  # rare enough to leave unset (it reads as None) otherwise
        event.response_id = response_id
    if response_model is not None:
        event.response_model = response_model
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
        return noop_run(run_id, parent_run_id, trace_id, tags, metadata)  # type: ignore[return-value]
    routes = manager._routes.get(LLMRun)
    if not routes:
        routes = manager.routes_for(LLMRun) if routes is None else None
        if routes is None:  # no handler takes any LLM event: skip building anything
            return noop_run(run_id, parent_run_id, trace_id, tags, metadata)  # type: ignore[return-value]
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
    run._chunks = None
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
            return noop_run(None, None, None, None, None)
    return _fresh_llm(
        cls, manager, routes, provider, model, payload, None, None, None, None, None, _ambient.get()
    )
