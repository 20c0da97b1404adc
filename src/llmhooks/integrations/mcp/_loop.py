"""The event loop an ``MCPClient``'s sessions live on: a loop of its own, on a daemon thread.

The SDK's sessions belong to the loop that opened them. On the caller's loop, a
session could not serve sync code running on that loop's thread (``Agent.run``
called from async code, a Jupyter cell): the loop stays blocked while the sync
call waits for it. On a loop of its own a session serves every caller alike:
async code on any loop, sync code in any thread. The loop starts at the first
``connect()`` and stops when the client has closed every session.

    io = IOLoop("llmhooks-mcp")
    future = io.submit(coro)          # a concurrent.futures.Future; cancel() cancels the task
    io.stop()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["IOLoop"]

T = TypeVar("T")

_STOP_TIMEOUT = 5.0  # seconds stop() waits for leftover tasks and the thread


class IOLoop:
    """A private event loop on a daemon thread, started on first use; safe to use from any thread."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The running loop, or None before the first ``submit`` and after ``stop``."""
        return self._loop

    def in_loop(self) -> bool:
        """True when called from the loop's own thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` as a task on the loop, in a copy of the caller's context.

        ``cancel()`` on the returned future cancels the task (the future stays pending
        until the task ends, so cancelling it always reaches the task).
        """
        with self._lock:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.new_event_loop()
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._serve, args=(loop, ready), name=self._name, daemon=True
                )
                self._thread.start()
                ready.wait()
            # the loop callback runs in a copy of this context, and the task copies that:
            # runs opened on the loop get the caller's parent, handlers and run_context
            return asyncio.run_coroutine_threadsafe(coro, loop)

    def call_soon(self, callback: Any, *args: Any) -> bool:
        """Schedule ``callback(*args)`` on the loop from any thread; False once it has stopped."""
        loop = self._loop
        if loop is None:
            return False
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # closed meanwhile
            return False
        return True

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def stop(self) -> None:
        """Cancel what still runs on the loop, stop it and let its thread end (bounded waits)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_wind_down(loop)))
        except RuntimeError:
            return
        if thread is not threading.current_thread():
            thread.join(_STOP_TIMEOUT + 1.0)


async def _wind_down(loop: asyncio.AbstractEventLoop) -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks(loop) if t is not me]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=_STOP_TIMEOUT)
    loop.stop()
