"""LLM call events: start, streamed token, end, error."""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events.base import ErrorInfo, Event
from llmhooks.events.classify import classify_error

__all__ = ["LLMEndEvent", "LLMErrorEvent", "LLMEvent", "LLMStartEvent", "LLMTokenEvent"]


class LLMEvent(Event):
    """Base of the LLM family; every event of an LLM run names provider and model."""

    provider: str | None = None
    model: str | None = None


class LLMStartEvent(LLMEvent):
    """An LLM call is about to be made."""

    type: ClassVar[str] = "llm.start"
    messages: list[Any] | None = None
    prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    tools: list[Any] | None = None
    streaming: bool = False
    params: dict[str, Any] | None = None


class LLMTokenEvent(LLMEvent):
    """One streamed text delta; ``index`` counts 0, 1, 2, ... within the run."""

    type: ClassVar[str] = "llm.token"
    token: str = ""
    index: int = 0
    is_first: bool = False
    time_to_first_token_ms: float | None = None
    # where the delta sits in a Responses-style stream (seed 004's chunk fields), when known
    content_index: int | None = None
    item_id: str | None = None
    output_index: int | None = None
    sequence_number: int | None = None


class LLMEndEvent(LLMEvent):
    """An LLM call completed (``incomplete=True`` when a stream was stopped early).

    Token convention: ``input_tokens`` counts every prompt token, cached ones included;
    ``cached_input_tokens`` is the part read from the provider's cache and
    ``cache_write_input_tokens`` the part written to it; ``reasoning_tokens`` are part
    of ``output_tokens``; ``input_audio_tokens`` and ``output_audio_tokens`` (realtime
    voice) are the audio parts of each. ``usage_estimated`` is True when counts were
    estimated. ``response_id`` and ``response_model`` are the id and model name the
    provider's answer gave (a dated snapshot of the requested model, say), when it gave them.
    """

    type: ClassVar[str] = "llm.end"
    terminal: ClassVar[bool] = True
    response: Any = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    reasoning_tokens: int | None = None
    input_audio_tokens: int | None = None
    output_audio_tokens: int | None = None
    usage_estimated: bool = False
    latency_ms: float | None = None
    time_to_first_token_ms: float | None = None
    finish_reason: str | None = None
    tool_calls: list[Any] | None = None
    cost: float | None = None
    incomplete: bool = False
    item_id: str | None = None
    original: Any = None
    response_id: str | None = None
    response_model: str | None = None


class LLMErrorEvent(ErrorInfo, LLMEvent):
    """An LLM call failed or was cancelled.

    Built by hand from an exception with neither ``error_code`` nor ``is_recoverable``,
    both are derived from it by the rules runs use (``llmhooks.events.classify``).
    """

    type: ClassVar[str] = "llm.error"
    terminal: ClassVar[bool] = True
    error: BaseException | str | None = None
    error_type: str | None = None
    error_code: str | None = None
    is_recoverable: bool = False
    cancelled: bool = False
    latency_ms: float | None = None
    context: str | None = None

    def __post_init__(self) -> None:
        ErrorInfo.__post_init__(self)
        error = self.error
        if self.error_code is None and not self.is_recoverable and isinstance(error, BaseException):
            self.error_code, self.is_recoverable = classify_error(error)
