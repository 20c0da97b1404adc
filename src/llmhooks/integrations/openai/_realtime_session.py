"""One realtime session read from its protocol events: the llmhooks events and runs it makes.

``RealtimeSession`` sees each client event a connection sends and each server event
it receives, and answers with *steps* (emit an event; start, feed, finish or fail a
run) that the connection's sync or async driver carries out, so the protocol is
read in one place for both kinds of connection. The runs:

- the session: a chain run named ``openai.realtime``, started when the connection
  opens and ended once when it closes (an error when the socket dropped);
- each response: an LLM run, child of the session, from ``response.created`` to
  ``response.done`` (tokens are the text or audio-transcript deltas; the end has
  the usage the server reports: text, audio and cached tokens); a response whose
  input items hold images is also a VLM inference (``llmhooks.vlm``).

Around them: ``RealtimeConnectedEvent`` (``session.created``), audio input and
output events (byte counts and durations always, the audio only with content
capture on), user and agent transcriptions, ``RealtimeResponseEvent`` and
``RealtimeErrorEvent``; ``RealtimeDisconnectedEvent`` when the connection ends.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from llmhooks.core import chain_run
from llmhooks.core.context import CallbacksLike, manager_for
from llmhooks.core.redaction import blank, content_captured, redact_event
from llmhooks.events import (
    Event,
    RealtimeAgentTranscriptionEvent,
    RealtimeAudioInputEvent,
    RealtimeAudioOutputEvent,
    RealtimeConnectedEvent,
    RealtimeDisconnectedEvent,
    RealtimeErrorEvent,
    RealtimeEvent,
    RealtimeResponseEvent,
    RealtimeUserTranscriptionEvent,
)
from llmhooks.llm.response import ToolCall, parse_arguments
from llmhooks.vlm import base64_size, vision_llm_run

__all__ = ["RealtimeSession", "Step", "arun_steps", "run_steps"]

logger = logging.getLogger("llmhooks")

# what a driver does for a step: (kind, event or run, payload); EMIT's payload is the manager,
# TOKEN's (text, token event fields)
EMIT, START, TOKEN, FINISH, FAIL = range(5)
Step = tuple[int, Any, Any]
NO_STEPS: tuple[Step, ...] = ()


def run_steps(steps: Sequence[Step]) -> None:
    """Carry out ``steps`` in sync code. A run already ended is not ended again."""
    for kind, target, payload in steps:
        if kind == EMIT:
            payload.emit(target)
        elif kind == TOKEN:
            target.token(payload[0], **payload[1])
        elif kind == START:
            target.start()
        elif not target.done:
            if kind == FINISH:
                target.finish(**payload)
            else:
                target.error(payload[0], **payload[1])


async def arun_steps(steps: Sequence[Step]) -> None:
    """Carry out ``steps`` in async code, awaiting async handlers."""
    for kind, target, payload in steps:
        if kind == EMIT:
            await payload.aemit(target)
        elif kind == TOKEN:
            await target.atoken(payload[0], **payload[1])
        elif kind == START:
            await target.astart()
        elif not target.done:
            if kind == FINISH:
                await target.afinish(**payload)
            else:
                await target.aerror(payload[0], **payload[1])


SESSION_NAME = "openai.realtime"
# error codes after which the session cannot go on (the server closes it)
_FATAL_CODES = frozenset({"session_expired", "invalid_api_key", "insufficient_quota", "model_not_found"})
_FATAL_TYPES = frozenset({"authentication_error", "permission_error"})
_FINISH_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


class _Format:
    """An audio format: its name, sample rate, and bytes per second of audio."""

    __slots__ = ("bytes_per_s", "name", "rate")

    def __init__(self, name: str, rate: int, bytes_per_s: int) -> None:
        self.name = name
        self.rate = rate
        self.bytes_per_s = bytes_per_s


_PCM24 = _Format("audio/pcm", 24000, 48000)  # the protocol's default: 24 kHz 16-bit mono


def _audio_format(spec: Any) -> _Format | None:
    """The format a session config names: GA ``{"type": "audio/pcm", "rate"}`` or beta ``"pcm16"``."""
    kind: Any
    rate: Any = None
    if isinstance(spec, str):
        kind = spec
    elif isinstance(spec, dict):
        kind, rate = spec.get("type"), spec.get("rate")
    else:
        return None
    if kind in ("audio/pcm", "pcm16"):
        rate = rate if isinstance(rate, int) and rate > 0 else 24000
        return _Format("audio/pcm", rate, rate * 2)
    if kind in ("audio/pcmu", "g711_ulaw"):
        return _Format("audio/pcmu", 8000, 8000)
    if kind in ("audio/pcma", "g711_alaw"):
        return _Format("audio/pcma", 8000, 8000)
    return None


def get(obj: Any, name: str) -> Any:
    """A field of a protocol event or part: a dict's key or an SDK model's attribute."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def plain(obj: Any) -> Any:
    """An SDK model as plain data (events carry plain data); dicts and others as they are."""
    to_dict = getattr(obj, "to_dict", None)
    if to_dict is not None and not isinstance(obj, dict):
        try:
            return to_dict()
        except Exception:
            return None
    return obj


def _item_for_event(item: Any) -> Any:
    """A conversation item with its input audio replaced by its size (images: ``llmhooks.vlm``)."""
    if not isinstance(item, dict) or type(item.get("content")) is not list:
        return item
    parts = []
    for part in item["content"]:
        if (
            isinstance(part, dict)
            and part.get("type") == "input_audio"
            and isinstance(part.get("audio"), str)
        ):
            part = {**part, "audio": f"<audio: {base64_size(part['audio'])} bytes>"}
        parts.append(part)
    return {**item, "content": parts}


class _Response:
    """One response in progress: its LLM run and what the session knows of it."""

    __slots__ = ("id", "item_id", "run")

    def __init__(self, rid: str, run: Any) -> None:
        self.id = rid
        self.run = run
        self.item_id: str | None = None


class RealtimeSession:
    """The state of one realtime connection, as llmhooks sees it (see the module docstring).

    ``client(event)`` and ``server(event)`` return the steps for one protocol event;
    ``closed(...)`` those that end every open run, once. Thread-safe for one sender
    and one receiver thread (the sync SDK connection allows both).
    """

    def __init__(self, callbacks: CallbacksLike, provider: str, model: str | None) -> None:
        self._callbacks = callbacks
        self.provider = provider
        self.model = model
        self._ctx = contextvars.copy_context()  # handlers and run context as when the connection opened
        self._lock = threading.Lock()
        self._mgr: Any = None
        self.run: Any = None
        self.id: str | None = None
        self.config: dict[str, Any] | None = None
        self._in = self._out = _PCM24
        self._items: list[Any] = []
        self._responses: dict[str, _Response] = {}
        self._parent: str | None = None
        self._trace: str | None = None
        self.responses = 0
        self.audio_in_ms = 0.0
        self.audio_out_ms = 0.0

    # the session run

    def open(self) -> Sequence[Step]:
        """Steps that start the session run; none when nobody listens.

        The session run (and a response's) may be a no-op run when no handler takes
        its own events: its ids still tie the realtime events together.
        """
        self._mgr = self._ctx.run(manager_for, self._callbacks)
        if self._mgr is None:
            return NO_STEPS
        run = self._ctx.run(
            chain_run,
            SESSION_NAME,
            inputs={"model": self.model},
            callbacks=self._callbacks,
            parent_run_id=self._parent,
            trace_id=self._trace,
        )
        self.run = run
        self.id = None
        self._items = []
        self.responses = 0
        self.audio_in_ms = self.audio_out_ms = 0.0
        return ((START, run, None),)

    def started(self) -> None:
        """The session run started: later sessions on this connection (reconnects) share its parent."""
        run = self.run
        if run is not None and self._trace is None:
            self._parent = run.parent_run_id
            self._trace = run.trace_id

    @property
    def live(self) -> bool:
        """True while the session run is open."""
        return self.run is not None and not self.run.done

    def _wants(self, cls: type[Event]) -> bool:
        return self._mgr is not None and self._mgr.wants(cls)

    def _event(self, cls: type[RealtimeEvent], run: Any, **fields: Any) -> Step:
        event = cls(
            run_id=run.run_id,
            parent_run_id=run.parent_run_id,
            trace_id=run.trace_id,
            user_id=run.user_id,
            tags=run.tags or [],
            metadata=run.metadata,
            provider=self.provider,
            session_id=self.id,
            **fields,
        )
        return (EMIT, redact_event(event), self._mgr)

    # client events

    def client(self, event: Any) -> Sequence[Step]:
        """Steps for a client event the connection sends."""
        kind = get(event, "type")
        if kind == "input_audio_buffer.append":
            return self._audio(get(event, "audio"), RealtimeAudioInputEvent, self._in, None, None)
        if kind == "conversation.item.create":
            item = _item_for_event(plain(get(event, "item")))
            if item is not None:
                with self._lock:
                    self._items.append(item)
        return NO_STEPS

    def _audio(
        self,
        data: Any,
        cls: type[RealtimeAudioInputEvent | RealtimeAudioOutputEvent],
        fmt: _Format,
        response: _Response | None,
        item_id: Any,
    ) -> Sequence[Step]:
        # runs for every audio chunk, both ways (bench/realtime.py)
        if type(data) is not str or self.run is None:
            return NO_STEPS
        size = base64_size(data)
        duration = size * 1000.0 / fmt.bytes_per_s
        if cls is RealtimeAudioInputEvent:
            self.audio_in_ms += duration
        else:
            self.audio_out_ms += duration
        mgr = self._mgr
        if not mgr.wants(cls):
            return NO_STEPS
        run = response.run if response is not None else self.run
        # audio events skip redaction, as token events do: their fields are sizes, ids and PCM
        event = cls(
            run_id=run.run_id,
            parent_run_id=run.parent_run_id,
            trace_id=run.trace_id,
            user_id=run.user_id,
            tags=run.tags or [],
            metadata=run.metadata,
            provider=self.provider,
            session_id=self.id,
            audio_bytes=size,
            duration_ms=duration,
            audio_format=fmt.name,
            sample_rate=fmt.rate,
            data=data if content_captured() else None,  # the protocol's base64 text: no copy
        )
        if response is not None:
            event.response_id = response.id
            event.item_id = item_id  # type: ignore[union-attr]  # responses are output only
        return ((EMIT, event, mgr),)

    # server events

    def server(self, event: Any) -> Sequence[Step]:
        """Steps for a server event the connection received."""
        kind: Any = event.get("type") if type(event) is dict else getattr(event, "type", None)
        handler = _ON_SERVER.get(kind)
        if handler is None:
            return NO_STEPS
        if not self.live:  # the SDK reconnected after a drop: a new session on the same connection
            steps = list(self.open())
            return [*steps, *handler(self, event)] if steps else NO_STEPS
        return handler(self, event)

    def _session_created(self, event: Any) -> Sequence[Step]:
        self._configure(event)
        if not self._wants(RealtimeConnectedEvent):
            return NO_STEPS
        config = self.config or {}
        return (
            self._event(
                RealtimeConnectedEvent,
                self.run,
                session_config=self._config_for_event(config),
                capabilities=_capabilities(config),
            ),
        )

    def _session_updated(self, event: Any) -> Sequence[Step]:
        self._configure(event)
        return NO_STEPS

    def _configure(self, event: Any) -> None:
        config = plain(get(event, "session"))
        if not isinstance(config, dict):
            return
        self.config = config
        self.id = config.get("id") or self.id
        self.model = config.get("model") or self.model
        audio = config.get("audio") if isinstance(config.get("audio"), dict) else {}
        self._in = (
            _audio_format(_nested(audio, "input", "format") or config.get("input_audio_format")) or self._in
        )
        self._out = (
            _audio_format(_nested(audio, "output", "format") or config.get("output_audio_format"))
            or self._out
        )

    @staticmethod
    def _config_for_event(config: dict[str, Any]) -> dict[str, Any]:
        if content_captured():
            return config
        # the instructions are the session's prompt: content, kept out unless capture is on
        return {k: (blank(v) if k in ("instructions", "prompt") else v) for k, v in config.items()}

    def _response_created(self, event: Any) -> Sequence[Step]:
        response = get(event, "response")
        rid = get(response, "id")
        if not isinstance(rid, str):
            return NO_STEPS
        with self._lock:
            items, self._items = self._items, []
        run = self._ctx.run(
            vision_llm_run,
            provider=self.provider,
            model=self.model,
            messages=items or None,
            streaming=True,
            callbacks=self._callbacks,
            parent_run_id=self.run.run_id,
            trace_id=self.run.trace_id,
            metadata={"response_id": rid},
        )
        self._responses[rid] = _Response(rid, run)
        self.responses += 1
        return ((START, run, None),)

    def _delta(self, event: Any) -> Sequence[Step]:
        response = self._responses.get(get(event, "response_id"))
        delta = get(event, "delta")
        if response is None or not delta:
            return NO_STEPS
        item_id = response.item_id = get(event, "item_id")
        # where the delta goes, as the protocol says (seed 004's chunk fields; no sequence_number here)
        where = {"item_id": item_id, "output_index": get(event, "output_index")}
        where["content_index"] = get(event, "content_index")
        return ((TOKEN, response.run, (delta, where)),)

    def _audio_delta(self, event: Any) -> Sequence[Step]:
        response = self._responses.get(get(event, "response_id"))
        return self._audio(
            get(event, "delta"), RealtimeAudioOutputEvent, self._out, response, get(event, "item_id")
        )

    def _agent_transcript(self, event: Any) -> Sequence[Step]:
        if not self._wants(RealtimeAgentTranscriptionEvent):
            return NO_STEPS
        rid = get(event, "response_id")
        response = self._responses.get(rid)
        return (
            self._event(
                RealtimeAgentTranscriptionEvent,
                response.run if response is not None else self.run,
                text=get(event, "transcript") or "",
                original=plain(event),
                item_id=get(event, "item_id"),
                response_id=rid,
            ),
        )

    def _user_transcript(self, event: Any) -> Sequence[Step]:
        if not self._wants(RealtimeUserTranscriptionEvent):
            return NO_STEPS
        return (
            self._event(
                RealtimeUserTranscriptionEvent,
                self.run,
                text=get(event, "transcript") or "",
                original=plain(event),
                item_id=get(event, "item_id"),
            ),
        )

    def _error(self, event: Any) -> Sequence[Step]:
        error = get(event, "error")
        code, kind = get(error, "code"), get(error, "type")
        if not self._wants(RealtimeErrorEvent):
            return NO_STEPS
        context = get(error, "param") or get(error, "event_id")
        return (
            self._event(
                RealtimeErrorEvent,
                self.run,
                error=get(error, "message") or code or kind or "realtime error",
                error_code=code or kind,
                error_type=kind,
                context=f"param {context}" if get(error, "param") else context,
                is_recoverable=code not in _FATAL_CODES and kind not in _FATAL_TYPES,
            ),
        )

    def _response_done(self, event: Any) -> Sequence[Step]:
        response_obj = get(event, "response")
        response = self._responses.pop(get(response_obj, "id"), None)
        if response is None:
            return NO_STEPS
        run = response.run
        status = get(response_obj, "status") or "completed"
        details = get(response_obj, "status_details")
        output = get(response_obj, "output") or ()
        text = run.text or _output_text(output)
        steps: list[Step] = []
        if self._wants(RealtimeResponseEvent):
            steps.append(
                self._event(
                    RealtimeResponseEvent,
                    run,
                    text=text,
                    response_id=response.id,
                    is_complete=status == "completed",
                    status=status,
                    original=plain(response_obj),
                    conversation_item_id=response.item_id,
                )
            )
        usage = _usage(get(response_obj, "usage"))
        if status == "failed":
            error = get(details, "error")
            code = get(error, "code") or get(error, "type")
            message = get(error, "message") or f"realtime response failed ({code or 'no reason given'})"
            recoverable = get(error, "type") != "invalid_request_error" and code not in _FATAL_CODES
            steps.append((FAIL, run, (message, {"error_code": code, "is_recoverable": recoverable})))
            return steps
        calls = _tool_calls(output)
        reason = get(details, "reason")
        if status == "cancelled":
            finish_reason: str | None = "cancelled"
        elif status == "incomplete":
            finish_reason = _FINISH_REASONS.get(reason, reason)
        else:
            finish_reason = "tool_calls" if calls else "stop"
        fields = {
            **usage,
            "response": text,
            "finish_reason": finish_reason,
            "tool_calls": calls or None,
            "incomplete": status == "cancelled",
            "item_id": response.item_id,
        }
        steps.append((FINISH, run, fields))
        return steps

    # the end

    def closed(
        self, *, clean: bool, reason: str, code: int | None, error_type: str | None = None
    ) -> Sequence[Step]:
        """Steps that end every open run once: open responses, then the session.

        A clean close ends open responses as incomplete and the session normally; a
        dropped connection fails both, recoverably (a new connection can go on).
        """
        with self._lock:
            run = self.run
            if run is None or run.done:
                return NO_STEPS
            responses = list(self._responses.values())
            self._responses.clear()
            steps: list[Step] = []
            message = f"realtime connection lost: {reason}"
            for response in responses:
                if clean:
                    steps.append(
                        (FINISH, response.run, {"incomplete": True, "finish_reason": "disconnected"})
                    )
                else:
                    llm_fields = {
                        "error_type": error_type,
                        "error_code": str(code or 1006),
                        "is_recoverable": True,
                    }
                    steps.append((FAIL, response.run, (message, llm_fields)))
            if self._wants(RealtimeDisconnectedEvent):
                steps.append(
                    self._event(
                        RealtimeDisconnectedEvent, run, reason=reason, was_clean=clean, close_code=code
                    )
                )
            if clean:
                steps.append((FINISH, run, {"result": self._summary()}))
            else:
                steps.append((FAIL, run, (message, {"error_type": error_type})))
            # the steps end the run; marking it here keeps a second close from ending it twice
            self.run = _Ended(run)
            return steps

    def _summary(self) -> dict[str, Any]:
        return {
            "session": self.id,  # not "session_id": redaction takes that key for a web session secret
            "responses": self.responses,
            "audio_in_ms": round(self.audio_in_ms, 3),
            "audio_out_ms": round(self.audio_out_ms, 3),
        }


class _Ended:
    """Stands for a session run whose terminal step is on its way: nothing more is started on it."""

    __slots__ = ("_run",)
    done = True

    def __init__(self, run: Any) -> None:
        self._run = run

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)


def _nested(d: Any, *keys: str) -> Any:
    """``d[k1][k2]...``, or None where a level is missing or not a dict."""
    for key in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _capabilities(config: dict[str, Any]) -> list[str]:
    """What the session can do: its output modalities, and tools, transcription, turn detection."""
    caps = [
        m for m in config.get("output_modalities") or config.get("modalities") or () if isinstance(m, str)
    ]
    audio_in = _nested(config, "audio", "input") or {}
    if config.get("tools"):
        caps.append("tools")
    if audio_in.get("transcription") or config.get("input_audio_transcription"):
        caps.append("transcription")
    if audio_in.get("turn_detection") or config.get("turn_detection"):
        caps.append("turn_detection")
    return caps


def _usage(usage: Any) -> dict[str, Any]:
    """The server's usage as ``LLMEndEvent`` fields (input counts include cached and audio tokens)."""
    if usage is None:
        return {}
    inp, out = get(usage, "input_token_details"), get(usage, "output_token_details")
    return {
        "input_tokens": get(usage, "input_tokens"),
        "output_tokens": get(usage, "output_tokens"),
        "total_tokens": get(usage, "total_tokens"),
        "cached_input_tokens": get(inp, "cached_tokens"),
        "input_audio_tokens": get(inp, "audio_tokens"),
        "output_audio_tokens": get(out, "audio_tokens"),
    }


def _output_text(output: Any) -> str:
    """The text or audio transcript of a response's output items."""
    parts = []
    for item in output:
        for part in get(item, "content") or ():
            text = get(part, "text") or get(part, "transcript")
            if isinstance(text, str):
                parts.append(text)
    return "".join(parts)


def _tool_calls(output: Any) -> list[dict[str, Any]]:
    calls = []
    for item in output:
        if get(item, "type") == "function_call":
            call = ToolCall(
                id=str(get(item, "call_id") or ""),
                name=str(get(item, "name") or ""),
                arguments=parse_arguments(get(item, "arguments")),
            )
            calls.append(call.to_dict())
    return calls


_ON_SERVER: dict[str, Callable[[RealtimeSession, Any], Sequence[Step]]] = {
    "session.created": RealtimeSession._session_created,
    "session.updated": RealtimeSession._session_updated,
    "response.created": RealtimeSession._response_created,
    "response.output_text.delta": RealtimeSession._delta,
    "response.text.delta": RealtimeSession._delta,  # the names before the GA protocol
    "response.output_audio_transcript.delta": RealtimeSession._delta,
    "response.audio_transcript.delta": RealtimeSession._delta,
    "response.output_audio.delta": RealtimeSession._audio_delta,
    "response.audio.delta": RealtimeSession._audio_delta,
    "response.output_audio_transcript.done": RealtimeSession._agent_transcript,
    "response.audio_transcript.done": RealtimeSession._agent_transcript,
    "conversation.item.input_audio_transcription.completed": RealtimeSession._user_transcript,
    "response.done": RealtimeSession._response_done,
    "error": RealtimeSession._error,
}
