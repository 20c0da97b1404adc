"""Vision-language model inference events, after seed 004."""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events.base import ErrorInfo, Event

__all__ = ["VLMErrorEvent", "VLMEvent", "VLMInferenceCompletedEvent", "VLMInferenceStartEvent"]


class VLMEvent(Event):
    """Base of the VLM family."""

    inference_id: str | None = None
    provider: str | None = None
    model: str | None = None


class VLMInferenceStartEvent(VLMEvent):
    """An inference over ``frames_count`` frames (images) started.

    ``image_bytes`` is the decoded size of the images sent inline (base64, data
    URLs); images given by URL or file id count 0. Image data is never in an event.
    """

    type: ClassVar[str] = "vlm.inference_start"
    frames_count: int = 0
    image_bytes: int = 0


class VLMInferenceCompletedEvent(VLMEvent):
    """An inference completed."""

    type: ClassVar[str] = "vlm.inference_completed"
    terminal: ClassVar[bool] = True
    text: str = ""
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    frames_processed: int = 0
    detections: Any = 0


class VLMErrorEvent(ErrorInfo, VLMEvent):
    """An inference failed."""

    type: ClassVar[str] = "vlm.error"
    terminal: ClassVar[bool] = True
    error: BaseException | str | None = None
    error_type: str | None = None
    error_code: str | None = None
    is_recoverable: bool = True
    cancelled: bool = False
    latency_ms: float | None = None
    context: str | None = None
