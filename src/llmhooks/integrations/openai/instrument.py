"""Events from your own ``openai`` client: ``instrument_openai(client)``.

    client = instrument_openai(openai.OpenAI(), callbacks=[PrintCallbacks()])
    client.chat.completions.create(model="gpt-5.4-mini", messages=msgs)            # one LLM run
    for chunk in client.chat.completions.create(..., stream=True): ...            # + a token event per delta
    uninstrument_openai(client)

Covers, on that client object (sync ``OpenAI`` or ``AsyncOpenAI``):
``chat.completions.create`` and ``.parse``, ``responses.create`` and ``.parse``,
their ``stream=True`` forms and the ``.stream(...)`` helpers built on them, and
realtime sessions opened with ``realtime.connect(...)`` (``realtime.py``). What
each call returns is unchanged: the same answer object, or the same stream class
(observed). Your request is never altered: in particular ``stream_options`` is
not added (it would add a chunk with empty ``choices`` to your stream), so a
Chat Completions stream without ``include_usage`` reports counts estimated from
the text (``usage_estimated=True``); pass ``stream_options={"include_usage": True}``
for exact ones. Not covered: copies made with ``with_options()``/``copy()``, the
module-level client, ``with_streaming_response``, other endpoints.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from llmhooks.core.context import CallbacksLike
from llmhooks.errors import MissingExtraError

try:
    import openai
    from openai.types.chat import ChatCompletion
    from openai.types.responses import Response
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError("instrument_openai needs 'openai': pip install 'llmhooks[openai]'") from None

from llmhooks.integrations._observed import closing_manager
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
from llmhooks.integrations.openai.parse import (
    ChatChunks,
    ResponseEvents,
    from_chat_completion,
    from_response,
    responses_messages,
)
from llmhooks.integrations.openai.realtime import instrument_realtime
from llmhooks.llm.response import ChatResponse

__all__ = ["instrument_openai", "uninstrument_openai"]

C = TypeVar("C")

_CHAT_KNOWN = frozenset({"model", "messages", "temperature", "max_tokens", "max_completion_tokens", "tools"})
_RESPONSES_KNOWN = frozenset({"model", "input", "instructions", "temperature", "max_output_tokens", "tools"})


def _chat_start(kw: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": given(kw.get("model")),
        "messages": as_list(kw.get("messages")),
        "temperature": given(kw.get("temperature")),
        "max_tokens": given(kw.get("max_completion_tokens")) or given(kw.get("max_tokens")),
        "tools": as_list(kw.get("tools")),
        "params": request_params(kw, _CHAT_KNOWN),
    }


def _chat_answer(result: Any, kw: dict[str, Any]) -> ChatResponse | None:
    return (
        from_chat_completion(result, as_list(kw.get("messages")))
        if isinstance(result, ChatCompletion)
        else None
    )


def _responses_start(kw: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": given(kw.get("model")),
        "messages": responses_messages(given(kw.get("input")), given(kw.get("instructions"))),
        "temperature": given(kw.get("temperature")),
        "max_tokens": given(kw.get("max_output_tokens")),
        "tools": as_list(kw.get("tools")),
        "params": request_params(kw, _RESPONSES_KNOWN),
    }


def _responses_answer(result: Any, kw: dict[str, Any]) -> ChatResponse | None:
    if not isinstance(result, Response):
        return None
    return from_response(result, responses_messages(given(kw.get("input")), given(kw.get("instructions"))))


_STREAMS = (openai.Stream, openai.AsyncStream)

CHAT = Api(
    provider="openai",
    start=_chat_start,
    answer=_chat_answer,
    accumulator=lambda kw: ChatChunks(as_list(kw.get("messages")), given(kw.get("model"))),
    stream_types=_STREAMS,
)
RESPONSES = Api(
    provider="openai",
    start=_responses_start,
    answer=_responses_answer,
    accumulator=lambda kw: ResponseEvents(
        responses_messages(given(kw.get("input")), given(kw.get("instructions"))), given(kw.get("model"))
    ),
    stream_types=_STREAMS,
)


def _wrap_resource(state: Instrumentation, resource: Any, api: Api, is_async: bool) -> None:
    for name in ("create", "parse"):
        original = getattr(resource, name, None)
        if original is None:
            continue
        wrap = state.async_create if is_async else state.sync_create
        state.patch(resource, name, wrap(original, api))
    helper = getattr(resource, "stream", None)
    if helper is not None:
        state.patch(resource, "stream", _closing(state, helper))
    forget_cached(resource)


def _closing(state: Instrumentation, helper: Any) -> Any:
    @functools.wraps(helper)
    def stream(*args: Any, **kwargs: Any) -> Any:
        manager = helper(*args, **kwargs)
        return closing_manager(manager) if state.active else manager

    return stream


def instrument_openai(client: C, *, callbacks: CallbacksLike = None) -> C:
    """Make ``client``'s calls fire LLM events (for its handlers plus global and scoped ones).

    Returns the same client. Instrumenting an instrumented client does nothing (its
    first ``callbacks`` stay); ``uninstrument_openai`` undoes it.

    Raises:
        TypeError: ``client`` is not an ``openai.OpenAI``/``AsyncOpenAI`` client.
        InvalidHandlerError: a handler in ``callbacks`` is malformed.
    """
    if isinstance(client, openai.AsyncOpenAI):
        is_async = True
    elif isinstance(client, openai.OpenAI):
        is_async = False
    else:
        raise TypeError(
            "instrument_openai needs an openai.OpenAI or openai.AsyncOpenAI client, "
            f"got {type(client).__name__}"
        )
    state = install(client, callbacks)
    if state is None:
        return client
    sdk: Any = client
    _wrap_resource(state, sdk.chat.completions, CHAT, is_async)
    _wrap_resource(state, sdk.responses, RESPONSES, is_async)
    instrument_realtime(state, sdk, is_async)  # client.realtime.connect(...): integrations/openai/realtime.py
    # client-level views (client.with_raw_response.chat...) cache the resources too
    forget_cached(sdk)
    forget_cached(sdk.chat)
    return client


def uninstrument_openai(client: Any) -> bool:
    """Restore ``client``'s own methods; False if it was not instrumented."""
    done = remove(client)
    if done:
        forget_cached(client.chat.completions)
        forget_cached(client.responses)
        forget_cached(client)
        forget_cached(client.chat)
    return done
