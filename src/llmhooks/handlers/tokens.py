"""``TokenCounter``: prompt and completion tokens of every LLM call, in total and per model.

    counter = TokenCounter()
    llm = LLM(provider="openai", callbacks=[counter])
    llm.chat("Hello")
    counter.prompt_tokens, counter.completion_tokens, counter.by_model["gpt-4o"]

Counts come from ``llm.end`` events (calls that failed report no usage);
``usage_estimated`` counts calls whose usage the producer estimated. A count that is
not a number >= 0 (NaN, negative, a string) is ignored with a warning, never added.
``by_model`` holds at most ``max_models`` names; calls of further models are counted
under ``"(other)"``, and the totals stay exact.
"""

from __future__ import annotations

import threading
from typing import Any

from llmhooks._validate import check_int
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import LLMEndEvent
from llmhooks.handlers._bounded import OTHER, bounded_row
from llmhooks.handlers._values import usage

__all__ = ["TokenCounter"]

_FIELDS = ("calls", "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")


def _new_row() -> dict[str, int]:
    return dict.fromkeys(_FIELDS, 0)


class TokenCounter(Callbacks):
    """Sums token usage over ``llm.end`` events; thread- and task-safe (one short lock per event).

    Args:
        max_models: most model names kept in ``by_model`` (further ones go under ``"(other)"``).

    Raises:
        TypeError, ValueError: ``max_models`` is not a whole number >= 1.
    """

    def __init__(self, *, max_models: int = 1000) -> None:
        self.max_models: int = check_int("max_models", max_models, minimum=1)
        self._lock = threading.Lock()
        self._totals = dict.fromkeys(_FIELDS, 0)
        self._estimated = 0
        self._models: dict[str, dict[str, int]] = {}

    def on_llm_end(self, event: LLMEndEvent) -> None:
        i, o, t, c, r = usage(event, self)
        prompt = i or 0
        completion = o or 0
        total = t if t is not None else prompt + completion
        cached = c or 0
        reasoning = r or 0
        name = event.model or "unknown"
        with self._lock:
            model_row = bounded_row(self._models, name, self.max_models, _new_row, OTHER)
            for row in (self._totals, model_row):
                row["calls"] += 1
                row["prompt_tokens"] += prompt
                row["completion_tokens"] += completion
                row["total_tokens"] += total
                row["cached_tokens"] += cached
                row["reasoning_tokens"] += reasoning
            if event.usage_estimated:
                self._estimated += 1

    @property
    def prompt_tokens(self) -> int:
        """Input tokens, cached ones included."""
        return self._totals["prompt_tokens"]

    @property
    def completion_tokens(self) -> int:
        """Output tokens, reasoning included."""
        return self._totals["completion_tokens"]

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self._totals["total_tokens"]

    @property
    def cached_tokens(self) -> int:
        """Input tokens read from the provider's prompt cache."""
        return self._totals["cached_tokens"]

    @property
    def reasoning_tokens(self) -> int:
        """Output tokens spent on reasoning."""
        return self._totals["reasoning_tokens"]

    @property
    def calls(self) -> int:
        """Calls counted."""
        return self._totals["calls"]

    @property
    def usage_estimated(self) -> int:
        """Calls whose usage was estimated by the producer rather than reported by the provider."""
        return self._estimated

    @property
    def by_model(self) -> dict[str, dict[str, int]]:
        """Per model: ``calls`` and the token counts above (a copy)."""
        with self._lock:
            return {name: dict(row) for name, row in self._models.items()}

    def snapshot(self) -> dict[str, Any]:
        """Totals, ``usage_estimated`` and ``by_model`` as one JSON-safe dict."""
        with self._lock:
            out: dict[str, Any] = dict(self._totals)
            out["usage_estimated"] = self._estimated
            out["by_model"] = {name: dict(row) for name, row in self._models.items()}
            return out

    def reset(self) -> None:
        """Set every count back to zero."""
        with self._lock:
            self._totals = dict.fromkeys(_FIELDS, 0)
            self._estimated = 0
            self._models = {}
