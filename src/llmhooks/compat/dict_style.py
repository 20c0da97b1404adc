"""Handlers in the dict-payload style of seed 002 (AIECS ``CustomAsyncCallbackHandler``).

    class TokenLogger(CustomAsyncCallbackHandler):
        async def on_llm_start(self, messages: list[dict], **kwargs): ...
        async def on_llm_end(self, response: dict, **kwargs):
            print(response["content"], response.get("tokens_used", 0))
        async def on_llm_error(self, error: Exception, **kwargs): ...

``messages`` is a list of ``{"role", "content"}`` dicts (a bare prompt becomes
one user message). ``response`` always has every key seed 002 documents:
``content`` (str), ``tokens_used`` (int: total tokens, 0 when none were reported),
``prompt_tokens``, ``completion_tokens``, ``provider``, ``model``,
``response_time`` (seconds) and ``cost_estimate`` (USD: the event's cost, else priced from
its tokens with ``genai-prices``, as ``CostTracker`` would), each None when unknown,
plus ``finish_reason``. Keywords:
``provider``, ``model``, ``temperature``, ``max_tokens`` (start), ``run_id``,
``trace_id``, ``user_id``, ``duration_ms``, ``event``... (see ``compat._adapt``).

Failures are isolated and logged (``raise_errors = False``), as seed 002 asks:
a handler's failure never breaks the call.
"""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from llmhooks.compat._adapt import Style, Translation, common_kwargs, install
from llmhooks.compat._cost import known_cost
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.manager import CallbackManager
from llmhooks.errors import Abort
from llmhooks.events import Event, LLMEndEvent, LLMErrorEvent, LLMStartEvent

__all__ = ["DICT_STYLE", "CompositeCallbackHandler", "CustomAsyncCallbackHandler"]

logger = logging.getLogger("llmhooks")


def _messages(e: LLMStartEvent) -> list[dict[str, Any]]:
    if e.messages is None:
        return [] if e.prompt is None else [{"role": "user", "content": e.prompt}]
    out = []
    for m in e.messages:
        if isinstance(m, Mapping):
            out.append(dict(m))
        else:
            role = getattr(m, "role", None)
            out.append({"role": getattr(role, "value", role), "content": getattr(m, "content", m)})
    return out


def _start(e: LLMStartEvent) -> tuple[tuple[Any, ...], dict[str, Any]]:
    kw = common_kwargs(e)
    kw.update(
        provider=e.provider,
        model=e.model,
        temperature=e.temperature,
        max_tokens=e.max_tokens,
        streaming=e.streaming,
        tools=e.tools,
        params=e.params,
    )
    return (_messages(e),), kw


def _end(e: LLMEndEvent) -> tuple[tuple[Any, ...], dict[str, Any]]:
    raw = e.response
    content = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    total = e.total_tokens
    if total is None:
        total = (e.input_tokens or 0) + (e.output_tokens or 0)
    # every key seed 002 documents, always: its optional figures are None when unknown
    response: dict[str, Any] = {
        "content": content,
        "tokens_used": total,
        "prompt_tokens": e.input_tokens,
        "completion_tokens": e.output_tokens,
        "provider": e.provider,
        "model": e.model,
        "response_time": None if e.latency_ms is None else e.latency_ms / 1000.0,
        "cost_estimate": known_cost(e),  # priced here when no CostTracker ran first
        "finish_reason": e.finish_reason,
    }
    kw = common_kwargs(e)
    kw.update(provider=e.provider, model=e.model, duration_ms=e.latency_ms, incomplete=e.incomplete)
    return (response,), kw


def _error(e: LLMErrorEvent) -> tuple[tuple[Any, ...], dict[str, Any]]:
    err = (
        e.error if isinstance(e.error, BaseException) else Exception("" if e.error is None else str(e.error))
    )
    kw = common_kwargs(e)
    kw.update(
        provider=e.provider,
        model=e.model,
        error_type=e.error_type,
        error_code=e.error_code,
        is_recoverable=e.is_recoverable,
        duration_ms=e.latency_ms,
    )
    return (err,), kw


DICT_STYLE = Style(
    "dict-style (seed 002)",
    {
        "on_llm_start": Translation(LLMStartEvent, _start, ("messages",)),
        "on_llm_end": Translation(LLMEndEvent, _end, ("response",)),
        "on_llm_error": Translation(LLMErrorEvent, _error, ("error",)),
    },
    strict_names=False,
)


class CustomAsyncCallbackHandler(Callbacks, metaclass=ABCMeta):
    """Abstract base of seed 002's handlers: implement the three ``async`` methods.

    ``on_llm_start(messages: list[dict], **kwargs)``,
    ``on_llm_end(response: dict, **kwargs)`` and ``on_llm_error(error, **kwargs)``
    (``def`` works too). Instances keep no per-call state: ``run_id`` and
    ``duration_ms`` in the keywords replace the seed's ``self.start_time``.
    Calling the methods directly with messages or a response dict, as seed 002's
    clients do, runs them as written.
    """

    raise_errors = False
    _llmhooks_style: ClassVar[str] = "dict"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("_native_events", False):
            install(cls, DICT_STYLE)

    @abstractmethod
    async def on_llm_start(self, messages: list[dict[str, Any]], **kwargs: Any) -> None:  # type: ignore[override]
        """Called when an LLM call starts, with its messages."""

    @abstractmethod
    async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Called when an LLM call ends, with the response as a dict."""

    @abstractmethod
    async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:  # type: ignore[override]
        """Called when an LLM call fails."""


class CompositeCallbackHandler(CustomAsyncCallbackHandler):
    """Several dict-style handlers as one (seed 002), each isolated from the others.

    Events reach the members through an inner ``CallbackManager`` (the one
    dispatch path: isolation, ``raise_errors``, timeouts and stats per member);
    calling ``await composite.on_llm_start(messages, ...)`` directly calls each
    member in order and logs a member's failure instead of raising it.
    """

    _native_events = True  # takes events itself: its methods are not translated

    def __init__(self, handlers: Iterable[CustomAsyncCallbackHandler] | None = None) -> None:
        if handlers is not None and not isinstance(handlers, Iterable):
            raise TypeError(
                f"handlers must be a list of CustomAsyncCallbackHandler instances, got {handlers!r}"
            )
        self._members = CallbackManager()
        for h in handlers or ():
            self.add_handler(h)

    @property
    def handlers(self) -> list[CustomAsyncCallbackHandler]:
        """The member handlers, in call order."""
        return list(self._members.handlers)  # type: ignore[arg-type]

    def add_handler(self, handler: CustomAsyncCallbackHandler) -> None:
        """Add ``handler`` (once).

        Raises:
            TypeError: ``handler`` is not a ``CustomAsyncCallbackHandler`` instance.
        """
        if not isinstance(handler, CustomAsyncCallbackHandler):
            raise TypeError(
                f"CompositeCallbackHandler takes CustomAsyncCallbackHandler instances, got {handler!r}"
            )
        self._members.add(handler)

    def remove_handler(self, handler: CustomAsyncCallbackHandler) -> bool:
        """Remove ``handler``; False if it was not a member."""
        return self._members.remove(handler)

    async def _each(self, name: str, arg: Any, kwargs: dict[str, Any]) -> None:
        for h in self._members.handlers:
            try:
                await getattr(h, name)(arg, **kwargs)
            except Abort:
                raise
            except Exception:
                logger.exception("llmhooks: %s.%s failed", type(h).__name__, name)

    async def on_llm_start(self, messages: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """An ``llm.start`` event, or a direct call with messages: passed to every member."""
        if isinstance(messages, Event) and not kwargs:
            await self._members.aemit(messages)
        else:
            await self._each("on_llm_start", messages, kwargs)

    async def on_llm_end(self, response: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """An ``llm.end`` event, or a direct call with a response dict: passed to every member."""
        if isinstance(response, Event) and not kwargs:
            await self._members.aemit(response)
        else:
            await self._each("on_llm_end", response, kwargs)

    async def on_llm_error(self, error: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """An ``llm.error`` event, or a direct call with an exception: passed to every member."""
        if isinstance(error, Event) and not kwargs:
            await self._members.aemit(error)
        else:
            await self._each("on_llm_error", error, kwargs)
