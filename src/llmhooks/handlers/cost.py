"""``CostTracker``: the cost of every LLM call, in USD, from a maintained price table.

    tracker = CostTracker()                       # needs: pip install 'llmhooks[prices]'
    with callbacks_context([tracker, LoggingCallbacks()]):
        llm.chat("hi")
    tracker.total_cost, tracker.by_model["gpt-4o"]["cost"]

Prices come from ``prices=`` (your table, looked up first) and then from
``genai-prices`` (bundled, offline; historic prices are chosen by the call's
date). Cached input and reasoning tokens are priced at their own rates where
the table has them. A model found in no table has cost ``None`` (never 0) and
is logged once.

The tracker sets ``LLMEndEvent.cost`` and ``event.metadata["cost"]`` (``usd``,
``input_usd``, ``output_usd``, ``source``, ``price_date``, ``provider``, ``model``)
so handlers called after it see them: register it *before* handlers that read
cost (``MetricsCallbacks``, ``LoggingCallbacks``, ``PrintCallbacks``, recorders).
An event that already carries a cost (set by the producer) keeps it; a cost or token
count that is not a finite number >= 0 (NaN, negative, a string) is ignored with a
warning (the call is priced from its tokens instead), so it never poisons a total.

``by_model`` holds at most ``max_models`` names (1000); calls of further models are
counted under ``"(other)"`` and the totals stay exact. The price table is read when the
tracker is built (not inside the first call); see ``_pricing`` for its bounded caches.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from llmhooks._validate import check_bool, check_int
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import LLMEndEvent
from llmhooks.handlers._bounded import OTHER, bounded_row
from llmhooks.handlers._pricing import CallCost, Price, Pricer, genai_prices_available, missing_prices_error
from llmhooks.handlers._values import MAX_USD, audio_usage, count, usage, usd

__all__ = ["CallCost", "CostTracker", "Price"]


def _new_model_row() -> dict[str, Any]:
    return {
        "cost": 0.0,
        "requests": 0,
        "unpriced_requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_input_tokens": 0,
        "reasoning_tokens": 0,
        "total_tokens": 0,
    }


class CostTracker(Callbacks):
    """Prices each ``llm.end`` event, fills ``event.cost`` and keeps totals; thread- and task-safe.

    Args:
        prices: your own prices, ``{"model" | "provider/model" | "prefix*": Price(...) | dict}``
            in USD per million tokens (dict keys as ``Price`` fields: ``input``, ``output``,
            ``cached_input``, ``cache_write``, ``reasoning``, ``per_request``, ``source``, ``date``).
        use_genai_prices: look models up in ``genai-prices`` (default True).
        max_models: most model names kept in ``by_model`` (further ones go under ``"(other)"``).

    Raises:
        MissingExtraError: ``genai-prices`` is not installed and no ``prices`` were given.
        TypeError, ValueError: an argument or a ``prices`` entry is malformed.
    """

    def __init__(
        self,
        prices: Mapping[str, Price | Mapping[str, Any]] | None = None,
        *,
        use_genai_prices: bool = True,
        max_models: int = 1000,
    ) -> None:
        check_bool("use_genai_prices", use_genai_prices)
        self.max_models: int = check_int("max_models", max_models, minimum=1)
        if not prices and not (use_genai_prices and genai_prices_available()):
            raise missing_prices_error("CostTracker")
        self.pricer = Pricer(prices, use_genai_prices=use_genai_prices)
        self._lock = threading.Lock()
        self._reset_totals()

    def _reset_totals(self) -> None:
        self._total_cost = 0.0
        self._total_tokens = 0
        self._requests = 0
        self._unpriced = 0
        self._models: dict[str, dict[str, Any]] = {}

    # handler

    def on_llm_end(self, event: LLMEndEvent) -> None:
        cost = event.cost
        if cost is not None and not (cost.__class__ is float and 0.0 <= cost <= MAX_USD):
            cost = usd(cost, self, "cost")
            if cost is None:  # NaN, negative...: logged, and priced here from the tokens instead
                event.cost = None
        i, o, t, c, r = usage(event, self)
        if cost is None:
            priced = self._price(event, i, o, c, r)
            if priced is not None:
                cost = priced.usd
                event.cost = cost
                event.metadata = {**event.metadata, "cost": priced.as_dict()}
            else:
                self.pricer.warn_unknown(event.provider, event.model, event.timestamp)
        tokens = t if t is not None else (i or 0) + (o or 0)
        name = event.model or "unknown"
        with self._lock:
            self._requests += 1
            self._total_tokens += tokens
            row = bounded_row(self._models, name, self.max_models, _new_model_row, OTHER)
            row["requests"] += 1
            row["input_tokens"] += i or 0
            row["output_tokens"] += o or 0
            row["cached_input_tokens"] += c or 0
            row["reasoning_tokens"] += r or 0
            row["total_tokens"] += tokens
            if cost is None:
                self._unpriced += 1
                row["unpriced_requests"] += 1
            else:
                self._total_cost += cost
                row["cost"] += cost

    def price(self, event: LLMEndEvent) -> CallCost | None:
        """What the call ``event`` ends cost, with its source; None if unknown (model or usage)."""
        i, o, _t, c, r = usage(event, self)
        return self._price(event, i, o, c, r)

    def _price(
        self, event: LLMEndEvent, i: int | None, o: int | None, c: int | None, r: int | None
    ) -> CallCost | None:
        w = event.cache_write_input_tokens
        ai, ao = audio_usage(event, self)
        return self.pricer.cost(
            event.provider,
            event.model,
            i,
            o,
            c,
            w if w is None or (w.__class__ is int and w >= 0) else count(w, self, "cache_write_input_tokens"),
            r,
            event.timestamp,
            ai,
            ao,
        )

    # results

    @property
    def total_cost(self) -> float:
        """USD spent on calls whose cost is known."""
        return self._total_cost

    @property
    def total_tokens(self) -> int:
        """Tokens of every call seen (input + output)."""
        return self._total_tokens

    @property
    def request_count(self) -> int:
        """Calls seen (``llm.end`` events), priced or not."""
        return self._requests

    @property
    def unpriced_count(self) -> int:
        """Calls whose cost is unknown (their model is in no price table)."""
        return self._unpriced

    @property
    def by_model(self) -> dict[str, dict[str, Any]]:
        """Per model: ``cost``, ``requests``, ``unpriced_requests`` and token counts (a copy)."""
        with self._lock:
            return {name: dict(row) for name, row in self._models.items()}

    def snapshot(self) -> dict[str, Any]:
        """Totals and ``by_model`` as one JSON-safe dict."""
        with self._lock:
            return {
                "total_cost": self._total_cost,
                "total_tokens": self._total_tokens,
                "request_count": self._requests,
                "unpriced_count": self._unpriced,
                "by_model": {name: dict(row) for name, row in self._models.items()},
            }

    def reset(self) -> None:
        """Forget all totals (the price cache is kept)."""
        with self._lock:
            self._reset_totals()
