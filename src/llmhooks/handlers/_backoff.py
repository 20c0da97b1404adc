"""Retry with exponential backoff and jitter, for background writers while a server is away.

    value = retry(lambda: send(batch), retryable=(ConnectionError,), retry_for=30.0)

Only for operations that are safe to repeat (idempotent, or deduplicated downstream):
a write that timed out may have been applied, and is sent again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["Backoff", "aretry", "retry"]

T = TypeVar("T")


class Backoff:
    """Delays of ``first``, doubling up to ``cap`` seconds, each jittered to 50-100 %."""

    __slots__ = ("cap", "delay", "first")

    def __init__(self, first: float = 0.05, cap: float = 2.0) -> None:
        self.first = first
        self.cap = cap
        self.delay = first

    def next(self) -> float:
        """The next delay to wait (seconds)."""
        delay = self.delay
        self.delay = min(self.cap, delay * 2)
        return delay * (0.5 + random.random() / 2)

    def reset(self) -> None:
        self.delay = self.first


def retry(
    op: Callable[[], T],
    *,
    retryable: tuple[type[BaseException], ...],
    retry_for: float,
    on_retry: Callable[[BaseException], None] | None = None,
    stop: Callable[[], bool] | None = None,
    backoff: Backoff | None = None,
) -> T:
    """``op()``, repeated after ``retryable`` failures for up to ``retry_for`` seconds.

    Raises:
        the last failure, once ``retry_for`` is spent or ``stop()`` is true.
    """
    backoff = backoff or Backoff()
    deadline = time.monotonic() + retry_for
    while True:
        try:
            return op()
        except retryable as exc:
            delay = backoff.next()
            if time.monotonic() + delay > deadline or (stop is not None and stop()):
                raise
            if on_retry is not None:
                on_retry(exc)
            time.sleep(delay)


async def aretry(
    op: Callable[[], Awaitable[T]],
    *,
    retryable: tuple[type[BaseException], ...],
    retry_for: float,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """``await op()``, repeated like ``retry`` (waiting with ``asyncio.sleep``)."""
    backoff = Backoff()
    deadline = time.monotonic() + retry_for
    while True:
        try:
            return await op()
        except retryable as exc:
            delay = backoff.next()
            if time.monotonic() + delay > deadline:
                raise
            if on_retry is not None:
                on_retry(exc)
            await asyncio.sleep(delay)
