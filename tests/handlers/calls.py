"""Helpers that make LLM calls through the run API, one at a time or many at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from llmhooks import ContextExecutor, llm_run
from llmhooks.core.context import CallbacksLike

T = TypeVar("T")
MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]


def _finish_fields(
    input_tokens: int | None,
    output_tokens: int | None,
    cached: int | None,
    reasoning: int | None,
    latency_ms: float | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "response": "4",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_input_tokens": cached,
        "reasoning_tokens": reasoning,
        **extra,
    }
    if latency_ms is not None:
        fields["latency_ms"] = latency_ms
    return fields


def llm_call(
    callbacks: CallbacksLike = None,
    *,
    provider: str | None = "openai",
    model: str = "gpt-4o",
    input_tokens: int | None = 100,
    output_tokens: int | None = 20,
    cached: int | None = None,
    reasoning: int | None = None,
    latency_ms: float | None = None,
    tokens: Sequence[str] = (),
    max_tokens: int | None = None,
    messages: list[Any] | None = None,
    body: Callable[[], None] | None = None,
    **extra: Any,
) -> str:
    """One LLM call through ``llm_run``; returns its run id. ``body`` runs inside the block."""
    with llm_run(
        provider=provider,
        model=model,
        messages=MESSAGES if messages is None else messages,
        max_tokens=max_tokens,
        streaming=bool(tokens),
        callbacks=callbacks,
    ) as run:
        if body is not None:
            body()
        for token in tokens:
            run.token(token)
        fields = _finish_fields(input_tokens, output_tokens, cached, reasoning, latency_ms, extra)
        if tokens:
            fields.pop("response")  # the run joins the streamed text itself
        run.finish(**fields)
    return run.run_id


async def allm_call(
    callbacks: CallbacksLike = None,
    *,
    provider: str | None = "openai",
    model: str = "gpt-4o",
    input_tokens: int | None = 100,
    output_tokens: int | None = 20,
    cached: int | None = None,
    reasoning: int | None = None,
    latency_ms: float | None = None,
    tokens: Sequence[str] = (),
    max_tokens: int | None = None,
    messages: list[Any] | None = None,
    body: Callable[[], Awaitable[None]] | None = None,
    **extra: Any,
) -> str:
    """``llm_call`` for async code (``async with``, ``atoken``, ``afinish``)."""
    async with llm_run(
        provider=provider,
        model=model,
        messages=MESSAGES if messages is None else messages,
        max_tokens=max_tokens,
        streaming=bool(tokens),
        callbacks=callbacks,
    ) as run:
        if body is not None:
            await body()
        for token in tokens:
            await run.atoken(token)
        fields = _finish_fields(input_tokens, output_tokens, cached, reasoning, latency_ms, extra)
        if tokens:
            fields.pop("response")
        await run.afinish(**fields)
    return run.run_id


def in_threads(n: int, fn: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``fn(0..n-1)`` in ``n`` threads at once (caller's context); results or exceptions, in order."""
    with ContextExecutor(max_workers=n) as pool:
        futures = [pool.submit(fn, i) for i in range(n)]
        out: list[T | BaseException] = []
        for f in futures:
            exc = f.exception(timeout=30)
            out.append(exc if exc is not None else f.result())
        return out


async def in_tasks(n: int, fn: Callable[[int], Awaitable[T]]) -> list[T | BaseException]:
    """Run ``fn(0..n-1)`` as ``n`` concurrent tasks; results or exceptions, in order."""
    return await asyncio.gather(*(fn(i) for i in range(n)), return_exceptions=True)
