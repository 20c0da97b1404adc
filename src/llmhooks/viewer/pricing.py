"""``Pricer``: give recorded LLM calls that have no cost one, with ``CostTracker`` (``--price``).

    price = Pricer()                       # needs genai-prices: pip install 'llmhooks[prices]'
    events = map(price, read_events("session.jsonl"))

A call recorded without a ``CostTracker`` before the recorder has ``cost=None``; this
prices it the way a live ``CostTracker`` would have (same tables, the call's date), and
leaves a recorded cost as it is.
"""

from __future__ import annotations

from llmhooks.core.manager import CallbackManager
from llmhooks.events import Event, LLMEndEvent
from llmhooks.handlers.cost import CostTracker

__all__ = ["Pricer"]


class Pricer:
    """Callable on events: an ``llm.end`` with no cost gets one from ``tracker``; others pass through.

    Raises:
        MissingExtraError: ``genai-prices`` is not installed (and no ``tracker`` was given).
    """

    def __init__(self, tracker: CostTracker | None = None) -> None:
        self.tracker = tracker if tracker is not None else CostTracker()
        self._emit = CallbackManager([self.tracker]).emit

    def __call__(self, event: Event) -> Event:
        if isinstance(event, LLMEndEvent) and event.cost is None:
            self._emit(event)
        return event
