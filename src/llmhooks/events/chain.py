"""Chain run events: start, end, error."""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events.base import ErrorInfo, Event

__all__ = ["ChainEndEvent", "ChainErrorEvent", "ChainEvent", "ChainStartEvent"]


class ChainEvent(Event):
    """Base of the chain family."""

    chain_name: str = ""


class ChainStartEvent(ChainEvent):
    """A chain started with ``inputs``."""

    type: ClassVar[str] = "chain.start"
    inputs: Any = None


class ChainEndEvent(ChainEvent):
    """A chain finished with ``result``."""

    type: ClassVar[str] = "chain.end"
    terminal: ClassVar[bool] = True
    result: Any = None
    incomplete: bool = False
    latency_ms: float | None = None


class ChainErrorEvent(ErrorInfo, ChainEvent):
    """A chain failed or was cancelled."""

    type: ClassVar[str] = "chain.error"
    terminal: ClassVar[bool] = True
    error: BaseException | str | None = None
    error_type: str | None = None
    cancelled: bool = False
    latency_ms: float | None = None
