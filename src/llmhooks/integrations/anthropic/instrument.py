"""Events from your own ``anthropic`` client: ``instrument_anthropic(client)``.

    client = instrument_anthropic(anthropic.Anthropic(), callbacks=[PrintCallbacks()])
    client.messages.create(model="claude-sonnet-5", max_tokens=256, messages=msgs)   # one LLM run
    with client.messages.stream(model=..., max_tokens=256, messages=msgs) as stream:
        for text in stream.text_stream: ...                                          # a token event per delta
    uninstrument_anthropic(client)

Covers, on that client object (sync ``Anthropic`` or ``AsyncAnthropic``):
``messages.create`` (with or without ``stream=True``), ``messages.parse`` and
``messages.stream(...)`` (which does not go through ``create``). What each call
returns is unchanged: the same ``Message``, the same ``Stream`` class (observed),
the same ``MessageStreamManager`` and ``MessageStream`` classes. Usage comes from ``message_start`` and
``message_delta``; ``input_tokens`` in events includes cache reads and writes.
Not covered: ``client.beta``, copies made with ``with_options()``/``copy()``,
``with_streaming_response``, other endpoints.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from llmhooks.core.context import CallbacksLike, manager_for
from llmhooks.errors import MissingExtraError

try:
    import anthropic
    from anthropic.types import Message
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "instrument_anthropic needs 'anthropic': pip install 'llmhooks[anthropic]'"
    ) from None

from llmhooks.core.held import HeldRun
from llmhooks.integrations._observed import observe, rebrand
from llmhooks.integrations._patch import (
    Api,
    Instrumentation,
    as_list,
    forget_cached,
    given,
    install,
    remove,
    request_params,
)
from llmhooks.integrations.anthropic.parse import MessageEvents, anthropic_messages, from_message
from llmhooks.llm.response import ChatResponse
from llmhooks.vlm import vision_llm_run

__all__ = ["instrument_anthropic", "uninstrument_anthropic"]

C = TypeVar("C")

_KNOWN = frozenset({"model", "messages", "system", "temperature", "max_tokens", "tools"})
_STREAMS = (anthropic.Stream, anthropic.AsyncStream)


def _messages(kw: dict[str, Any]) -> list[Any] | None:
    return anthropic_messages(as_list(kw.get("messages")), given(kw.get("system")))


def _start(kw: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": given(kw.get("model")),
        "messages": _messages(kw),
        # anthropic 2.x takes no temperature argument: it travels in extra_body
        "temperature": given(kw.get("temperature", (given(kw.get("extra_body")) or {}).get("temperature"))),
        "max_tokens": given(kw.get("max_tokens")),
        "tools": as_list(kw.get("tools")),
        "params": request_params(kw, _KNOWN),
    }


def _answer(result: Any, kw: dict[str, Any]) -> ChatResponse | None:
    return from_message(result, _messages(kw)) if isinstance(result, Message) else None


MESSAGES = Api(
    provider="anthropic",
    start=_start,
    answer=_answer,
    accumulator=lambda kw: MessageEvents(_messages(kw), given(kw.get("model"))),
    stream_types=_STREAMS,
)


def _held(manager: Any) -> HeldRun | None:
    state: Instrumentation = manager.__dict__["_llmhooks_state"]
    if not state.active or manager_for(state.callbacks) is None:
        return None
    kwargs = manager.__dict__["_llmhooks_kwargs"]
    # as for create(): images in the request make it a VLM inference, their data kept out of events
    run = vision_llm_run(provider="anthropic", streaming=True, callbacks=state.callbacks, **_start(kwargs))
    return HeldRun(run) if run.is_recording else None


def _observe_raw(manager: Any, stream: Any, held: HeldRun, is_async: bool) -> bool:
    raw = getattr(stream, "_raw_stream", None)
    if not isinstance(raw, _STREAMS):
        return False
    acc = MESSAGES.accumulator(manager.__dict__["_llmhooks_kwargs"])
    stream._raw_stream = observe(raw, held, acc, is_async=is_async)
    return True


class _StreamSync:
    """Mixed in before ``MessageStreamManager``: the run starts when its block is entered."""

    def __enter__(self) -> Any:
        held = _held(self)
        if held is None:
            return super().__enter__()  # type: ignore[misc]
        held.start()
        try:
            with held.current():  # the SDK's HTTP request is made inside the run
                stream = super().__enter__()  # type: ignore[misc]
        except BaseException as exc:
            held.fail(exc)
            raise
        if not _observe_raw(self, stream, held, False):
            held.finish()
        return stream


class _StreamAsync:
    """Mixed in before ``AsyncMessageStreamManager``."""

    async def __aenter__(self) -> Any:
        held = _held(self)
        if held is None:
            return await super().__aenter__()  # type: ignore[misc]
        await held.astart()
        try:
            with held.current():
                stream = await super().__aenter__()  # type: ignore[misc]
        except BaseException as exc:
            await held.afail(exc)
            raise
        if not _observe_raw(self, stream, held, True):
            await held.afinish()
        return stream


def _stream_helper(state: Instrumentation, helper: Any) -> Any:
    @functools.wraps(helper)
    def stream(*args: Any, **kwargs: Any) -> Any:
        manager = helper(*args, **kwargs)
        if not state.active:
            return manager
        mixin = _StreamAsync if hasattr(type(manager), "__aenter__") else _StreamSync
        return rebrand(manager, mixin, {"_llmhooks_state": state, "_llmhooks_kwargs": kwargs})

    return stream


def instrument_anthropic(client: C, *, callbacks: CallbacksLike = None) -> C:
    """Make ``client``'s calls fire LLM events (for its handlers plus global and scoped ones).

    Returns the same client. Instrumenting an instrumented client does nothing (its
    first ``callbacks`` stay); ``uninstrument_anthropic`` undoes it.

    Raises:
        TypeError: ``client`` is not an ``anthropic.Anthropic``/``AsyncAnthropic`` client.
        InvalidHandlerError: a handler in ``callbacks`` is malformed.
    """
    if isinstance(client, anthropic.AsyncAnthropic):
        is_async = True
    elif isinstance(client, anthropic.Anthropic):
        is_async = False
    else:
        raise TypeError(
            "instrument_anthropic needs an anthropic.Anthropic or anthropic.AsyncAnthropic client, "
            f"got {type(client).__name__}"
        )
    state = install(client, callbacks)
    if state is None:
        return client
    messages = client.messages  # type: ignore[attr-defined]
    wrap = state.async_create if is_async else state.sync_create
    for name in ("create", "parse"):
        original = getattr(messages, name, None)
        if original is not None:
            state.patch(messages, name, wrap(original, MESSAGES))
    state.patch(messages, "stream", _stream_helper(state, messages.stream))
    forget_cached(messages)
    forget_cached(client)  # client.with_raw_response caches the resources too
    return client


def uninstrument_anthropic(client: Any) -> bool:
    """Restore ``client``'s own methods; False if it was not instrumented."""
    done = remove(client)
    if done:
        forget_cached(client.messages)
        forget_cached(client)
    return done
