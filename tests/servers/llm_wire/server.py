"""The scripted fake LLM HTTP server (stdlib only): OpenAI Chat/Responses and Anthropic Messages."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType, TracebackType
from typing import Any, Self

from . import anthropic_messages, openai_chat, openai_responses
from .script import (
    Behaviour,
    CutStream,
    Failure,
    FinishReason,
    Ids,
    Malformed,
    Reply,
    SSEEvent,
    StreamError,
    ToolCall,
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received. ``headers`` keys are lower-case; ``body`` is parsed JSON or None."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    raw: bytes

    @property
    def json(self) -> dict[str, Any]:
        """The body as a dict (``{}`` when it was not a JSON object)."""
        return self.body if isinstance(self.body, dict) else {}


@dataclass(frozen=True)
class _Api:
    user_text: Callable[[dict[str, Any]], str]
    complete: Callable[[Reply, str, str, Ids, dict[str, Any]], dict[str, Any]]
    stream: Callable[[Reply, str, str, Ids, dict[str, Any]], list[SSEEvent]]
    error_body: Callable[[int, str | None, str | None, str | None], dict[str, Any]]
    stream_error: Callable[[str, str | None, int], SSEEvent]


def _api(module: ModuleType) -> _Api:
    return _Api(module.user_text, module.complete, module.stream, module.error_body, module.stream_error)


_APIS: dict[str, _Api] = {m.PATH: _api(m) for m in (openai_chat, openai_responses, anthropic_messages)}


@dataclass
class _Entry:
    behaviour: Behaviour
    match: str | None
    remaining: int


@dataclass
class _State:
    entries: list[_Entry] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    count: int = 0


class _Dropped(Exception):
    """Raised after closing the connection on purpose, to abandon the answer."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # small answers would otherwise wait ~40 ms for the client's delayed ACK
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_POST(self) -> None:
        """Dispatch to the owning server."""
        self.server.owner._handle(self)

    do_GET = do_POST
    do_DELETE = do_POST


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: LLMWireServer, address: tuple[str, int]) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients dropping keep-alive connections is normal here: no traceback."""


class LLMWireServer:
    """A local server speaking the OpenAI and Anthropic wire protocols, answering as scripted.

    Each scripting call queues one behaviour (``times`` copies); each API request takes the first
    queued behaviour whose ``match`` text occurs in its last user message, else the first one without
    ``match``, else echoes the last user message. Usage: ``with LLMWireServer() as srv: ...``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._lock = threading.Lock()
        self._state = _State()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and serve in a daemon thread."""
        if self._httpd is None:
            self._httpd = _HTTPServer(self, self._address)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="llm-wire", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open (keep-alive or streaming) connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        for conn in list(httpd.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (Anthropic SDK's ``base_url``)."""
        if self._httpd is None:
            raise RuntimeError("server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"`` (OpenAI SDK's ``base_url``)."""
        return self.base_url + "/v1"

    # -- scripting -------------------------------------------------------------------------

    def script(self, behaviour: Behaviour, *, match: str | None = None, times: int = 1) -> None:
        """Queue a behaviour object: ``Reply``, ``Failure``, ``Malformed``, ``CutStream``, ``StreamError``."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._state.entries.append(_Entry(behaviour, match, times))

    def reply(
        self,
        text: str | None = None,
        *,
        tool_calls: tuple[ToolCall, ...] | list[ToolCall] = (),
        finish_reason: FinishReason | None = None,
        input_tokens: int = 10,
        output_tokens: int = 5,
        cached_tokens: int = 0,
        cache_creation_tokens: int = 0,
        reasoning_tokens: int = 0,
        model: str | None = None,
        chunk_delay: float = 0.0,
        match: str | None = None,
        times: int = 1,
    ) -> None:
        """Queue a successful answer (``text=None`` echoes the user; streamed word by word)."""
        self.script(
            Reply(
                text=text,
                tool_calls=tuple(tool_calls),
                finish_reason=finish_reason,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cached_tokens=cached_tokens,
                cache_creation_tokens=cache_creation_tokens,
                reasoning_tokens=reasoning_tokens,
                model=model,
                chunk_delay=chunk_delay,
            ),
            match=match,
            times=times,
        )

    def reply_tool_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | str | None = None,
        *,
        call_id: str | None = None,
        text: str = "",
        match: str | None = None,
        times: int = 1,
        **fields: Any,
    ) -> None:
        """Queue an answer calling one tool; ``fields`` are other ``Reply`` fields (token counts...)."""
        call = ToolCall(name=name, arguments={} if arguments is None else arguments, call_id=call_id)
        self.script(Reply(text=text, tool_calls=(call,), **fields), match=match, times=times)

    def fail(
        self,
        status: int = 500,
        *,
        message: str | None = None,
        error_type: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        retry_after_ms: float | None = None,
        body: bytes | str | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        match: str | None = None,
        times: int = 1,
    ) -> None:
        """Queue an HTTP error in the API's JSON error shape (``body`` replaces it verbatim)."""
        failure = Failure(
            status, message, error_type, code, retry_after, retry_after_ms, body, dict(headers or {})
        )
        self.script(failure, match=match, times=times)

    def malformed_json(self, body: bytes | None = None, *, match: str | None = None, times: int = 1) -> None:
        """Queue a 200 answer with a broken JSON body (one broken SSE ``data:`` line when streaming)."""
        self.script(Malformed() if body is None else Malformed(body), match=match, times=times)

    def cut_stream(
        self, after_chunks: int = 2, *, reply: Reply | None = None, match: str | None = None, times: int = 1
    ) -> None:
        """Queue an answer cut off after ``after_chunks`` SSE events (mid-body when not streaming)."""
        self.script(CutStream(after_chunks, reply or Reply()), match=match, times=times)

    def stream_error(
        self,
        after_chunks: int = 2,
        message: str = "Overloaded",
        *,
        error_type: str | None = None,
        reply: Reply | None = None,
        match: str | None = None,
        times: int = 1,
    ) -> None:
        """Queue a stream that sends an in-stream error event after ``after_chunks`` events."""
        self.script(
            StreamError(after_chunks, message, error_type, reply or Reply()), match=match, times=times
        )

    def reset(self) -> None:
        """Forget queued behaviours and recorded requests."""
        with self._lock:
            self._state = _State()

    @property
    def pending(self) -> int:
        """How many scripted answers are still queued."""
        with self._lock:
            return sum(e.remaining for e in self._state.entries)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far (a copy), oldest first."""
        with self._lock:
            return list(self._state.requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request."""
        with self._lock:
            if not self._state.requests:
                raise LookupError("no request received")
            return self._state.requests[-1]

    # -- serving ---------------------------------------------------------------------------

    def _take(self, user_text: str) -> Behaviour | None:
        with self._lock:
            entries = self._state.entries
            found = next((e for e in entries if e.match is not None and e.match in user_text), None)
            found = found or next((e for e in entries if e.match is None), None)
            if found is None:
                return None
            found.remaining -= 1
            if found.remaining == 0:
                entries.remove(found)
            return found.behaviour

    def _handle(self, h: _Handler) -> None:
        raw = _read_body(h)
        path, _, query = h.path.partition("?")
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest(
            h.command, path, query, {k.lower(): v for k, v in h.headers.items()}, body, raw
        )
        with self._lock:
            self._state.requests.append(request)
            self._state.count += 1
            ids = Ids(self._state.count)
        headers = {"x-request-id": f"req_{ids.n}", "request-id": f"req_{ids.n}"}
        api = _APIS.get(path)
        if api is None or h.command != "POST":
            error = openai_chat.error_body(404, f"Unknown path {h.command} {path}", None, None)
            _send(h, 404, json.dumps(error).encode(), headers)
            return
        data = request.json
        user_text = api.user_text(data)
        behaviour = self._take(user_text)
        try:
            _answer(h, api, behaviour or Reply(), data, user_text, ids, headers)
        except (_Dropped, BrokenPipeError, ConnectionResetError):
            h.close_connection = True


def _answer(
    h: _Handler,
    api: _Api,
    behaviour: Behaviour,
    data: dict[str, Any],
    user_text: str,
    ids: Ids,
    headers: dict[str, str],
) -> None:
    """Write the scripted behaviour as this API's HTTP answer."""
    streaming = data.get("stream") is True
    if isinstance(behaviour, Failure):
        _send_failure(h, api, behaviour, headers)
        return
    if isinstance(behaviour, Malformed):
        if streaming:
            broken = behaviour.body.decode(errors="replace").replace("\n", " ")
            _send_stream(h, [SSEEvent(broken)], headers)
        else:
            _send(h, behaviour.status, behaviour.body, headers)
        return
    reply = behaviour if isinstance(behaviour, Reply) else behaviour.reply
    text = user_text if reply.text is None else reply.text
    model = reply.model or str(data.get("model") or "llm-wire-model")
    if not streaming:
        payload = json.dumps(api.complete(reply, text, model, ids, data)).encode()
        if isinstance(behaviour, CutStream):
            _send(h, 200, payload, headers, cut_at=len(payload) // 2)
        else:
            _send(h, 200, payload, headers)
        return
    events = api.stream(reply, text, model, ids, data)
    if isinstance(behaviour, CutStream):
        _send_stream(h, events[: behaviour.after_chunks], headers, delay=reply.chunk_delay, cut=True)
    elif isinstance(behaviour, StreamError):
        n = behaviour.after_chunks
        error = api.stream_error(behaviour.message, behaviour.error_type, n)
        _send_stream(h, [*events[:n], error], headers, delay=reply.chunk_delay)
    else:
        _send_stream(h, events, headers, delay=reply.chunk_delay)


def _send_failure(h: _Handler, api: _Api, failure: Failure, headers: dict[str, str]) -> None:
    extra = dict(headers)
    if failure.retry_after is not None:
        extra["retry-after"] = f"{failure.retry_after:g}"
    if failure.retry_after_ms is not None:
        extra["retry-after-ms"] = f"{failure.retry_after_ms:g}"
    extra.update(failure.headers)
    if failure.body is None:
        payload = json.dumps(
            api.error_body(failure.status, failure.message, failure.error_type, failure.code)
        ).encode()
    elif isinstance(failure.body, bytes):
        payload = failure.body
    elif isinstance(failure.body, str):
        payload = failure.body.encode()
    else:
        payload = json.dumps(dict(failure.body)).encode()
    _send(h, failure.status, payload, extra)


def _read_body(h: _Handler) -> bytes:
    """Read the request body (Content-Length or chunked)."""
    if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(h.rfile.read(size))
            h.rfile.readline()
    length = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(length) if length else b""


def _send(
    h: _Handler, status: int, payload: bytes, headers: Mapping[str, str], *, cut_at: int | None = None
) -> None:
    """Send a whole JSON answer; with ``cut_at``, send only that many bytes and drop the connection."""
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(payload)))
    for key, value in headers.items():
        h.send_header(key, value)
    h.end_headers()
    if cut_at is None:
        h.wfile.write(payload)
        return
    h.wfile.write(payload[:cut_at])
    _drop(h)


def _send_stream(
    h: _Handler, events: list[SSEEvent], headers: Mapping[str, str], *, delay: float = 0.0, cut: bool = False
) -> None:
    """Send SSE events one HTTP chunk each (flushed as written); ``cut`` drops before the final chunk."""
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream; charset=utf-8")
    h.send_header("Cache-Control", "no-cache")
    h.send_header("Transfer-Encoding", "chunked")
    for key, value in headers.items():
        h.send_header(key, value)
    h.end_headers()
    for i, event in enumerate(events):
        if delay and i:
            time.sleep(delay)
        data = event.encode()
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        h.wfile.flush()
    if cut:
        _drop(h)
    h.wfile.write(b"0\r\n\r\n")


def _drop(h: _Handler) -> None:
    """Close the connection abruptly, before the answer is complete."""
    h.close_connection = True
    h.wfile.flush()
    with contextlib.suppress(OSError):
        h.connection.shutdown(socket.SHUT_RDWR)
    raise _Dropped
