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
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

__all__ = ["ContextExecutor", "to_thread"]

P = ParamSpec("P")
R = TypeVar("R")


class ContextExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in a copy of the submitter's context."""

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Schedule ``fn(*args, **kwargs)`` in a copy of the calling context."""
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)  # type: ignore[arg-type]


async def to_thread(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn`` in the loop's default thread pool with the caller's context; await its result."""
    import asyncio

    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, fn, *args, **kwargs)
    result: Any = await loop.run_in_executor(None, call)
    return result  # type: ignore[no-any-return]
