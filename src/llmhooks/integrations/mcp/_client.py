"""``MCPClient``: several MCP servers behind one client, every operation an event.

async with MCPClient([{"name": "calc", "command": "python", "args": ["calc.py"]}],
                     callbacks=PrintCallbacks()) as client:
    await client.call_tool("add", {"a": 1, "b": 2})   # tool.start, mcp.progress..., tool.end

with MCPClient([...]) as client:                        # sync code
    client.tools()[0].invoke({"a": 1, "b": 2})

Each operation runs on the client's own loop (``_loop``) while the caller delivers
its events (``_relay``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

from llmhooks.core.context import CallbacksLike, manager_for
from llmhooks.core.redaction import redact_event
from llmhooks.core.runs import tool_run
from llmhooks.errors import Abort
from llmhooks.events import MCPProgressEvent
from llmhooks.integrations.mcp._config import parse_configs
from llmhooks.integrations.mcp._connection import Connection
from llmhooks.integrations.mcp._errors import MCPConnectionError, MCPTimeoutError, MCPToolError
from llmhooks.integrations.mcp._loop import IOLoop
from llmhooks.integrations.mcp._relay import Relay
from llmhooks.integrations.mcp._tool import (
    MCPPromptInfo,
    MCPResourceInfo,
    MCPTool,
    error_text,
    prompt_info,
    prompt_messages,
    resource_info,
    resource_value,
    tool_value,
)

__all__ = ["MCPClient"]

_PROBE_TIMEOUT = 5.0
_SHUTDOWN_TIMEOUT = 10.0  # seconds a dropped client's sessions get to close
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class _ProgressRelay:
    """Turns one call's progress notifications into ``MCPProgressEvent``s of its tool run.

    The SDK runs it in the session's task; each event is handed to the caller
    (``Relay.deliver``), whose handlers have run when it returns, and the call waits
    for pending relays before its end event, so progress never arrives after
    ``tool.end``. An ``Abort`` from a handler cancels the call.
    """

    __slots__ = ("_idle", "_manager", "_pending", "_relay", "_run", "_scope", "_server", "_tool", "aborted")

    def __init__(
        self, run: Any, manager: Any, relay: Relay, server: str, tool: str, scope: anyio.CancelScope
    ) -> None:
        self._run = run
        self._manager = manager
        self._relay = relay
        self._server = server
        self._tool = tool
        self._scope = scope
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.aborted: Abort | None = None

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self._pending += 1
        self._idle.clear()
        run = self._run
        try:
            # a caller that stopped waiting refuses it: its run has ended, so it is dropped
            await self._relay.deliver(
                self._manager,
                redact_event(
                    MCPProgressEvent(
                        run_id=run.run_id,
                        parent_run_id=run.parent_run_id,
                        trace_id=run.trace_id,
                        user_id=run.user_id,
                        tags=list(run.tags),
                        metadata=run.metadata,
                        server_name=self._server,
                        tool_name=self._tool,
                        progress=progress,
                        total=total,
                        message=message,
                    )
                ),
            )
        except Abort as exc:
            self.aborted = exc
            self._scope.cancel()
        finally:
            self._pending -= 1
            if not self._pending:
                self._idle.set()

    async def drain(self, timeout: float) -> None:
        if self._pending:
            with anyio.move_on_after(timeout):
                await self._idle.wait()


class MCPClient:
    """A client for one or more MCP servers (stdio or streamable HTTP) on the official SDK.

    Args:
        configs: server configs, each a dict: ``{"name", "command", "args", "env", "cwd"}``
            for stdio or ``{"name", "url", "headers"}`` for streamable HTTP; either may
            have ``"timeout"`` (seconds). One dict alone is accepted too.
        callbacks: handlers for this client's events (besides global and scoped ones).
        timeout: default bound, in seconds, for starting a server and for each call.

    Events: ``MCPConnectEvent`` when a server is ready, one ``MCPDisconnectEvent`` when
    its session ends (closed, failed to start, timed out, invalid JSON, process died);
    tool start/end/error per call with ``server_name``; ``MCPProgressEvent`` with the
    call's run ids; ``MCPLoggingEvent`` for server log messages (``tool_name`` when
    sent during a call).

    The sessions run on the client's own event loop, on a thread of its own, so the
    client serves async code on any loop and sync code in any thread alike (a sync
    ``Agent.run`` called from async code or a Jupyter cell included); calls may run
    concurrently. Handlers run where the caller waits: async ones are awaited on the
    caller's loop, sync ones called in the caller's thread. Events no caller is
    waiting for (a server dying between calls, a log outside a call) are delivered
    on the client's loop. Use ``async with`` or, from sync code, ``with``.

    Raises:
        MCPConfigError: a config is malformed (raised here, before any connection).
    """

    def __init__(self, configs: Any, callbacks: CallbacksLike = None, *, timeout: float = 30.0) -> None:
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if callbacks is not None:
            manager_for(callbacks)  # validates the handlers now
        self._callbacks = callbacks
        self.timeout = float(timeout)
        self._conns: dict[str, Connection] = {
            cfg.name: Connection(cfg, self.timeout, callbacks) for cfg in parse_configs(configs)
        }
        self._io = IOLoop(f"llmhooks-mcp-{'+'.join(self._conns)}")
        # a client dropped (or still open at exit) without close() still closes its sessions
        weakref.finalize(self, _shutdown, self._io, list(self._conns.values()))

    # lifecycle

    async def connect(self) -> None:
        """Start every server not connected yet, concurrently.

        A server that fails gets its ``MCPDisconnectEvent`` and is recorded in
        ``errors``; the others keep working. Calling ``connect()`` again retries
        the servers that are not connected.

        Raises:
            MCPConnectionError: no server at all is connected afterwards (the message
                lists each failure).
        """
        try:
            await Relay(self._io).run(self._connect)
        except BaseException:
            self._release_loop()
            raise

    async def _connect(self, relay: Relay) -> None:
        pending = [c for c in self._conns.values() if not c.connected]
        with _listening(relay, pending):
            outcomes = await asyncio.gather(*(c.start() for c in pending), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Abort):
                raise outcome
        if not any(c.connected for c in self._conns.values()):
            details = "; ".join(f"{name}: {err}" for name, err in self.errors.items())
            raise MCPConnectionError(f"no MCP server could be connected ({details})")

    async def close(self) -> None:
        """Close every session (each gets its ``MCPDisconnectEvent``); safe to call twice."""
        if self._io.loop is not None:
            await Relay(self._io).run(self._close)
        self._release_loop()

    async def _close(self, relay: Relay) -> None:
        conns = list(self._conns.values())
        with _listening(relay, conns):
            await asyncio.gather(*(c.stop() for c in conns))

    def _release_loop(self) -> None:
        # no session left: let the loop's thread end (connect() starts it again)
        if not self._io.in_loop() and not any(
            c.state in ("connecting", "connected") for c in self._conns.values()
        ):
            self._io.stop()

    async def __aenter__(self) -> MCPClient:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __enter__(self) -> MCPClient:
        """Connect from sync code (``with MCPClient(...) as client:``); same rules as ``connect()``."""
        try:
            Relay(self._io).run_sync(self._connect)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._io.loop is not None:
            Relay(self._io).run_sync(self._close)
        self._release_loop()

    # state

    def __repr__(self) -> str:
        states = ", ".join(f"{name}: {c.state}" for name, c in self._conns.items())
        return f"MCPClient({{{states}}})"

    @property
    def server_names(self) -> list[str]:
        """The configured servers, in config order."""
        return list(self._conns)

    def is_connected(self, server: str) -> bool:
        """True while ``server`` has a live session."""
        return self._conn(server).connected

    @property
    def errors(self) -> dict[str, BaseException]:
        """Why each server that is not connected failed or went away (closed ones excluded)."""
        return {name: c.error for name, c in self._conns.items() if c.error is not None and not c.connected}

    # listings

    def tools(self, server: str | None = None) -> list[MCPTool]:
        """The tools of the connected servers (as listed at connect), as agent-usable callables."""
        conns = [self._conn(server)] if server is not None else list(self._conns.values())
        counts: dict[str, int] = {}
        for conn in self._conns.values():
            if conn.connected:
                for spec in conn.tools:
                    counts[spec.name] = counts.get(spec.name, 0) + 1
        out: list[MCPTool] = []
        for conn in conns:
            if not conn.connected:
                continue
            for spec in conn.tools:
                clash = counts.get(spec.name, 0) > 1
                name = f"{_UNSAFE.sub('_', conn.name)}__{spec.name}" if clash else spec.name
                out.append(MCPTool(self, conn.name, spec, name))
        return out

    async def list_tools(self, server: str | None = None) -> list[MCPTool]:
        """Ask the servers for their tools now (refreshing ``tools()``) and return them."""
        return await Relay(self._io).run(lambda relay: self._list_tools(relay, server))

    async def _list_tools(self, relay: Relay, server: str | None) -> list[MCPTool]:
        for conn in self._live(server):
            with _listening(relay, [conn]):
                listing = conn._list_all(self._session(conn).list_tools, "tools")
                conn.tools = await self._request(conn, listing)
        return self.tools(server)

    async def list_resources(self, server: str | None = None) -> list[MCPResourceInfo]:
        """Ask the servers for their resources now."""
        return await Relay(self._io).run(lambda relay: self._list_resources(relay, server))

    async def _list_resources(self, relay: Relay, server: str | None) -> list[MCPResourceInfo]:
        out: list[MCPResourceInfo] = []
        for conn in self._live(server):
            session = self._session(conn)
            caps = session.server_capabilities
            if caps is not None and caps.resources is None:
                continue
            with _listening(relay, [conn]):
                conn.resources = await self._request(
                    conn, conn._list_all(session.list_resources, "resources")
                )
            out.extend(resource_info(conn.name, r) for r in conn.resources)
        return out

    async def list_prompts(self, server: str | None = None) -> list[MCPPromptInfo]:
        """Ask the servers for their prompts now."""
        return await Relay(self._io).run(lambda relay: self._list_prompts(relay, server))

    async def _list_prompts(self, relay: Relay, server: str | None) -> list[MCPPromptInfo]:
        out: list[MCPPromptInfo] = []
        for conn in self._live(server):
            session = self._session(conn)
            caps = session.server_capabilities
            if caps is not None and caps.prompts is None:
                continue
            with _listening(relay, [conn]):
                conn.prompts = await self._request(conn, conn._list_all(session.list_prompts, "prompts"))
            out.extend(prompt_info(conn.name, p) for p in conn.prompts)
        return out

    async def read_resource(self, uri: str, *, server: str | None = None) -> Any:
        """Read a resource: its text, the bytes of a single blob, or its contents as dicts.

        Without ``server``, the server that listed ``uri`` is used (or the only one).
        """
        if server is None:
            owners = [
                c
                for c in self._conns.values()
                if c.connected and any(str(r.uri) == uri for r in (c.resources or ()))
            ]
            live = [c for c in self._conns.values() if c.connected]
            conn = owners[0] if owners else (live[0] if len(live) == 1 else None)
            if conn is None:
                raise LookupError(f"no connected MCP server lists the resource {uri!r}; pass server=...")
        else:
            conn = self._conn(server)
        result = await Relay(self._io).run(lambda relay: self._read(relay, conn, uri))
        return resource_value(result)

    async def _read(self, relay: Relay, conn: Connection, uri: str) -> Any:
        with _listening(relay, [conn]):
            return await self._request(conn, self._session(conn).read_resource(uri))

    async def get_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None, *, server: str | None = None
    ) -> list[dict[str, Any]]:
        """Render a prompt: its messages as ``{"role", "content"}`` dicts."""
        conn = self._conn(server) if server is not None else self._owner(name, "prompts")
        args = dict(arguments or {})
        result = await Relay(self._io).run(lambda relay: self._get_prompt(relay, conn, name, args))
        return prompt_messages(result)

    async def _get_prompt(self, relay: Relay, conn: Connection, name: str, args: dict[str, str]) -> Any:
        with _listening(relay, [conn]):
            return await self._request(conn, self._session(conn).get_prompt(name, args))

    # tool calls

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        server: str | None = None,
        timeout: float | None = None,
        tool_call_id: str | None = None,
        progress: bool = True,
        raw: bool = False,
    ) -> Any:
        """Call a tool; returns its value (see ``tool_value``), or the SDK result with ``raw=True``.

        ``name`` is the tool's name; when two servers offer it, qualify it as
        ``"server.tool"`` (or ``"server__tool"``, the form ``tools()`` uses) or pass
        ``server=``. Progress notifications are requested when some handler takes
        ``MCPProgressEvent`` and ``progress`` is true. ``MCPTool.invoke`` is the sync form.

        Raises:
            MCPToolError: the server flagged the result as an error or answered with
                an error (the tool error event has been emitted), or no server has the tool.
            MCPTimeoutError: no answer within ``timeout`` (default: the client's).
            MCPConnectionError: the server is not connected or went away during the
                call (its disconnect event has been emitted).
        """
        conn, tool = self._resolve(name, server)
        args = dict(arguments or {})
        limit = timeout if timeout is not None else conn.timeout
        async with tool_run(
            tool, arguments=args, tool_call_id=tool_call_id, server_name=conn.name, callbacks=self._callbacks
        ) as run:
            result = await Relay(self._io, tool).run(
                lambda relay: self._call(relay, run, conn, tool, args, limit, progress)
            )
            value = _value(conn, tool, result)
            await run.afinish(result=value)
        return result if raw else value

    def _call_tool_sync(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        server: str | None = None,
        timeout: float | None = None,
        tool_call_id: str | None = None,
        progress: bool = True,
        raw: bool = False,
    ) -> Any:
        """``call_tool`` for sync code (``MCPTool.invoke``): handlers run in this thread."""
        conn, tool = self._resolve(name, server)
        args = dict(arguments or {})
        limit = timeout if timeout is not None else conn.timeout
        with tool_run(
            tool, arguments=args, tool_call_id=tool_call_id, server_name=conn.name, callbacks=self._callbacks
        ) as run:
            result = Relay(self._io, tool).run_sync(
                lambda relay: self._call(relay, run, conn, tool, args, limit, progress)
            )
            value = _value(conn, tool, result)
            run.finish(result=value)
        return result if raw else value

    async def _call(
        self,
        relay: Relay,
        run: Any,
        conn: Connection,
        tool: str,
        args: dict[str, Any],
        limit: float,
        progress: bool,
    ) -> Any:
        """The request of one tool call, on the I/O loop; its events go to the caller's handlers."""
        with _listening(relay, [conn]):
            session = self._session(conn)
            with anyio.CancelScope() as scope:
                relayed = None
                # a run nobody takes tool events from may still have progress listeners
                manager = run.manager if run.is_recording else manager_for(self._callbacks)
                if progress and manager is not None and manager.wants(MCPProgressEvent):
                    relayed = _ProgressRelay(run, manager, relay, conn.name, tool, scope)
                try:
                    result = await session.call_tool(
                        tool, args, read_timeout_seconds=limit, progress_callback=relayed
                    )
                except MCPError as exc:
                    raise await self._call_failed(conn, tool, exc, limit) from exc
            if relayed is not None:
                await relayed.drain(limit)  # a handler may still be running: it may yet refuse the call
                if relayed.aborted is not None:
                    raise relayed.aborted
            if scope.cancelled_caught:  # pragma: no cover - only an Abort cancels the scope
                raise asyncio.CancelledError
            await conn.logs_delivered(limit)  # what the server logged during the call, before its end
            return result

    # internals

    def _conn(self, server: str) -> Connection:
        conn = self._conns.get(server)
        if conn is None:
            raise LookupError(f"no MCP server named {server!r}; configured: {', '.join(self._conns)}")
        return conn

    def _live(self, server: str | None) -> list[Connection]:
        if server is not None:
            return [self._conn(server)]
        return [c for c in self._conns.values() if c.connected]

    def _session(self, conn: Connection) -> Any:
        session = conn.session
        if session is None or not conn.connected:
            reason = conn.reason or "connect() has not been called"
            raise MCPConnectionError(
                f"MCP server {conn.name!r} is not connected ({reason})",
                server_name=conn.name,
                reason=conn.reason,
            )
        return session

    def _owner(self, name: str, kind: str) -> Connection:
        owners = [
            c
            for c in self._conns.values()
            if c.connected and any(p.name == name for p in (getattr(c, kind) or ()))
        ]
        if len(owners) == 1:
            return owners[0]
        if owners:
            servers = ", ".join(c.name for c in owners)
            raise LookupError(f"{kind[:-1]} {name!r} is offered by {servers}; pass server=")
        raise LookupError(f"no connected MCP server offers the {kind[:-1]} {name!r}")

    def _resolve(self, name: str, server: str | None) -> tuple[Connection, str]:
        if server is not None:
            conn = self._conn(server)
            for sep in (".", "__"):
                prefix, found, rest = name.partition(sep)
                if found and prefix == server and not any(t.name == name for t in conn.tools):
                    return conn, rest
            return conn, name
        owners = [c for c in self._conns.values() if any(t.name == name for t in c.tools)]
        live = [c for c in owners if c.connected]
        if len(live) == 1 or (len(owners) == 1 and not live):
            return (live or owners)[0], name
        if len(live) > 1:
            choices = ", ".join(f"'{c.name}.{name}'" for c in live)
            raise MCPToolError(
                f"MCP tool {name!r} is offered by several servers; call one of {choices}", tool_name=name
            )
        for sep in (".", "__"):
            prefix, found, rest = name.partition(sep)
            if found and rest:
                for conn in self._conns.values():
                    if prefix in (conn.name, _UNSAFE.sub("_", conn.name)):
                        return conn, rest
        known = sorted({t.name for c in self._conns.values() if c.connected for t in c.tools})
        raise MCPToolError(
            f"no connected MCP server has a tool named {name!r}; known tools: {', '.join(known) or 'none'}",
            tool_name=name,
        )

    async def _request(self, conn: Connection, request: Any) -> Any:
        """Await a listing or read; map SDK errors to ours."""
        try:
            return await request
        except MCPError as exc:
            raise await self._call_failed(conn, None, exc, conn.timeout) from exc

    async def _call_failed(
        self, conn: Connection, tool: str | None, exc: MCPError, limit: float
    ) -> Exception:
        what = f"MCP tool {tool!r}" if tool else "a request"
        if exc.code == REQUEST_TIMEOUT:
            return MCPTimeoutError(
                f"{what} on server {conn.name!r} got no answer within {limit:g}s", server_name=conn.name
            )
        if exc.code == CONNECTION_CLOSED:
            await self._probe(conn)
            if not conn.connected:
                await conn.wait_closed(conn.timeout)
                return MCPConnectionError(
                    f"MCP server {conn.name!r} went away during {what}: {conn.reason}",
                    server_name=conn.name,
                    reason=conn.reason,
                )
            return MCPConnectionError(
                f"{what} on server {conn.name!r} lost its answer stream: {exc}",
                server_name=conn.name,
                reason=str(exc),
            )
        if tool is None:
            return MCPConnectionError(
                f"MCP server {conn.name!r} answered with an error: {exc}",
                server_name=conn.name,
                reason=str(exc),
            )
        return MCPToolError(
            f"MCP tool {tool!r} on server {conn.name!r} failed: {exc}",
            server_name=conn.name,
            tool_name=tool,
            code=exc.code,
        )

    async def _probe(self, conn: Connection) -> None:
        """After a lost answer, check the server is still there (HTTP gives no end-of-stream)."""
        session = conn.session
        if session is None or not conn.connected:
            return
        try:
            with anyio.fail_after(_PROBE_TIMEOUT):
                await session.send_ping()
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:  # the transport failed: let the session end with its reason
                await conn.wait_closed(conn.timeout)
            if conn.connected:
                await conn.stop(f"the server stopped answering (ping failed: {exc})")
        except Exception as exc:
            if conn.connected:
                await conn.stop(f"the server stopped answering (ping failed: {type(exc).__name__})")


def _value(conn: Connection, tool: str, result: Any) -> Any:
    """A call's value; raises ``MCPToolError`` for a result the server flagged as an error."""
    if not isinstance(result, types.CallToolResult):
        raise MCPToolError(
            f"MCP tool {tool!r} on server {conn.name!r} returned {type(result).__name__}",
            server_name=conn.name,
            tool_name=tool,
        )
    if result.is_error:
        raise MCPToolError(error_text(result), server_name=conn.name, tool_name=tool, result=result)
    return tool_value(result)


@contextlib.contextmanager
def _listening(relay: Relay, conns: list[Connection]) -> Iterator[None]:
    """Make ``relay``'s caller the one that delivers these sessions' events meanwhile."""
    for conn in conns:
        conn.relays.append(relay)
    try:
        yield
    finally:
        for conn in conns:
            conn.relays.remove(relay)


def _shutdown(io: IOLoop, conns: list[Connection]) -> None:
    """Close the sessions of a client garbage-collected (or still open at exit) without ``close()``."""
    if io.loop is None:
        return
    if not io.in_loop():

        async def stop_all() -> None:
            await asyncio.gather(*(c.stop() for c in conns))

        with contextlib.suppress(BaseException):
            io.submit(stop_all()).result(timeout=_SHUTDOWN_TIMEOUT)
    io.stop()
