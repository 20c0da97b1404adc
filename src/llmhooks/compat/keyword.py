"""Handlers in the keyword style of seed 001 (ai-infra): ``on_llm_start(self, prompt, **kwargs)``.

    class CostLimiter(KeywordCallbacks):
        def __init__(self, max_cost: float):
            self.max_cost = max_cost
            self.total_cost = 0.0

        async def on_llm_end(self, response, **kwargs):
            self.total_cost += kwargs.get("cost", 0)
            if self.total_cost >= self.max_cost:
                raise Exception(f"Cost limit ${self.max_cost} exceeded")

Every call gets, as keywords, ``provider``, ``model`` (LLM events),
``request_id`` (the run id), ``run_id``, ``parent_run_id``, ``trace_id``,
``user_id``, ``tags``, ``metadata``, ``timestamp`` and ``event`` (the typed
event), plus what each method lists below. ``duration_ms`` is the latency.

``cost`` (a keyword of ``on_llm_end``, and ``response.cost``) is the call's price in USD even
with no ``CostTracker`` registered: the event's own cost when it has one (a tracker before
the handler sets it), else the call priced here from its tokens with ``genai-prices`` (when
installed), else 0.0 (a model in no table, or no usage reported; logged once per model), so
the seed's ``kwargs.get("cost", 0)`` always adds a number.

As in ai-infra, an exception raised by a keyword handler reaches the caller
(``raise_errors = True``): that is how the seed's cost limiter stops spending.
Set ``raise_errors = False`` on a class to have its failures isolated and logged.

Seed 001 names its base class ``Callbacks``, like seed 000 whose methods take the event.
So keyword-style methods written on a plain ``llmhooks.Callbacks`` subclass are
recognised when the handler is first registered (``adopt_keyword_methods``, called by
the core's handler validation) and served exactly as on a ``KeywordCallbacks``.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, ClassVar

from llmhooks.compat._adapt import Style, Translation, common_kwargs, install, render_prompt
from llmhooks.compat._cost import known_cost
from llmhooks.core.callbacks import Callbacks
from llmhooks.errors import InvalidHandlerError
from llmhooks.events import (
    AgentEndEvent,
    AgentErrorEvent,
    AgentStartEvent,
    AgentStepEvent,
    ChainEndEvent,
    ChainErrorEvent,
    ChainStartEvent,
    Event,
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

__all__ = ["KEYWORD_STYLE", "KeywordCallbacks", "KeywordResponse", "adopt_keyword_methods", "keyword_form"]


class KeywordResponse(str):
    """An LLM response as seed 001 shows it: the text, with the call's figures as attributes.

    It is the response text (a ``str``), so ``response[:100]`` works, and it
    also has ``content``/``text``, ``token_count`` (total tokens, 0 if not
    reported), ``input_tokens``/``prompt_tokens``, ``output_tokens``/
    ``completion_tokens``, ``total_tokens``, ``cost``, ``provider``, ``model``,
    ``finish_reason``, ``latency_ms``, ``tool_calls``, ``incomplete`` and
    ``raw`` (the response as the producer gave it).
    """

    token_count: int
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cost: float
    provider: str | None
    model: str | None
    finish_reason: str | None
    latency_ms: float | None
    tool_calls: list[Any] | None
    incomplete: bool
    raw: Any

    @property
    def content(self) -> str:
        """The response text."""
        return str(self)

    @property
    def text(self) -> str:
        """The response text."""
        return str(self)

    @property
    def prompt_tokens(self) -> int | None:
        """``input_tokens`` under its OpenAI name."""
        return self.input_tokens

    @property
    def completion_tokens(self) -> int | None:
        """``output_tokens`` under its OpenAI name."""
        return self.output_tokens


def _error(value: Any) -> BaseException:
    return value if isinstance(value, BaseException) else Exception("" if value is None else str(value))


def _token_count(e: LLMEndEvent) -> int:
    if e.total_tokens is not None:
        return e.total_tokens
    return (e.input_tokens or 0) + (e.output_tokens or 0)


def _llm_start(e: LLMStartEvent) -> tuple[tuple[Any, ...], dict[str, Any]]:
    kw = common_kwargs(e)
    kw.update(
        provider=e.provider,
        model=e.model,
        messages=e.messages,
        temperature=e.temperature,
        max_tokens=e.max_tokens,
        tools=e.tools,
        streaming=e.streaming,
        params=e.params,
    )
    return (render_prompt(e.prompt, e.messages),), kw


def call_cost(e: LLMEndEvent) -> float:
    """What the call ``e`` ends cost (USD), 0.0 when unknown (see ``compat._cost``)."""
    cost = known_cost(e)
    return 0.0 if cost is None else cost


def _response(e: LLMEndEvent, cost: float | None = None) -> KeywordResponse:
    raw = e.response
    text = raw if isinstance(raw, str) else ("" if raw is None else str(getattr(raw, "text", raw)))
    r = KeywordResponse(text)
    r.token_count = _token_count(e)
    r.input_tokens = e.input_tokens
    r.output_tokens = e.output_tokens
    r.total_tokens = e.total_tokens
    r.cost = call_cost(e) if cost is None else cost
    r.provider = e.provider
    r.model = e.model
    r.finish_reason = e.finish_reason
    r.latency_ms = e.latency_ms
    r.tool_calls = e.tool_calls
    r.incomplete = e.incomplete
    r.raw = raw
    return r


def _llm_end(e: LLMEndEvent) -> tuple[tuple[Any, ...], dict[str, Any]]:
    kw = common_kwargs(e)
    cost = call_cost(e)
    kw.update(
        provider=e.provider,
        model=e.model,
        token_count=_token_count(e),
        input_tokens=e.input_tokens,
        output_tokens=e.output_tokens,
        total_tokens=e.total_tokens,
        prompt_tokens=e.input_tokens,
        completion_tokens=e.output_tokens,
        cached_input_tokens=e.cached_input_tokens,
        cost=cost,
        duration_ms=e.latency_ms,
        latency_ms=e.latency_ms,
        time_to_first_token_ms=e.time_to_first_token_ms,
        finish_reason=e.finish_reason,
        tool_calls=e.tool_calls,
        incomplete=e.incomplete,
    )
    return (_response(e, cost),), kw


def _llm_error(e: LLMErrorEvent) -> tuple[tuple[Any, ...], dict[str, Any]]:
    kw = common_kwargs(e)
    kw.update(
        provider=e.provider,
        model=e.model,
        error_type=e.error_type,
        error_code=e.error_code,
        is_recoverable=e.is_recoverable,
        cancelled=e.cancelled,
        duration_ms=e.latency_ms,
    )
    return (_error(e.error),), kw


def _llm_chunk(e: LLMTokenEvent) -> tuple[tuple[Any, ...], dict[str, Any]]:
    kw = common_kwargs(e)
    kw.update(
        provider=e.provider,
        model=e.model,
        index=e.index,
        is_first=e.is_first,
        time_to_first_token_ms=e.time_to_first_token_ms,
    )
    return (e.token,), kw


def _with(e: Any, **extra: Any) -> dict[str, Any]:
    kw = common_kwargs(e)
    kw.update(extra)
    return kw


KEYWORD_STYLE = Style(
    "keyword-style (seed 001)",
    {
        "on_llm_start": Translation(LLMStartEvent, _llm_start, ("prompt",)),
        "on_llm_end": Translation(LLMEndEvent, _llm_end, ("response",)),
        "on_llm_error": Translation(LLMErrorEvent, _llm_error, ("error",)),
        "on_llm_stream_chunk": Translation(LLMTokenEvent, _llm_chunk, ("chunk",)),
        "on_agent_start": Translation(
            AgentStartEvent, lambda e: ((e.goal,), _with(e, agent_name=e.agent_name)), ("goal",)
        ),
        "on_agent_end": Translation(
            AgentEndEvent,
            lambda e: (
                (e.result,),
                _with(e, agent_name=e.agent_name, steps=e.steps, duration_ms=e.latency_ms),
            ),
            ("result",),
        ),
        "on_agent_error": Translation(
            AgentErrorEvent,
            lambda e: (
                (_error(e.error),),
                _with(e, agent_name=e.agent_name, error_type=e.error_type, duration_ms=e.latency_ms),
            ),
            ("error",),
        ),
        "on_agent_step": Translation(
            AgentStepEvent,
            lambda e: (
                (e,),
                _with(
                    e,
                    agent_name=e.agent_name,
                    step_number=e.step,
                    action=e.action,
                    action_input=e.action_input,
                    observation=e.observation,
                ),
            ),
            ("step",),
        ),
        "on_tool_start": Translation(
            ToolStartEvent,
            lambda e: (
                (e.tool_name, e.arguments),
                _with(e, tool_call_id=e.tool_call_id, server_name=e.server_name),
            ),
            ("tool_name", "args"),
        ),
        "on_tool_end": Translation(
            ToolEndEvent,
            lambda e: (
                (e.tool_name, e.result),
                _with(
                    e,
                    tool_call_id=e.tool_call_id,
                    server_name=e.server_name,
                    success=e.success,
                    duration_ms=e.latency_ms,
                ),
            ),
            ("tool_name", "result"),
        ),
        "on_tool_error": Translation(
            ToolErrorEvent,
            lambda e: (
                (e.tool_name, _error(e.error)),
                _with(
                    e,
                    tool_call_id=e.tool_call_id,
                    server_name=e.server_name,
                    error_type=e.error_type,
                    duration_ms=e.latency_ms,
                ),
            ),
            ("tool_name", "error"),
        ),
        "on_chain_start": Translation(
            ChainStartEvent, lambda e: ((e.chain_name,), _with(e, inputs=e.inputs)), ("chain_name",)
        ),
        "on_chain_end": Translation(
            ChainEndEvent,
            lambda e: ((e.result,), _with(e, chain_name=e.chain_name, duration_ms=e.latency_ms)),
            ("result",),
        ),
        "on_chain_error": Translation(
            ChainErrorEvent,
            lambda e: ((_error(e.error),), _with(e, chain_name=e.chain_name, error_type=e.error_type)),
            ("error",),
        ),
        "on_retrieval_start": Translation(
            RetrievalStartEvent, lambda e: ((e.query,), _with(e, retriever=e.retriever)), ("query",)
        ),
        "on_retrieval_end": Translation(
            RetrievalEndEvent,
            lambda e: ((e.documents,), _with(e, retriever=e.retriever, duration_ms=e.latency_ms)),
            ("documents",),
        ),
        "on_retrieval_error": Translation(
            RetrievalErrorEvent,
            lambda e: ((_error(e.error),), _with(e, retriever=e.retriever, error_type=e.error_type)),
            ("error",),
        ),
    },
    strict_names=True,
)


class KeywordCallbacks(Callbacks):
    """Base class for handlers in seed 001's keyword style.

    Write ``on_llm_start(self, prompt, **kwargs)``, ``on_llm_end(self, response,
    **kwargs)``, ``on_llm_error(self, error, **kwargs)``,
    ``on_llm_stream_chunk(self, chunk, **kwargs)``, ``on_agent_start(goal)``,
    ``on_agent_step(step)`` (``step.action``...), ``on_agent_end(result)``,
    ``on_agent_error(error)``, ``on_tool_start(tool_name, args)``,
    ``on_tool_end(tool_name, result)``, ``on_tool_error(tool_name, error)``,
    ``on_chain_start(chain_name)``, ``on_chain_end(result)``,
    ``on_chain_error(error)``, ``on_retrieval_start(query)``,
    ``on_retrieval_end(documents)``, ``on_retrieval_error(error)``, each ``def``
    or ``async def``, each also taking ``**kwargs`` (see the module doc). Event
    methods for other events (``on_mcp_progress(self, event)``) work as usual.

    The instance keeps no per-call state, so one handler serves concurrent calls.

    Raises:
        InvalidHandlerError: at class definition, for a misspelt ``on_*`` name or a
            method that cannot take its call.
    """

    raise_errors = True
    validate_names: ClassVar[bool] = False  # its own check runs at class definition
    _llmhooks_style: ClassVar[str] = "keyword"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        install(cls, KEYWORD_STYLE)


# recognising the keyword style on plain Callbacks subclasses

_ADOPTED = "_llmhooks_keyword_methods"  # set on each class whose methods were adopted
_adopt_lock = threading.Lock()


def keyword_form(name: str) -> str | None:
    """How seed 001 writes the method ``name`` (``"on_tool_start(self, tool_name, args, **kwargs)"``)."""
    tr = KEYWORD_STYLE.methods.get(name)
    if tr is None:
        return None
    return f"{name}({', '.join(('self', *tr.positional, '**kwargs'))})"


def _is_event_annotation(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.rsplit(".", 1)[-1].strip("'\"").endswith("Event")
    return isinstance(annotation, type) and issubclass(annotation, Event)


def _written_in_keyword_style(name: str, fn: Any, tr: Translation) -> bool:
    """Whether ``fn`` is written for seed 001's call rather than for the event object."""
    if tr.event_cls.handler_method != name:  # on_llm_stream_chunk: no event method has that name
        return True
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    try:
        sig.bind(None, None)
    except TypeError:  # cannot take the event: does it take the style's call?
        try:
            sig.bind(None, *([None] * len(tr.positional)))
        except TypeError:
            return False
        return True
    params = list(sig.parameters.values())[1:]
    first = next((p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)), None)
    if first is None or first.name == "event" or _is_event_annotation(first.annotation):
        return False
    if first.name == tr.positional[0]:  # (self, prompt), (self, response), (self, chunk)...
        return True
    return any(p.kind is p.VAR_KEYWORD for p in params)  # (self, x, **kwargs): seed 001's shape


def adopt_keyword_methods(cls: type) -> bool:
    """Serve the keyword-style methods of a plain ``Callbacks`` subclass seed 001's way.

    Each class in ``cls``'s MRO (below ``Callbacks``) whose own ``on_*`` methods are
    written for seed 001's call (``on_llm_start(self, prompt, **kwargs)``,
    ``on_tool_start(self, tool_name, args, **kwargs)``, ``on_llm_stream_chunk``...) gets
    them translated as ``KeywordCallbacks`` would, once; methods that take the event stay
    as written. A class that does not set ``raise_errors`` itself gets ``raise_errors =
    True``, as on ``KeywordCallbacks``: the seed's handlers stop a call by raising.
    Classes of another style (``KeywordCallbacks``, seed 002's handlers) are left alone.

    Returns:
        True if ``cls`` has keyword-style methods (adopted now or before).

    Raises:
        InvalidHandlerError: as for ``KeywordCallbacks`` (both a style method and its
            event twin, a misspelt ``on_*`` name next to keyword-style methods).
    """
    if getattr(cls, "_llmhooks_style", None) is not None:
        return False
    found = False
    with _adopt_lock:
        # every class before Callbacks in the MRO, mixins included (as the core validates them)
        mro = cls.__mro__[: cls.__mro__.index(Callbacks)] if Callbacks in cls.__mro__ else ()
        for klass in mro:
            if _ADOPTED in klass.__dict__:
                found = True
                continue
            names = [
                name
                for name, fn in klass.__dict__.items()
                if name in KEYWORD_STYLE.methods
                and callable(fn)
                and getattr(fn, "__llmhooks_style_method__", None) is None
                and _written_in_keyword_style(name, fn, KEYWORD_STYLE.methods[name])
            ]
            if not names:
                continue
            try:
                install(klass, KEYWORD_STYLE, only=names)
            except InvalidHandlerError as exc:  # it may have meant the event: name that fix too
                raise InvalidHandlerError(
                    f"{exc.args[0]}; or, to get the event object, write it as (self, event)", cls
                ) from None
            setattr(klass, _ADOPTED, frozenset(names))
            if not any("raise_errors" in k.__dict__ for k in klass.__mro__ if k is not Callbacks):
                setattr(klass, "raise_errors", True)  # noqa: B010 - klass may be a mixin, not a Callbacks
            found = True
    return found
