"""Retrieval run events: start, end, error."""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events.base import ErrorInfo, Event

__all__ = ["RetrievalEndEvent", "RetrievalErrorEvent", "RetrievalEvent", "RetrievalStartEvent"]


class RetrievalEvent(Event):
    """Base of the retrieval family; ``retriever`` names the source."""

    retriever: str | None = None


class RetrievalStartEvent(RetrievalEvent):
    """A retrieval for ``query`` started."""

    type: ClassVar[str] = "retrieval.start"
    query: str = ""


class RetrievalEndEvent(RetrievalEvent):
    """A retrieval returned ``documents``."""

    type: ClassVar[str] = "retrieval.end"
    terminal: ClassVar[bool] = True
    documents: list[Any] | None = None
    incomplete: bool = False
    latency_ms: float | None = None


class RetrievalErrorEvent(ErrorInfo, RetrievalEvent):
    """A retrieval failed or was cancelled."""

    type: ClassVar[str] = "retrieval.error"
    terminal: ClassVar[bool] = True
    error: BaseException | str | None = None
    error_type: str | None = None
    cancelled: bool = False
    latency_ms: float | None = None
