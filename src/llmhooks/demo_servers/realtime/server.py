"""The realtime demo server: ``websockets`` in a daemon thread, answering client events as scripted.

It speaks the GA Realtime protocol as the official SDK expects it on
``websocket_base_url + "/realtime?model=..."``: ``session.created`` on connect,
``session.updated`` for ``session.update``, ``input_audio_buffer.committed`` and the
user's transcription for ``input_audio_buffer.commit``, ``conversation.item.added``/
``.done`` for ``conversation.item.create``, and for ``response.create`` the next
scripted ``Turn`` (``response.created``, audio and transcript or text deltas,
``response.done`` with usage) or ``ServerError``. With nothing scripted a response
echoes what the server last heard. ``push`` sends any server event; ``close_all``
closes every connection cleanly and ``drop_all`` cuts them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from llmhooks.demo_servers.realtime.script import ServerError, Turn
from llmhooks.errors import MissingExtraError

try:
    from websockets.asyncio.server import Server, ServerConnection, serve
    from websockets.exceptions import ConnectionClosed
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "RealtimeDemoServer needs 'websockets': pip install 'llmhooks[realtime]'"
    ) from None

__all__ = ["RealtimeDemoServer"]

_DEFAULT_SESSION: dict[str, Any] = {
    "type": "realtime",
    "object": "realtime.session",
    "output_modalities": ["audio"],
    "instructions": "You are a helpful assistant.",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "gpt-4o-transcribe"},
            "turn_detection": None,
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
    },
}


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in update.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@dataclass
class _Conn:
    """One client connection's state."""

    ws: ServerConnection
    model: str | None
    session: dict[str, Any]
    audio: bytearray = field(default_factory=bytearray)
    heard: str = ""


class RealtimeDemoServer:
    """A local Realtime websocket server; ``url`` is the SDK's ``websocket_base_url``.

    Thread-safe scripting: ``reply``/``script`` queue answers taken by ``response.create``
    in order; ``received`` lists every client event (parsed JSON) in arrival order.
    """

    def __init__(self, user_transcript: str | None = None) -> None:
        self.user_transcript = user_transcript
        self._lock = threading.Lock()
        self._queue: list[Turn | ServerError] = []
        self._received: list[dict[str, Any]] = []
        self._conns: list[_Conn] = []
        self.connections = 0
        self.headers: list[dict[str, str]] = []
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    # lifecycle

    def start(self) -> Self:
        """Bind to a free port on 127.0.0.1 and serve in a daemon thread."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def listen() -> Server:
                return await serve(self._handle, "127.0.0.1", 0, max_size=None, compression=None)

            try:
                self._server = loop.run_until_complete(listen())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=main, name="llmhooks-realtime-demo", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket; join the thread."""
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def shut() -> None:
            server.close()
            await server.wait_closed()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shut(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT/v1``: pass as ``websocket_base_url``."""
        if self._server is None:
            raise RuntimeError("server is not running")
        host, port = next(iter(self._server.sockets)).getsockname()[:2]
        return f"ws://{host}:{port}/v1"

    # scripting

    def script(self, *answers: Turn | ServerError) -> None:
        """Queue answers for the next ``response.create`` events, in order."""
        with self._lock:
            self._queue.extend(answers)

    def reply(self, text: str | None = None, **fields: Any) -> None:
        """Queue one ``Turn(text, **fields)``."""
        self.script(Turn(text, **fields))

    def reset(self) -> None:
        """Forget queued answers and recorded events."""
        with self._lock:
            self._queue.clear()
            self._received.clear()
            self.headers.clear()
            self.connections = 0

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every client event received so far, in order."""
        with self._lock:
            return list(self._received)

    def received_types(self) -> list[str]:
        """The ``type`` of every client event received so far."""
        return [str(e.get("type")) for e in self.received]

    def push(self, event: dict[str, Any]) -> None:
        """Send ``event`` (a server event dict) on every open connection; returns once sent."""
        self._call(self._push(event))

    def close_all(self, code: int = 1000, reason: str = "") -> None:
        """Close every open connection cleanly (a close frame with ``code`` and ``reason``)."""
        self._call(self._close_all(code, reason))

    def drop_all(self) -> None:
        """Cut every open connection's TCP stream without a close frame."""
        self._call(self._drop_all())

    def _call(self, coro: Any) -> None:
        if self._loop is None:
            raise RuntimeError("server is not running")
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)

    async def _push(self, event: dict[str, Any]) -> None:
        for conn in list(self._conns):
            with contextlib.suppress(ConnectionClosed):
                await self._send(conn, dict(event))

    async def _close_all(self, code: int, reason: str) -> None:
        for conn in list(self._conns):
            await conn.ws.close(code, reason)

    async def _drop_all(self) -> None:
        for conn in list(self._conns):
            conn.ws.transport.abort()

    # the protocol

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    async def _send(self, conn: _Conn, event: dict[str, Any]) -> None:
        event.setdefault("event_id", self._id("event"))
        await conn.ws.send(json.dumps(event))

    async def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        path = urlsplit(request.path if request is not None else "")
        models = parse_qs(path.query).get("model")
        model = models[0] if models else None
        session = {**_DEFAULT_SESSION, "id": self._id("sess"), "model": model}
        conn = _Conn(ws, model, session)
        with self._lock:
            self.connections += 1
            self.headers.append({k.lower(): v for k, v in (request.headers.raw_items() if request else ())})
            self._conns.append(conn)
        try:
            await self._send(conn, {"type": "session.created", "session": session})
            async for message in ws:
                event = json.loads(message)
                with self._lock:
                    self._received.append(event)
                await self._on(conn, event)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._conns.remove(conn)

    async def _on(self, conn: _Conn, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "session.update":
            conn.session = _merge(conn.session, event.get("session") or {})
            await self._send(conn, {"type": "session.updated", "session": conn.session})
        elif kind == "input_audio_buffer.append":
            conn.audio.extend(base64.b64decode(event.get("audio") or ""))
        elif kind == "input_audio_buffer.commit":
            item_id = self._id("item")
            await self._send(conn, {"type": "input_audio_buffer.committed", "item_id": item_id})
            heard = self.user_transcript or f"({len(conn.audio)} bytes of speech)"
            conn.audio.clear()
            conn.heard = heard
            await self._send(
                conn,
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    "item_id": item_id,
                    "content_index": 0,
                    "transcript": heard,
                    "usage": {"type": "duration", "seconds": 1.0},
                },
            )
        elif kind == "conversation.item.create":
            item = {**(event.get("item") or {}), "id": self._id("item"), "status": "completed"}
            texts = [p.get("text", "") for p in item.get("content") or () if p.get("type") == "input_text"]
            if texts:
                conn.heard = " ".join(texts)
            await self._send(conn, {"type": "conversation.item.added", "item": item})
            await self._send(conn, {"type": "conversation.item.done", "item": item})
        elif kind == "response.create":
            with self._lock:
                answer = self._queue.pop(0) if self._queue else Turn()
            if isinstance(answer, ServerError):
                await self._error(conn, answer, event)
            else:
                modalities = (event.get("response") or {}).get("output_modalities") or conn.session.get(
                    "output_modalities"
                )
                await self._respond(conn, answer, "audio" in (modalities or ()))
        elif kind == "response.cancel":
            pass  # the scripted turn decides how a response ends

    async def _error(self, conn: _Conn, answer: ServerError, cause: dict[str, Any]) -> None:
        error = {"type": answer.type, "code": answer.code, "message": answer.message, "param": answer.param}
        error["event_id"] = cause.get("event_id")
        await self._send(conn, {"type": "error", "error": error})
        if answer.close is not None:
            await conn.ws.close(*answer.close)

    async def _respond(self, conn: _Conn, turn: Turn, audio: bool) -> None:
        text = turn.text if turn.text is not None else f"You said: {conn.heard or 'nothing'}"
        rid, item_id = self._id("resp"), self._id("item")
        for sent, event in enumerate(self._response_events(turn, text, rid, item_id, audio)):
            if turn.drop_after is not None and sent >= turn.drop_after:
                conn.ws.transport.abort()
                return
            await self._send(conn, event)
        if turn.close is not None:
            await conn.ws.close(*turn.close)

    def _response_events(
        self, turn: Turn, text: str, rid: str, item_id: str, audio: bool
    ) -> Iterator[dict[str, Any]]:
        base = {"response_id": rid, "item_id": item_id, "output_index": 0, "content_index": 0}
        modalities = ["audio"] if audio else ["text"]
        yield {
            "type": "response.created",
            "response": {
                "id": rid,
                "object": "realtime.response",
                "status": "in_progress",
                "output": [],
                "output_modalities": modalities,
            },
        }
        words = [w if i == 0 else " " + w for i, w in enumerate(text.split(" "))] if text else []
        if audio:
            chunks = max(turn.audio_chunks, 1)
            per = -(-len(words) // chunks) if words else 0
            for i in range(turn.audio_chunks):
                pcm = bytes((i + j) % 256 for j in range(turn.chunk_bytes))
                yield {**base, "type": "response.output_audio.delta", "delta": base64.b64encode(pcm).decode()}
                for word in words[i * per : (i + 1) * per]:
                    yield {**base, "type": "response.output_audio_transcript.delta", "delta": word}
            yield {**base, "type": "response.output_audio.done"}
            yield {**base, "type": "response.output_audio_transcript.done", "transcript": text}
            part = {"type": "output_audio", "transcript": text}
        else:
            for word in words:
                yield {**base, "type": "response.output_text.delta", "delta": word}
            yield {**base, "type": "response.output_text.done", "text": text}
            part = {"type": "output_text", "text": text}
        output: list[dict[str, Any]] = [
            {"id": item_id, "type": "message", "role": "assistant", "status": "completed", "content": [part]}
        ]
        if turn.function_call is not None:
            name, arguments = turn.function_call
            output.append(
                {
                    "id": self._id("item"),
                    "type": "function_call",
                    "call_id": self._id("call"),
                    "name": name,
                    "arguments": arguments,
                    "status": "completed",
                }
            )
        details: dict[str, Any] = {"type": turn.status, "reason": turn.reason}
        if turn.status == "failed":
            details["error"] = {
                "type": "server_error",
                "code": turn.error_code,
                "message": turn.error_message,
            }
        text_in = turn.input_text_tokens
        if text_in is None:
            text_in = turn.input_tokens - turn.input_audio_tokens - turn.input_image_tokens
        output_tokens = turn.output_tokens
        if output_tokens is None:
            output_tokens = turn.output_text_tokens + turn.output_audio_tokens
        usage = {
            "total_tokens": turn.input_tokens + output_tokens,
            "input_tokens": turn.input_tokens,
            "output_tokens": output_tokens,
            "input_token_details": {
                "text_tokens": text_in,
                "audio_tokens": turn.input_audio_tokens,
                "image_tokens": turn.input_image_tokens,
                "cached_tokens": turn.cached_tokens,
                "cached_tokens_details": {
                    "text_tokens": turn.cached_tokens - turn.cached_audio_tokens,
                    "audio_tokens": turn.cached_audio_tokens,
                    "image_tokens": 0,
                },
            },
            "output_token_details": {
                "text_tokens": turn.output_text_tokens,
                "audio_tokens": turn.output_audio_tokens,
            },
        }
        yield {
            "type": "response.done",
            "response": {
                "id": rid,
                "object": "realtime.response",
                "status": turn.status,
                "status_details": details,
                "output": output,
                "output_modalities": modalities,
                "usage": usage,
            },
        }
