"""Events the bus itself sends (defined in ``llmhooks.events.handler``)."""

from __future__ import annotations

from llmhooks.events.handler import HandlerErrorEvent

__all__ = ["HandlerErrorEvent"]
