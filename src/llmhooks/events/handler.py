"""Events about handlers themselves: a bus subscriber failed."""

from __future__ import annotations

from typing import Any, ClassVar

from llmhooks.events.base import ErrorInfo, Event

__all__ = ["HandlerErrorEvent"]


class HandlerErrorEvent(ErrorInfo, Event):
    """A bus subscriber raised while handling ``event``; sent once per failure.

    Subscribe to it (or to ``Event``) to see failures. A subscriber that fails
    on a ``HandlerErrorEvent`` is only logged, so failures never loop.
    """

    type: ClassVar[str] = "bus.handler_error"
    handler: str = ""
    event_type: str = ""
    error: BaseException | str | None = None
    error_type: str | None = None
    event: Any = None
