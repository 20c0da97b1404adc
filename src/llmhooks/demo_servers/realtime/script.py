"""What the realtime demo server answers: one ``Turn`` or ``ServerError`` per ``response.create``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["completed", "cancelled", "failed", "incomplete"]


@dataclass(frozen=True)
class Turn:
    """One response: its text (``None`` echoes what the server last heard), audio and usage.

    ``drop_after``: send that many of the response's server events, then cut the TCP
    connection without a close frame. ``close``: after ``response.done``, close the
    websocket cleanly with ``(code, reason)``.
    """

    text: str | None = None
    audio_chunks: int = 2
    chunk_bytes: int = 4800  # 100 ms of 24 kHz 16-bit mono PCM
    input_tokens: int = 30
    input_text_tokens: int | None = None  # default: input_tokens - input_audio_tokens - image tokens
    input_audio_tokens: int = 20
    input_image_tokens: int = 0
    cached_tokens: int = 0
    cached_audio_tokens: int = 0
    output_tokens: int | None = None  # default: output_text_tokens + output_audio_tokens
    output_text_tokens: int = 5
    output_audio_tokens: int = 15
    status: Status = "completed"
    reason: str | None = None  # status_details.reason for cancelled/incomplete
    error_code: str | None = None  # status_details.error for failed
    error_message: str | None = None
    function_call: tuple[str, str] | None = None  # (name, arguments JSON): a function_call output item
    drop_after: int | None = None
    close: tuple[int, str] | None = None


@dataclass(frozen=True)
class ServerError:
    """Answer a ``response.create`` with an ``error`` server event (then optionally close)."""

    message: str
    code: str | None = None
    type: str = "invalid_request_error"
    param: str | None = None
    close: tuple[int, str] | None = None
