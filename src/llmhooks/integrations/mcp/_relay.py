"""Run one client operation on the I/O loop while its caller delivers the events it makes.

Sessions live on the client's own loop (``_loop.IOLoop``), but handlers belong to
the caller: an async caller awaits them on its own loop, a sync caller calls them
in its own thread, exactly as for any other run. So the I/O side never calls a
handler while a caller waits: ``deliver`` hands the event over and waits until the
caller has run the handlers, getting back what they raised (an ``Abort``)::

    relay = Relay(io)
    result = await relay.run(lambda r: work(r))     # async caller (any loop)
    result = relay.run_sync(lambda r: work(r))      # sync caller (any thread)

    async def work(relay):                          # on the I/O loop
        await relay.deliver(manager, event)         # False once the caller stopped listening

Events reach the caller in the order they were made, all before the operation's
result. A caller that stops waiting (cancelled, interrupted) cancels the operation;
events handed over after that are refused (``deliver`` returns False), never lost
in a queue nobody reads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from llmhooks.core.manager import CallbackManager
from llmhooks.events import Event
from llmhooks.integrations.mcp._loop import IOLoop

__all__ = ["Relay"]

T = TypeVar("T")

_DONE = object()  # posted after the operation's last event
_Message = tuple[CallbackManager, Event, "asyncio.Future[BaseException | None]"]


class Relay:
    """One operation on the I/O loop and the caller that delivers its events.

    Attributes:
        tool: the tool being called, for a tool call (names the tool of server logs).
    """

    __slots__ = ("_async_queue", "_closed", "_io", "_lock", "_loop", "_sync_queue", "tool")

    def __init__(self, io: IOLoop, tool: str | None = None) -> None:
        self._io = io
        self.tool = tool
        self._lock = threading.Lock()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None  # an async caller's loop
        self._async_queue: asyncio.Queue[Any] | None = None
        self._sync_queue: queue.SimpleQueue[Any] | None = None

    # the caller's side

    async def run(self, make: Callable[[Relay], Coroutine[Any, Any, T]]) -> T:
        """Run ``make(self)`` on the I/O loop, awaiting the handlers of its events here."""
        if self._io.in_loop():  # called from the I/O loop itself (a handler there): no hop
            self._loop = asyncio.get_running_loop()
            return await make(self)
        self._loop = asyncio.get_running_loop()
        self._async_queue = asyncio.Queue()
        future = self._io.submit(make(self))
        future.add_done_callback(lambda _: self._post_async(_DONE))
        try:
            while True:
                message = await self._async_queue.get()
                if message is _DONE:
                    break
                manager, event, ack = message
                try:
                    await manager.aemit(event)
                except Exception as exc:  # an Abort or a raise_errors handler: the I/O side decides
                    self._settle(ack, exc)
                except BaseException:
                    self._settle(ack, None)
                    raise
                else:
                    self._settle(ack, None)
        except BaseException:
            future.cancel()  # the caller gave up (cancelled): so does the operation
            raise
        finally:
            self._close()
        return _outcome(future)

    def run_sync(self, make: Callable[[Relay], Coroutine[Any, Any, T]]) -> T:
        """Run ``make(self)`` on the I/O loop, calling the handlers of its events in this thread.

        Raises:
            RuntimeError: called from the I/O loop's own thread, which would wait for itself.
        """
        if self._io.in_loop():
            raise RuntimeError(
                "a sync MCP call cannot be made from the MCP client's own event loop thread "
                "(for example from an async handler of its events); await the async form instead"
            )
        self._sync_queue = queue.SimpleQueue()
        future = self._io.submit(make(self))
        future.add_done_callback(lambda _: self._sync_queue.put(_DONE))  # type: ignore[union-attr]
        try:
            while True:
                message = self._sync_queue.get()
                if message is _DONE:
                    break
                manager, event, ack = message
                try:
                    manager.emit(event)
                except Exception as exc:
                    self._settle(ack, exc)
                except BaseException:
                    self._settle(ack, None)
                    raise
                else:
                    self._settle(ack, None)
        except BaseException:  # KeyboardInterrupt while waiting
            future.cancel()
            raise
        finally:
            self._close()
        return _outcome(future)

    def _post_async(self, message: Any) -> bool:
        loop = self._loop
        if loop is None:
            return False
        try:
            loop.call_soon_threadsafe(self._receive, message)
        except RuntimeError:  # the caller's loop is closed
            return False
        return True

    def _receive(self, message: Any) -> None:
        # on the caller's loop, like _close: no lock needed between them
        if self._closed:
            if message is not _DONE:
                self._settle(message[2], _REFUSED)
            return
        assert self._async_queue is not None
        self._async_queue.put_nowait(message)

    def _close(self) -> None:
        with self._lock:
            self._closed = True
        pending = self._async_queue if self._async_queue is not None else self._sync_queue
        while pending is not None and not pending.empty():
            message = pending.get_nowait()
            if message is not _DONE:
                self._settle(message[2], _REFUSED)

    def _settle(self, ack: asyncio.Future[BaseException | None], outcome: BaseException | None) -> None:
        # the ack belongs to the I/O loop; a stopped loop has no one left waiting for it
        self._io.call_soon(_set, ack, outcome)

    # the I/O side

    async def deliver(self, manager: CallbackManager, event: Event) -> bool:
        """Have the caller run the handlers for ``event``; True once they have.

        Raises:
            Exception: what a handler raised (``Abort``, or any error of a
                ``raise_errors`` handler).
        """
        loop = asyncio.get_running_loop()
        if self._loop is loop:  # the caller runs on the I/O loop: deliver directly
            if self._closed:
                return False
            await manager.aemit(event)
            return True
        ack: asyncio.Future[BaseException | None] = loop.create_future()
        message = (manager, event, ack)
        with self._lock:
            if self._closed:
                return False
            if self._sync_queue is not None:
                self._sync_queue.put(message)
                posted = True
            else:
                posted = self._post_async(message)
        if not posted:
            return False
        outcome = await ack
        if outcome is _REFUSED:
            return False
        if outcome is not None:
            raise outcome
        return True


class _Refused(Exception):
    """Marks an event the caller stopped listening for before delivering it."""


_REFUSED = _Refused()


def _set(ack: asyncio.Future[BaseException | None], outcome: BaseException | None) -> None:
    if not ack.done():
        ack.set_result(outcome)


def _outcome(future: concurrent.futures.Future[T]) -> T:
    try:
        return future.result()
    except concurrent.futures.CancelledError:
        # the I/O loop was stopped under the operation (the client closed meanwhile)
        from llmhooks.integrations.mcp._errors import MCPConnectionError

        raise MCPConnectionError("the MCP client was closed during the operation") from None
