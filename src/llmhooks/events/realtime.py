"""Realtime (voice) session events, after seed 004."""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from llmhooks.events.base import ErrorInfo, Event

__all__ = [
    "RealtimeAgentTranscriptionEvent",
    "RealtimeAudioInputEvent",
    "RealtimeAudioOutputEvent",
    "RealtimeConnectedEvent",
    "RealtimeDisconnectedEvent",
    "RealtimeErrorEvent",
    "RealtimeEvent",
    "RealtimeResponseEvent",
    "RealtimeUserTranscriptionEvent",
]


def _decoded(data: Any) -> bytes | None:
    if isinstance(data, str):
        return base64.b64decode(data)
    return bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else None


class RealtimeEvent(Event):
    """Base of the realtime family."""

    provider: str | None = None
    session_id: str | None = None


class RealtimeConnectedEvent(RealtimeEvent):
    """A realtime session was opened."""

    type: ClassVar[str] = "realtime.connected"
    session_config: dict[str, Any] | None = None
    capabilities: list[str] | None = None


class RealtimeDisconnectedEvent(RealtimeEvent):
    """A realtime session was closed."""

    type: ClassVar[str] = "realtime.disconnected"
    terminal: ClassVar[bool] = True
    reason: str | None = None
    was_clean: bool = True
    close_code: int | None = None


class RealtimeAudioInputEvent(RealtimeEvent):
    """Audio was sent to the session.

    ``audio_bytes`` and ``duration_ms`` (from the session's audio format) are always
    set; ``data`` only when content capture is on: the audio as the protocol carries
    it (base64 text, the very string sent, so nothing is copied), ``audio`` decoded.
    """

    type: ClassVar[str] = "realtime.audio_input"
    data: Any = None
    response_id: str | None = None
    audio_bytes: int = 0
    duration_ms: float | None = None
    audio_format: str | None = None
    sample_rate: int | None = None

    @property
    def audio(self) -> bytes | None:
        """``data`` decoded to bytes (``None`` without content capture)."""
        return _decoded(self.data)


class RealtimeAudioOutputEvent(RealtimeEvent):
    """Audio came back from the session; fields as for ``RealtimeAudioInputEvent``."""

    type: ClassVar[str] = "realtime.audio_output"
    data: Any = None
    response_id: str | None = None
    audio_bytes: int = 0
    duration_ms: float | None = None
    audio_format: str | None = None
    sample_rate: int | None = None
    item_id: str | None = None

    @property
    def audio(self) -> bytes | None:
        """``data`` decoded to bytes (``None`` without content capture)."""
        return _decoded(self.data)


class RealtimeResponseEvent(RealtimeEvent):
    """The session produced (part of) a response."""

    type: ClassVar[str] = "realtime.response"
    text: str | None = None
    response_id: str | None = None
    is_complete: bool = True
    original: Any = None
    status: str | None = None
    conversation_item_id: str | None = None


class RealtimeUserTranscriptionEvent(RealtimeEvent):
    """A transcription of the user's speech."""

    type: ClassVar[str] = "realtime.user_transcription"
    text: str = ""
    original: Any = None
    item_id: str | None = None


class RealtimeAgentTranscriptionEvent(RealtimeEvent):
    """A transcription of the agent's speech."""

    type: ClassVar[str] = "realtime.agent_transcription"
    text: str = ""
    original: Any = None
    item_id: str | None = None
    response_id: str | None = None


class RealtimeErrorEvent(ErrorInfo, RealtimeEvent):
    """A realtime session reported an error."""

    type: ClassVar[str] = "realtime.error"
    error: BaseException | str | None = None
    error_code: str | None = None
    error_type: str | None = None
    context: str | None = None
    is_recoverable: bool = True
