"""The event bus (seed 004): ``EventManager`` and the events it sends about itself.

    from llmhooks import EventManager
    from llmhooks.bus import HandlerErrorEvent

See ``docs/bus.md``.
"""

from __future__ import annotations

from llmhooks.bus.events import HandlerErrorEvent
from llmhooks.bus.manager import EventManager

__all__ = ["EventManager", "HandlerErrorEvent"]
