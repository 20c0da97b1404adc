"""Built-in handlers (standard library only; ``CostTracker`` reads ``genai-prices`` when installed).

    from llmhooks.handlers import CostTracker, MetricsCallbacks

Each name is imported from its module on first access, so ``import
llmhooks.handlers`` loads nothing it does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmhooks.handlers.budget import CostLimiter
    from llmhooks.handlers.cost import CallCost, CostTracker, Price
    from llmhooks.handlers.logging import LoggingCallbacks
    from llmhooks.handlers.metrics import MetricsCallbacks
    from llmhooks.handlers.printing import PrintCallbacks
    from llmhooks.handlers.ratelimit import RateLimiter
    from llmhooks.handlers.record import EventRecorder, ReplayResult, areplay, read_events, replay
    from llmhooks.handlers.streaming import StreamingProgress
    from llmhooks.handlers.tokens import TokenCounter

_LAZY: dict[str, str] = {
    "CallCost": "llmhooks.handlers.cost",
    "CostLimiter": "llmhooks.handlers.budget",
    "CostTracker": "llmhooks.handlers.cost",
    "EventRecorder": "llmhooks.handlers.record",
    "LoggingCallbacks": "llmhooks.handlers.logging",
    "MetricsCallbacks": "llmhooks.handlers.metrics",
    "Price": "llmhooks.handlers.cost",
    "PrintCallbacks": "llmhooks.handlers.printing",
    "RateLimiter": "llmhooks.handlers.ratelimit",
    "ReplayResult": "llmhooks.handlers.record",
    "StreamingProgress": "llmhooks.handlers.streaming",
    "TokenCounter": "llmhooks.handlers.tokens",
    "areplay": "llmhooks.handlers.record",
    "read_events": "llmhooks.handlers.record",
    "replay": "llmhooks.handlers.record",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmhooks.handlers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CallCost",
    "CostLimiter",
    "CostTracker",
    "EventRecorder",
    "LoggingCallbacks",
    "MetricsCallbacks",
    "Price",
    "PrintCallbacks",
    "RateLimiter",
    "ReplayResult",
    "StreamingProgress",
    "TokenCounter",
    "areplay",
    "read_events",
    "replay",
]
