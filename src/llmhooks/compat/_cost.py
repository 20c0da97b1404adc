"""The cost of a call for handlers in other styles, with or without a ``CostTracker``.

Seed 001's ``kwargs["cost"]`` and seed 002's ``response["cost_estimate"]`` are read by
handlers that are often registered alone (the seeds' own cost limiter is): the event's cost
when a tracker (or the producer) set one, else the call priced here from its tokens with
``genai-prices``, one table per process, read on first need; None when neither can say.
"""

from __future__ import annotations

import threading
from typing import Any

from llmhooks.events import LLMEndEvent

__all__ = ["known_cost"]


class SeedStyleCost:
    """Names the warnings about bad figures read for seed-style handlers ("SeedStyleCost ignored ...")."""


_owner = SeedStyleCost()
_pricer_lock = threading.Lock()
_pricer: Any = None  # the process's genai-prices Pricer, built on first need (False: not installed)


def _shared_pricer() -> Any:
    global _pricer
    pricer = _pricer
    if pricer is None:
        with _pricer_lock:
            pricer = _pricer
            if pricer is None:
                from llmhooks.handlers._pricing import Pricer, genai_prices_available

                pricer = _pricer = Pricer() if genai_prices_available() else False
    return pricer


def known_cost(e: LLMEndEvent) -> float | None:
    """What the call ``e`` ends cost (USD): its own cost, else priced from its tokens, else None.

    A bad own cost (NaN, negative, text) is ignored with a warning, as by ``CostTracker``; a model
    in no table is warned about once per process.
    """
    from llmhooks.handlers._values import count, usage, usd

    cost = usd(e.cost, _owner, "cost")
    if cost is not None:
        return cost
    pricer = _shared_pricer()
    if not pricer:
        return None
    i, o, _t, c, r = usage(e, _owner)
    priced = pricer.cost(
        e.provider,
        e.model,
        i,
        o,
        c,
        count(e.cache_write_input_tokens, _owner, "cache_write_input_tokens"),
        r,
        e.timestamp,
    )
    if priced is None:
        pricer.warn_unknown(e.provider, e.model, e.timestamp)
        return None
    return float(priced.usd)
