"""Wrap the ``create`` methods of one SDK client instance so each call is an LLM run.

Only the given client object changes: each wrapped method becomes an instance
attribute that shadows the class's method, keeps its name, docstring and
signature (``__wrapped__`` points at the original) and returns exactly what the
original returns (a stream comes back as an observed stream of the same class).
With nobody listening a wrapper calls straight through. ``Instrumentation`` keeps
what was patched so ``undo()`` can restore it; a wrapper someone kept a reference
to (the SDK caches some) also calls straight through once undone.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmhooks.core.context import CallbacksLike, manager_for
from llmhooks.core.held import HeldRun
from llmhooks.integrations._observed import observe
from llmhooks.llm.providers.base import ORIGINAL
from llmhooks.llm.response import ChatResponse
from llmhooks.vlm import vision_llm_run

__all__ = ["Api", "Instrumentation", "given", "request_params"]

logger = logging.getLogger("llmhooks")

MARK = "_llmhooks_instrumentation"
# never copied into events: transport settings, and headers that may carry credentials
_TRANSPORT = frozenset({"extra_headers", "extra_query", "extra_body", "timeout", "stream"})


def given(value: Any) -> Any:
    """``value``, or None for the SDKs' "not given" sentinels (``omit``, ``NOT_GIVEN``)."""
    if value is None or type(value).__name__ in ("Omit", "NotGiven"):
        return None
    return value


def streaming(kwargs: dict[str, Any]) -> bool:
    """Whether the call asks for a stream (the SDKs go by truthiness)."""
    return bool(given(kwargs.get("stream")))


def request_params(kwargs: dict[str, Any], known: frozenset[str]) -> dict[str, Any] | None:
    """The call's other parameters (not ``known`` ones, not transport settings), for ``params``."""
    out = {k: v for k, v in kwargs.items() if k not in known and k not in _TRANSPORT and given(v) is not None}
    return out or None


def as_list(value: Any) -> list[Any] | None:
    """A list as it is (an iterator is never consumed: the SDK still has to read it)."""
    value = given(value)
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return None


@dataclass(frozen=True, slots=True)
class Api:
    """How to read one SDK method: its start fields, its answer, its stream."""

    provider: str
    start: Callable[[dict[str, Any]], dict[str, Any]]
    """kwargs -> ``llm_run`` fields (model, messages, temperature, max_tokens, tools, params)."""
    answer: Callable[[Any, dict[str, Any]], ChatResponse | None]
    """(result, kwargs) -> the answer, or None when the result is not the SDK's answer type."""
    accumulator: Callable[[dict[str, Any]], Any]
    """kwargs -> a stream accumulator (``add(item) -> text | None``, ``response()``)."""
    stream_types: tuple[type, ...]


@dataclass(slots=True)
class Instrumentation:
    """The patches made on one client; ``active`` is read by every wrapper on every call."""

    callbacks: CallbacksLike
    active: bool = True
    patched: list[tuple[Any, str]] = field(default_factory=list)

    def patch(self, owner: Any, name: str, wrapper: Callable[..., Any]) -> None:
        setattr(wrapper, ORIGINAL, getattr(owner, name))
        owner.__dict__[name] = wrapper
        self.patched.append((owner, name))

    def undo(self) -> None:
        self.active = False
        for owner, name in self.patched:
            owner.__dict__.pop(name, None)
        self.patched.clear()

    # the wrappers

    def _run(self, api: Api, kwargs: dict[str, Any]) -> Any:
        fields = api.start(kwargs)
        # images in the request make the call a VLM inference too (llmhooks.vlm)
        return vision_llm_run(
            provider=api.provider, streaming=streaming(kwargs), callbacks=self.callbacks, **fields
        )

    def sync_create(self, original: Callable[..., Any], api: Api) -> Callable[..., Any]:
        """A sync wrapper of ``original`` (a bound ``create``/``parse`` method)."""
        state = self

        @functools.wraps(original)
        def create(*args: Any, **kwargs: Any) -> Any:
            if not state.active or manager_for(state.callbacks) is None:
                return original(*args, **kwargs)
            run = state._run(api, kwargs)
            if streaming(kwargs) and run.is_recording:
                held = HeldRun(run).start()
                try:
                    with held.current():  # the SDK's HTTP request is made inside the run
                        result = original(*args, **kwargs)
                except BaseException as exc:
                    held.fail(exc)
                    raise
                if isinstance(result, api.stream_types):
                    return observe(result, held, api.accumulator(kwargs), is_async=False)
                held.finish()  # e.g. a raw response: nothing to read without consuming it
                return result
            with run:
                result = original(*args, **kwargs)
                answer = _answer(api, result, kwargs)
                if answer is not None:
                    run.finish(**answer.end_fields())
            return result

        return create

    def async_create(self, original: Callable[..., Any], api: Api) -> Callable[..., Any]:
        """An async wrapper of ``original``."""
        state = self

        @functools.wraps(original)
        async def create(*args: Any, **kwargs: Any) -> Any:
            if not state.active or manager_for(state.callbacks) is None:
                return await original(*args, **kwargs)
            run = state._run(api, kwargs)
            if streaming(kwargs) and run.is_recording:
                held = await HeldRun(run).astart()
                try:
                    with held.current():
                        result = await original(*args, **kwargs)
                except BaseException as exc:
                    await held.afail(exc)
                    raise
                if isinstance(result, api.stream_types):
                    return observe(result, held, api.accumulator(kwargs), is_async=True)
                await held.afinish()
                return result
            async with run:
                result = await original(*args, **kwargs)
                answer = _answer(api, result, kwargs)
                if answer is not None:
                    await run.afinish(**answer.end_fields())
            return result

        return create


def _answer(api: Api, result: Any, kwargs: dict[str, Any]) -> ChatResponse | None:
    try:
        return api.answer(result, kwargs)
    except Exception:  # never let reading the answer break the caller's call
        logger.debug("llmhooks could not read a %s answer", api.provider, exc_info=True)
        return None


def install(client: Any, callbacks: CallbacksLike) -> Instrumentation | None:
    """A fresh ``Instrumentation`` recorded on ``client``, or None if it is instrumented already."""
    if MARK in client.__dict__:
        return None
    manager_for(callbacks)  # validate handlers now
    state = Instrumentation(callbacks)
    client.__dict__[MARK] = state
    return state


def remove(client: Any) -> bool:
    """Undo what ``install`` recorded on ``client``; False if there was nothing."""
    state = client.__dict__.pop(MARK, None)
    if state is None:
        return False
    state.undo()
    return True


def forget_cached(
    resource: Any, names: tuple[str, ...] = ("with_raw_response", "with_streaming_response")
) -> None:
    """Drop the SDK's cached raw-response views, so they are rebuilt around the current ``create``."""
    for name in names:
        resource.__dict__.pop(name, None)
