"""``raised(fn)``: the exception a call raised, whatever its class.

Tests assert what llmhooks does with a failure (the error event, ``error_code``,
``is_recoverable``, the exception reaching the caller unchanged), never which class an
SDK or its transport raises: SDKs change those between releases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["araised", "raised"]


def raised(fn: Callable[[], Any]) -> Exception:
    """Call ``fn`` and return the exception it raised; fail the test if it returned."""
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError(f"{fn!r} returned instead of raising")


async def araised(fn: Callable[[], Awaitable[Any]]) -> Exception:
    """Await ``fn()`` and return the exception it raised; fail the test if it returned."""
    try:
        await fn()
    except Exception as exc:
        return exc
    raise AssertionError(f"{fn!r} returned instead of raising")
