"""One MCP server session, owned by a task of its own.

The SDK's transports and ``ClientSession`` are anyio context managers that must be
entered and left in one task, while ``MCPClient.connect()`` and ``close()`` are
separate calls: so each server gets an owner task that opens the transport and
session, reports when it is ready, then waits until it is told to close or the
server goes away (end of its stream, invalid JSON, a transport failure). The owner
emits ``MCPConnectEvent`` once the handshake and listings are done and exactly one
``MCPDisconnectEvent`` when the session ends, whatever ended it.

All of it runs on the client's own loop (``_loop``). Session events go to the caller of
an operation in progress on the session (``relays``: a connect, a close, a call), whose
handlers run where that caller waits; with none in progress, they are delivered here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TextIO, TypeVar

import anyio
import mcp_types as types
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from llmhooks.core.context import CallbacksLike, current_run, get_run_context, manager_for
from llmhooks.core.redaction import redact_event
from llmhooks.errors import Abort
from llmhooks.events import MCPConnectEvent, MCPDisconnectEvent, MCPEvent, MCPLoggingEvent
from llmhooks.events._ids import new_run_id, new_trace_id
from llmhooks.integrations.mcp._config import ServerConfig
from llmhooks.integrations.mcp._errors import MCPConnectionError, MCPTimeoutError
from llmhooks.integrations.mcp._relay import Relay

__all__ = ["Connection"]

logger = logging.getLogger("llmhooks.mcp")

T = TypeVar("T")

_PAGE_CAP = 100  # listing pages followed per kind: a server whose cursor never ends cannot hang connect
_CLOSED_BY_CLIENT = "closed by client"


def _server_errlog() -> TextIO:
    """Where the server process's stderr goes: ours when it is a real file.

    Under Jupyter, pytest's capture or a GUI, ``sys.stderr`` has no file descriptor and
    the subprocess could not be started with it; the interpreter's original stderr (or,
    failing that, the null device) takes its place.
    """
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
            continue
    return open(os.devnull, "w")


class _WatchedStream:
    """The transport's read stream, reporting its end and any unparseable message."""

    def __init__(self, inner: Any, connection: Connection) -> None:
        self._inner = inner
        self._conn = connection

    @property
    def last_context(self) -> Any:
        # the dispatcher restores the sender's contextvars from here (HTTP transport)
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            item = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._conn._lost("the server closed the connection" + self._conn._exit_hint())
            raise
        if isinstance(item, Exception):
            self._conn._lost(_bad_message(item))
        return item

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _WatchedStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _bad_message(exc: Exception) -> str:
    """Why a message from the server was rejected, quoting what it sent."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors(include_url=False)[0]
            sent = repr(first.get("input"))
            sent = sent if len(sent) <= 120 else sent[:120] + "..."
            problem = "not JSON" if first.get("type") == "json_invalid" else "not a JSON-RPC message"
            return f"the server sent a message that is {problem}: {sent}"
        except Exception:
            pass
    return f"the server sent a message that is not valid JSON-RPC: {_short(exc)}"


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class Connection:
    """A session with one server. Not for direct use: ``MCPClient`` drives it."""

    def __init__(self, config: ServerConfig, timeout: float, callbacks: CallbacksLike) -> None:
        self.config = config
        self.name = config.name
        self.timeout = config.timeout or timeout
        self._callbacks = callbacks
        self.session: ClientSession | None = None
        self.tools: list[types.Tool] = []
        self.resources: list[types.Resource] | None = None
        self.prompts: list[types.Prompt] | None = None
        # new -> connecting -> connected -> closed (by us) | disconnected (server went away);
        # connecting -> failed (never ready)
        self.state = "new"
        self.reason: str | None = None
        self.error: BaseException | None = None
        self._wake: anyio.Event | None = None
        self._startup: anyio.CancelScope | None = None
        self._task: asyncio.Task[None] | None = None
        self._ids: dict[str, Any] = {}
        # callers waiting on an operation of this session, oldest first: its events go to them
        self.relays: list[Relay] = []
        self._logs_pending = 0
        self._logs_idle = asyncio.Event()
        self._logs_idle.set()

    @property
    def connected(self) -> bool:
        return self.state == "connected" and self.reason is None

    # lifecycle

    async def start(self) -> None:
        """Connect, handshake and list; raises once the disconnect event for a failure is out.

        Raises:
            MCPConnectionError: the server could not be started or reached, or broke the protocol.
            MCPTimeoutError: the handshake did not finish within the timeout.
        """
        if self.state in ("connecting", "connected"):
            return
        self._reset_for_start()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._own(ready), name=f"llmhooks-mcp-{self.name}")
        try:
            await ready
        except asyncio.CancelledError:
            self._task.cancel()
            raise

    def _reset_for_start(self) -> None:
        self.state = "connecting"
        self.reason = None
        self.error = None
        self._wake = anyio.Event()
        parent = current_run()
        ctx = get_run_context()
        self._ids = {
            "run_id": new_run_id(),
            "parent_run_id": parent.run_id if parent is not None else None,
            "trace_id": parent.trace_id if parent is not None else new_trace_id(),
            "user_id": ctx.user_id if ctx is not None else None,
            "tags": list(ctx.tags) if ctx is not None else [],
            "metadata": dict(ctx.metadata) if ctx is not None else {},
        }

    async def stop(self, reason: str = _CLOSED_BY_CLIENT) -> None:
        """Close the session (idempotent) and wait, bounded, for the owner task to finish."""
        self._lost(reason)
        task = self._task
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=self.timeout + 10.0)
        if not done:  # the transport's own shutdown is bounded; this is a last resort
            task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait({task}, timeout=5.0)

    async def wait_closed(self, timeout: float) -> None:
        """Wait, bounded, until the session has ended and its disconnect event is out."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=timeout)

    def _lost(self, reason: str) -> None:
        """Record why the session ends (first reason wins) and wake the owner."""
        if self.reason is None:
            self.reason = reason
        if self._startup is not None:
            self._startup.cancel()
        if self._wake is not None:
            self._wake.set()

    def _exit_hint(self) -> str:
        if self.config.transport == "stdio":
            return " (the server process exited or closed its stdout; see its stderr)"
        return ""

    # the owner task

    async def _own(self, ready: asyncio.Future[None]) -> None:
        failure: BaseException | None = None
        cancelled = False
        was_ready = False
        try:
            async with (
                self._transport() as (read, write),
                ClientSession(
                    _WatchedStream(read, self),
                    write,
                    read_timeout_seconds=self.timeout,
                    logging_callback=self._on_log,
                    client_info=types.Implementation(name="llmhooks", version=_version()),
                ) as session,
            ):
                await self._handshake(session)
                self.session = session
                self.state = "connected"
                await self._emit(MCPConnectEvent, self._connect_fields())
                was_ready = True
                if not ready.done():
                    ready.set_result(None)
                assert self._wake is not None
                await self._wake.wait()
        except asyncio.CancelledError:
            cancelled = True
            self._lost("cancelled")
        except Exception as exc:
            failure = self._failure(exc)
            self._lost(getattr(failure, "reason", None) or _short(failure))
        finally:
            self.session = None
            if was_ready and self.reason == _CLOSED_BY_CLIENT:
                self.state, self.error = "closed", None
            else:
                self.state = "disconnected" if was_ready else "failed"
                self.error = failure or MCPConnectionError(
                    f"MCP server {self.name!r} "
                    + ("disconnected" if was_ready else "closed before it was ready")
                    + f": {self.reason}",
                    server_name=self.name,
                    reason=self.reason,
                )
            fields = {"reason": self.reason}
            if cancelled:  # awaiting inside a cancelled task is not possible: deliver synchronously
                self._emit_sync(MCPDisconnectEvent, fields)
            else:
                with contextlib.suppress(Exception):
                    await self._emit(MCPDisconnectEvent, fields)
            if not ready.done():
                ready.set_exception(self.error or MCPConnectionError(str(self.reason), server_name=self.name))
        if cancelled:
            raise asyncio.CancelledError

    @contextlib.asynccontextmanager
    async def _transport(self) -> AsyncIterator[tuple[Any, Any]]:
        cfg = self.config
        if cfg.transport == "stdio":
            params = StdioServerParameters(
                command=cfg.command or "", args=list(cfg.args), env=cfg.env, cwd=cfg.cwd
            )
            entered = False
            try:
                async with stdio_client(params, errlog=_server_errlog()) as streams:
                    entered = True
                    yield streams
            except OSError as exc:
                if entered:
                    raise
                raise MCPConnectionError(
                    f"MCP server {self.name!r}: could not start {cfg.describe()!r}: {exc}",
                    server_name=self.name,
                    reason=f"could not start the server process: {exc}",
                ) from exc
            return
        import httpx2  # a dependency of mcp 2.x, needed only for HTTP servers

        http = httpx2.AsyncClient(headers=cfg.headers, timeout=httpx2.Timeout(self.timeout, read=300.0))
        async with http, streamable_http_client(cfg.url or "", http_client=http) as streams:
            yield streams

    async def _handshake(self, session: ClientSession) -> None:
        deadline = anyio.current_time() + self.timeout
        with anyio.CancelScope(deadline=deadline) as scope:
            self._startup = scope
            try:
                init = await session.initialize()
                self.tools = await self._list_all(session.list_tools, "tools")
                caps = init.capabilities
                self.resources = (
                    await self._optional(self._list_all(session.list_resources, "resources"))
                    if caps.resources is not None
                    else []
                )
                self.prompts = (
                    await self._optional(self._list_all(session.list_prompts, "prompts"))
                    if caps.prompts is not None
                    else []
                )
            finally:
                self._startup = None
        if scope.cancelled_caught:
            if self.reason is not None:
                raise MCPConnectionError(
                    f"MCP server {self.name!r} failed during the handshake: {self.reason}",
                    server_name=self.name,
                    reason=self.reason,
                )
            reason = f"no answer to the MCP handshake within {self.timeout:g}s"
            self._lost(reason)
            raise MCPTimeoutError(f"MCP server {self.name!r}: {reason}", server_name=self.name)

    async def _list_all(self, method: Callable[..., Awaitable[Any]], attr: str) -> list[Any]:
        items: list[Any] = []
        cursor: str | None = None
        for _ in range(_PAGE_CAP):
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await method(params=params)
            items.extend(getattr(page, attr))
            cursor = page.next_cursor
            if not cursor:
                break
        return items

    async def _optional(self, listing: Awaitable[list[T]]) -> list[T] | None:
        # resources and prompts are extras: a server that fails to list them still serves tools
        try:
            return await listing
        except MCPError as exc:
            logger.debug("MCP server %r could not list: %s", self.name, exc)
            return None

    def _failure(self, exc: BaseException) -> BaseException:
        """A clear error for what ended the owner task."""
        leaf = _leaf(exc)
        if isinstance(leaf, (MCPConnectionError, MCPTimeoutError, Abort)):
            return leaf
        if self.reason is not None:
            reason = self.reason
        elif isinstance(leaf, MCPError):
            reason = f"the server answered the handshake with an error: {_short(leaf)}"
        else:
            reason = f"connection failed: {type(leaf).__name__}: {_short(leaf)}"
        where = "during the handshake" if self.state == "connecting" else "during the session"
        err = MCPConnectionError(
            f"MCP server {self.name!r} failed {where}: {reason}", server_name=self.name, reason=reason
        )
        err.__cause__ = leaf
        return err

    # events

    def _connect_fields(self) -> dict[str, Any]:
        return {
            "transport": self.config.transport,
            "tools_count": len(self.tools),
            "resources_count": len(self.resources) if self.resources is not None else None,
            "prompts_count": len(self.prompts) if self.prompts is not None else None,
        }

    def _event(self, cls: type[MCPEvent], fields: dict[str, Any]) -> MCPEvent:
        """An event of this session, redacted (server logs can carry secrets)."""
        ids = self._ids
        return redact_event(
            cls(
                run_id=ids["run_id"],
                parent_run_id=ids["parent_run_id"],
                trace_id=ids["trace_id"],
                user_id=ids["user_id"],
                tags=ids["tags"],
                metadata=ids["metadata"],
                server_name=self.name,
                **fields,
            )
        )  # type: ignore[return-value]

    async def _emit(self, cls: type[MCPEvent], fields: dict[str, Any]) -> None:
        manager = manager_for(self._callbacks)
        if manager is None or not manager.wants(cls):
            return
        event = self._event(cls, fields)
        for relay in list(self.relays):  # a caller waiting on this session runs the handlers
            if await relay.deliver(manager, event):
                return
        await manager.aemit(event)  # nobody is waiting (a log between calls): on the client's loop

    def _emit_sync(self, cls: type[MCPEvent], fields: dict[str, Any]) -> None:
        manager = manager_for(self._callbacks)
        if manager is not None and manager.wants(cls):
            with contextlib.suppress(Exception):
                manager.emit(self._event(cls, fields))

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        # a log names no request: it belongs to the tool in flight, when only one tool is
        calls = {relay.tool for relay in self.relays if relay.tool is not None}
        fields = {
            "level": str(params.level),
            "data": params.data,
            "logger_name": params.logger,
            "tool_name": next(iter(calls)) if len(calls) == 1 else None,
        }
        self._logs_pending += 1
        self._logs_idle.clear()
        try:
            await self._emit(MCPLoggingEvent, fields)
        finally:
            self._logs_pending -= 1
            if not self._logs_pending:
                self._logs_idle.set()

    async def logs_delivered(self, timeout: float) -> None:
        """Wait, bounded, until the log messages received so far have been delivered.

        A call waits for this before its end event: a server logs during a call before
        it answers, so its logs reach the handlers before ``tool.end``.
        """
        if self._logs_pending:
            with anyio.move_on_after(timeout):
                await self._logs_idle.wait()


def _version() -> str:
    from llmhooks import __version__

    return __version__
