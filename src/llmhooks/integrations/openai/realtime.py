"""Realtime (voice) sessions from your own ``openai`` client, observed by ``instrument_openai``.

    client = instrument_openai(openai.AsyncOpenAI(), callbacks=[rec])
    async with client.realtime.connect(model="gpt-realtime") as conn:   # session run starts
        await conn.input_audio_buffer.append(audio=chunk)                  # RealtimeAudioInputEvent
        await conn.response.create()
        async for event in conn:                                           # an LLM run per response
            ...
    # leaving the block (or the socket dropping) ends every open run, once

Nothing changes in how you drive the connection: ``connect`` returns the SDK's own
manager class and the connection is the SDK's own object, with ``send``, ``recv``,
``recv_bytes``, ``parse_event`` and ``close`` observed on that one object. What is
observed: client events sent with ``send`` (every resource helper goes through it),
server events read by iterating, ``recv()``, ``dispatch_events()`` or
``parse_event(recv_bytes())``, and the end of the connection: ``close()``, the
server closing it, the socket dropping (seen on the next read or write), or the
connection object being dropped unclosed. With the SDK's ``on_reconnecting``, each
new socket is a new session run. Whether anybody listens is decided when the
connection opens. Events in ``_realtime_session.py``.
"""

from __future__ import annotations

import functools
import logging
import weakref
from typing import Any

from llmhooks.core.context import CallbacksLike
from llmhooks.integrations._observed import rebrand
from llmhooks.integrations._patch import Instrumentation, given
from llmhooks.integrations.openai._realtime_session import RealtimeSession, Step, arun_steps, run_steps

__all__ = ["instrument_realtime"]

logger = logging.getLogger("llmhooks")

_KEY = "_llmhooks_realtime"


def instrument_realtime(state: Instrumentation, client: Any, is_async: bool) -> None:
    """Patch ``client.realtime.connect`` so its connections report (called by ``instrument_openai``)."""
    resource = getattr(client, "realtime", None)
    connect = getattr(resource, "connect", None)
    if connect is None:  # an SDK without the realtime API
        return
    state.patch(resource, "connect", _connect(state, connect, is_async))


class _Plan:
    """What ``connect`` was called with, kept on the connection manager until it opens."""

    __slots__ = ("callbacks", "early", "model")

    def __init__(self, callbacks: CallbacksLike, model: str | None) -> None:
        self.callbacks = callbacks
        self.model = model
        self.early: list[Any] = []  # events queued with manager.send() before the connection opened


def _connect(state: Instrumentation, original: Any, is_async: bool) -> Any:
    @functools.wraps(original)
    def connect(*args: Any, **kwargs: Any) -> Any:
        manager = original(*args, **kwargs)
        if not state.active:
            return manager
        plan = _Plan(state.callbacks, given(kwargs.get("model")))
        return rebrand(manager, _AsyncConnect if is_async else _SyncConnect, {_KEY: plan})

    return connect


class _AsyncConnect:
    """Mixed in before ``AsyncRealtimeConnectionManager``: observes the connection it opens."""

    async def __aenter__(self) -> Any:
        connection = await super().__aenter__()  # type: ignore[misc]
        await _aobserve(connection, self.__dict__[_KEY])
        return connection

    async def enter(self) -> Any:
        return await self.__aenter__()

    def send(self, event: Any) -> None:
        super().send(event)  # type: ignore[misc]
        self.__dict__[_KEY].early.append(event)


class _SyncConnect:
    """Mixed in before ``RealtimeConnectionManager``."""

    def __enter__(self) -> Any:
        connection = super().__enter__()  # type: ignore[misc]
        _observe(connection, self.__dict__[_KEY])
        return connection

    def enter(self) -> Any:
        return self.__enter__()

    def send(self, event: Any) -> None:
        super().send(event)  # type: ignore[misc]
        self.__dict__[_KEY].early.append(event)


# reading protocol events never breaks the connection: a failure is logged and skipped


def _steps(read: Any, event: Any) -> tuple[Step, ...] | Any:
    try:
        return read(event)
    except Exception:
        logger.debug("llmhooks could not read a realtime event", exc_info=True)
        return ()


def _loss(exc: BaseException) -> tuple[bool, str, int | None, str | None] | None:
    """``(clean, reason, close code, error type)`` when ``exc`` says the websocket closed, else None."""
    try:
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK
    except ImportError:  # pragma: no cover - the SDK needs websockets to connect at all
        return None
    if not isinstance(exc, ConnectionClosed):
        return None
    frame = exc.rcvd
    if frame is None:
        return False, "no close frame received", 1006, type(exc).__name__
    clean = isinstance(exc, ConnectionClosedOK)
    reason = frame.reason or f"closed by the server with code {frame.code}"
    return clean, reason, frame.code, None if clean else type(exc).__name__


def _lost_steps(session: RealtimeSession, exc: BaseException) -> Any:
    loss = _loss(exc)
    if loss is None:
        return ()
    clean, reason, code, error_type = loss
    return session.closed(clean=clean, reason=reason, code=code, error_type=error_type)


def _abandon(session: RealtimeSession) -> None:
    """The connection object was collected (or the interpreter exits) while its session was open."""
    try:
        run_steps(session.closed(clean=False, reason="connection dropped without close()", code=None))
    except Exception:
        logger.debug("llmhooks could not end an abandoned realtime session", exc_info=True)


async def _aobserve(connection: Any, plan: _Plan) -> None:
    session = RealtimeSession(plan.callbacks, "openai", plan.model)
    steps = session.open()
    if not steps:  # nobody listens: the connection stays as the SDK made it
        return
    try:
        await arun_steps(steps)
    except BaseException:  # a start handler refused the session (Abort): do not leave it open
        await connection.close()
        raise
    session.started()
    for event in plan.early:
        await arun_steps(_steps(session.client, event))
    _patch_async(connection, session)
    weakref.finalize(connection, _abandon, session)


def _observe(connection: Any, plan: _Plan) -> None:
    session = RealtimeSession(plan.callbacks, "openai", plan.model)
    steps = session.open()
    if not steps:  # nobody listens: the connection stays as the SDK made it
        return
    try:
        run_steps(steps)
    except BaseException:
        connection.close()
        raise
    session.started()
    for event in plan.early:
        run_steps(_steps(session.client, event))
    _patch_sync(connection, session)
    weakref.finalize(connection, _abandon, session)


def _patch_async(connection: Any, session: RealtimeSession) -> None:
    """Observe one async connection: instance attributes shadow the SDK's methods."""
    send, recv, recv_bytes = connection.send, connection.recv, connection.recv_bytes
    parse_event, close = connection.parse_event, connection.close
    reading = [False]  # inside our recv: parse_event leaves the observing to it

    @functools.wraps(send)
    async def observed_send(event: Any) -> None:
        try:
            await send(event)
        except BaseException as exc:
            await arun_steps(_lost_steps(session, exc))
            raise
        await arun_steps(_steps(session.client, event))

    @functools.wraps(recv_bytes)
    async def observed_recv_bytes() -> bytes:
        try:
            return await recv_bytes()  # type: ignore[no-any-return]
        except BaseException as exc:
            await arun_steps(_lost_steps(session, exc))
            raise

    @functools.wraps(recv)
    async def observed_recv() -> Any:
        reading[0] = True
        try:
            event = await recv()
        finally:
            reading[0] = False
        await arun_steps(_steps(session.server, event))
        return event

    @functools.wraps(parse_event)
    def observed_parse_event(data: Any) -> Any:
        event = parse_event(data)
        if not reading[0]:  # the user's own recv_bytes() + parse_event(): handlers run as in sync code
            run_steps(_steps(session.server, event))
        return event

    @functools.wraps(close)
    async def observed_close(*args: Any, **kwargs: Any) -> None:
        try:
            await close(*args, **kwargs)
        finally:
            code = kwargs.get("code", 1000)
            reason = kwargs.get("reason") or "closed by the client"
            await arun_steps(session.closed(clean=True, reason=reason, code=code))

    _install(
        connection, observed_send, observed_recv, observed_recv_bytes, observed_parse_event, observed_close
    )


def _patch_sync(connection: Any, session: RealtimeSession) -> None:
    """Observe one sync connection (``recv`` reads through ``recv_bytes`` and ``parse_event``)."""
    send, recv_bytes, parse_event, close = (
        connection.send,
        connection.recv_bytes,
        connection.parse_event,
        connection.close,
    )

    @functools.wraps(send)
    def observed_send(event: Any) -> None:
        try:
            send(event)
        except BaseException as exc:
            run_steps(_lost_steps(session, exc))
            raise
        run_steps(_steps(session.client, event))

    @functools.wraps(recv_bytes)
    def observed_recv_bytes() -> bytes:
        try:
            return recv_bytes()  # type: ignore[no-any-return]
        except BaseException as exc:
            run_steps(_lost_steps(session, exc))
            raise

    @functools.wraps(parse_event)
    def observed_parse_event(data: Any) -> Any:
        event = parse_event(data)
        run_steps(_steps(session.server, event))
        return event

    @functools.wraps(close)
    def observed_close(*args: Any, **kwargs: Any) -> None:
        try:
            close(*args, **kwargs)
        finally:
            code = kwargs.get("code", 1000)
            reason = kwargs.get("reason") or "closed by the client"
            run_steps(session.closed(clean=True, reason=reason, code=code))

    _install(connection, observed_send, None, observed_recv_bytes, observed_parse_event, observed_close)


def _install(connection: Any, send: Any, recv: Any, recv_bytes: Any, parse_event: Any, close: Any) -> None:
    d = connection.__dict__
    d["send"] = send
    if recv is not None:
        d["recv"] = recv
    d["recv_bytes"] = recv_bytes
    d["parse_event"] = parse_event
    d["close"] = close
