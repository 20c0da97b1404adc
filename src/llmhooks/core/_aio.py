"""Run an ``async def`` handler method from sync code without ever dropping it.

The rule (documented on ``Callbacks``): with no loop running in this thread the
coroutine runs to completion on a private per-thread loop before the call returns;
with a loop running in this thread it becomes a task on that loop, referenced
until done, its failure reported through ``on_error``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["run_coroutine_from_sync"]

_local = threading.local()
_pending: set[asyncio.Task[Any]] = set()  # strong refs: the loop keeps only weak ones


def _runner() -> asyncio.Runner:
    runner: asyncio.Runner | None = getattr(_local, "runner", None)
    if runner is None:
        runner = asyncio.Runner()
        _local.runner = runner
    return runner


async def _bounded(coro: Coroutine[Any, Any, Any], timeout: float | None) -> Any:
    if timeout is None:
        return await coro
    return await asyncio.wait_for(coro, timeout)


def run_coroutine_from_sync(
    coro: Coroutine[Any, Any, Any],
    timeout: float | None,
    on_error: Callable[[BaseException], None],
) -> None:
    """Run ``coro`` per the rule above; exceptions go to ``on_error`` unless ``Abort``.

    Raises:
        Abort: when the coroutine ran inline and raised it.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        _runner().run(_bounded(coro, timeout))  # exceptions propagate to the caller's isolation
        return
    task = loop.create_task(_bounded(coro, timeout))
    _pending.add(task)

    def _done(t: asyncio.Task[Any]) -> None:
        _pending.discard(t)
        if not t.cancelled() and t.exception() is not None:
            on_error(t.exception())  # type: ignore[arg-type]

    task.add_done_callback(_done)
