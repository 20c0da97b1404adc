"""The event bus (seed 004): ``EventManager``, the events it sends about itself, and its errors.

    from llmhooks import EventManager
    from llmhooks.bus import HandlerErrorEvent

See ``docs/bus.md``.
"""

from __future__ import annotations

from llmhooks.bus._shutdown import Shutdown
from llmhooks.bus.events import HandlerErrorEvent
from llmhooks.bus.manager import EventManager
from llmhooks.errors import InvalidEventClassError, InvalidSubscriberError, UnregisteredEventError

__all__ = [
    "EventManager",
    "HandlerErrorEvent",
    "InvalidEventClassError",
    "InvalidSubscriberError",
    "Shutdown",
    "UnregisteredEventError",
]
