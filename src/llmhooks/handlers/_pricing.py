"""What one LLM call cost: a user price table first, then ``genai-prices``.

Token conventions (those of ``LLMEndEvent``): ``input_tokens`` counts every prompt
token, cached ones included (OpenAI's ``prompt_tokens``; for Anthropic, its
``input_tokens`` plus cache reads and cache writes); ``cached_input_tokens`` and
cache-write tokens are the parts of it read from / written to the prompt cache;
``output_tokens`` includes ``reasoning_tokens``. Reasoning is billed as output
unless the table prices it separately. A producer that reports input *without*
the cached part is recognised when cached + written exceeds input, and priced so.

Pricing a call must be cheap, so a model's rates are resolved once per provider,
model and UTC day (prices change by date) into per-token floats (``_rates``); how
they are read from ``genai-prices``, and checked against its own arithmetic, is in
``_genai_prices``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmhooks.errors import MissingExtraError
from llmhooks.handlers import _genai_prices
from llmhooks.handlers._rates import CallCost, Rates, Slow, normalise

__all__ = ["CallCost", "Price", "Pricer", "genai_prices_available"]

logger = logging.getLogger("llmhooks.cost")

_CACHE_MAX = 4096
_MISSING: Any = object()
_PRICE_FIELDS = ("input", "output", "cached_input", "cache_write", "reasoning", "per_request")


def genai_prices_available() -> bool:
    """True if the ``genai-prices`` package can be imported (checked without importing it)."""
    return _genai_prices.available()


def missing_prices_error(who: str) -> MissingExtraError:
    return MissingExtraError(
        f"{who} needs 'genai-prices' for its price table: pip install 'llmhooks[prices]' "
        "(or pass prices={...} with your own table)"
    )


@dataclass(frozen=True, slots=True)
class Price:
    """A price in USD per million tokens (``per_request`` in USD per call).

    ``cached_input``, ``cache_write`` and ``reasoning`` default to the input,
    input and output prices.
    """

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None
    per_request: float = 0.0
    source: str = "custom"
    date: str | None = None


def _price_from(key: str, value: Price | Mapping[str, Any]) -> Price:
    if isinstance(value, Price):
        price = value
    elif isinstance(value, Mapping):
        unknown = set(value) - {*_PRICE_FIELDS, "source", "date"}
        if unknown or "input" not in value or "output" not in value:
            raise ValueError(
                f"prices[{key!r}] must give 'input' and 'output' (USD per million tokens) and may give "
                f"{', '.join(_PRICE_FIELDS[2:])}, 'source', 'date'; got keys {sorted(value)}"
            )
        price = Price(**value)
    else:
        raise TypeError(f"prices[{key!r}] must be a Price or a dict, got {type(value).__name__}")
    for name in _PRICE_FIELDS:
        v = getattr(price, name)
        if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0):
            raise ValueError(f"prices[{key!r}].{name} must be a finite number >= 0, got {v!r}")
    return price


class Pricer:
    """Prices calls from ``prices`` (user table) and, if enabled, ``genai-prices``; thread-safe.

    Args:
        prices: ``{"model" | "provider/model" | "prefix*": Price | dict}``, USD per
            million tokens; looked up before ``genai-prices``.
        use_genai_prices: also look models up in ``genai-prices`` when installed.
    """

    def __init__(
        self, prices: Mapping[str, Price | Mapping[str, Any]] | None = None, *, use_genai_prices: bool = True
    ) -> None:
        self._exact: dict[str, Price] = {}
        self._prefix: list[tuple[str, Price]] = []
        for key, value in (prices or {}).items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"price table keys must be model names, got {key!r}")
            price = _price_from(key, value)
            if key.endswith("*"):
                self._prefix.append((key[:-1].lower(), price))
            else:
                self._exact[key.lower()] = price
        self._prefix.sort(key=lambda kv: -len(kv[0]))  # longest prefix wins
        self.use_genai_prices = use_genai_prices and genai_prices_available()
        self._cache: dict[tuple[str | None, str, int], Rates | Slow | None] = {}
        self._warned: set[tuple[str | None, str | None]] = set()
        self._lock = threading.Lock()

    def cost(
        self,
        provider: str | None,
        model: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cached_input_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        timestamp: float | None = None,
    ) -> CallCost | None:
        """The cost of a call, or None when the model is not in any table or no usage is known."""
        if not model or (input_tokens is None and output_tokens is None):
            return None  # unknown usage is not free usage
        if not timestamp:
            timestamp = time.time()
        day = int(timestamp // 86400)
        key = (provider, model, day)
        rates = self._cache.get(key, _MISSING)
        if rates is _MISSING:
            rates = self._resolve(provider, model, timestamp)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[key] = rates
        if rates is None:
            return None
        i, c, w, o, r = normalise(
            input_tokens or 0,
            cached_input_tokens or 0,
            cache_write_tokens or 0,
            output_tokens or 0,
            reasoning_tokens or 0,
        )
        if isinstance(rates, Slow):
            return _genai_prices.calc_slow(rates, i, c, w, o, r, timestamp)
        input_usd, output_usd = rates.split(i, c, w, o, r)
        source, date, prov, mod = rates.meta
        return CallCost(
            input_usd + output_usd + rates.per_request, input_usd, output_usd, source, date, prov, mod
        )

    def warn_unknown(self, provider: str | None, model: str | None) -> None:
        """Log, once per provider and model, that a call's cost is unknown."""
        key = (provider, model)
        if key in self._warned:
            return
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        logger.warning(
            "llmhooks: no price for %s/%s; its cost is unknown (None). Add it with prices={%r: {...}}",
            provider,
            model,
            model,
        )

    # resolution (once per provider, model and UTC day)

    def _resolve(self, provider: str | None, model: str, timestamp: float | None) -> Rates | Slow | None:
        price = self._custom(provider, model)
        if price is not None:
            m = 1e-6
            return Rates(
                price.input * m,
                price.output * m,
                None if price.cached_input is None else price.cached_input * m,
                None if price.cache_write is None else price.cache_write * m,
                None if price.reasoning is None else price.reasoning * m,
                float(price.per_request),
                (price.source, price.date, provider, model),
            )
        if not self.use_genai_prices:
            return None
        try:
            return _genai_prices.resolve(provider, model, timestamp)
        except Exception:  # a table we cannot read must not break the call being observed
            logger.debug("genai-prices lookup failed for %s/%s", provider, model, exc_info=True)
            return None

    def _custom(self, provider: str | None, model: str) -> Price | None:
        if not (self._exact or self._prefix):
            return None
        low = model.lower()
        names = (f"{provider.lower()}/{low}", low) if provider else (low,)
        for name in names:
            price = self._exact.get(name)
            if price is not None:
                return price
        for name in names:
            for prefix, price in self._prefix:
                if name.startswith(prefix):
                    return price
        return None
