"""Carry the caller's context (handlers, run tree, run_context) into threads.

async def main():
    await llmhooks.to_thread(blocking_tool, 3)          # like asyncio.to_thread

with ContextExecutor(max_workers=4) as pool:            # sync code
    pool.submit(call_llm, "hi").result()                # parent run is the caller's
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from llmhooks.core.executor import ContextExecutor

__all__ = ["ContextExecutor", "to_thread"]

P = ParamSpec("P")
R = TypeVar("R")


def __getattr__(name: str) -> Any:
    # ContextExecutor needs concurrent.futures: loaded when first asked for, not at import
    if name == "ContextExecutor":
        from llmhooks.core.executor import ContextExecutor

        return ContextExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def to_thread(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn`` in the loop's default thread pool with the caller's context; await its result."""
    import asyncio

    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, fn, *args, **kwargs)
    result: Any = await loop.run_in_executor(None, call)
    return result  # type: ignore[no-any-return]
