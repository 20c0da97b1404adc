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

Bounded, whatever the number of distinct model names: a handler's own cache and the
process-wide cache of ``genai-prices`` lookups (shared by every handler, misses included,
so an unknown model is looked up once per process and day, not once per call or handler)
hold at most ``CACHE_MAX`` entries each, oldest out first; unknown models are warned about
once per process, for at most ``WARN_MAX`` names (then one line says further ones are not
logged). ``genai-prices`` is loaded when a ``Pricer`` is built, not in the first call it prices.
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
from llmhooks.handlers._rates import CallCost, Rates, Slow, audio_counts, normalise

__all__ = ["CACHE_MAX", "WARN_MAX", "CallCost", "Price", "Pricer", "genai_prices_available"]

logger = logging.getLogger("llmhooks.cost")

CACHE_MAX = 4096
WARN_MAX = 1000
_MISSING: Any = object()
_Key = tuple[str | None, str, int]  # provider, model, UTC day

# process-wide: what genai-prices says of a (provider, model, day), found or not
_shared: dict[_Key, Rates | Slow | None] = {}
_shared_lock = threading.Lock()
# process-wide: (provider, model) already warned about, and whether the cap was announced
_warned: dict[tuple[str | None, str | None], None] = {}
_warned_lock = threading.Lock()
_cap_announced = False


def _put(cache: dict[_Key, Any], key: _Key, value: Any) -> None:
    """Insert into a bounded cache, dropping the oldest entry when full (caller holds a lock)."""
    if key not in cache and len(cache) >= CACHE_MAX:
        del cache[next(iter(cache))]
    cache[key] = value


def _genai(provider: str | None, model: str, day: int, timestamp: float) -> Rates | Slow | None:
    key = (provider, model, day)
    found = _shared.get(key, _MISSING)
    if found is not _MISSING:
        return found  # type: ignore[no-any-return]
    try:
        found = _genai_prices.resolve(provider, model, timestamp)
    except Exception:  # a table we cannot read must not break the call being observed
        logger.debug("genai-prices lookup failed for %s/%s", provider, model, exc_info=True)
        found = None
    with _shared_lock:
        _put(_shared, key, found)
    return found  # type: ignore[no-any-return]


def _warn_once(provider: str | None, model: str | None, message: str, *args: Any) -> None:
    key = (provider, model)
    if key in _warned:
        return
    global _cap_announced
    with _warned_lock:
        if key in _warned:
            return
        full = len(_warned) >= WARN_MAX
        if full:
            if _cap_announced:
                return
            _cap_announced = True
        else:
            _warned[key] = None
    if full:
        logger.warning(
            "llmhooks: %d models without a price or usage were reported; further ones are not logged",
            WARN_MAX,
        )
        return
    logger.warning(message, *args)


_PRICE_FIELDS = (
    "input", "output", "cached_input", "cache_write", "reasoning", "per_request",
    "input_audio", "output_audio", "cached_audio",
)  # fmt: skip


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
    input and output prices; ``input_audio``, ``output_audio`` (realtime voice:
    ``LLMEndEvent.input_audio_tokens``/``output_audio_tokens``, parts of the input and
    output counts) and ``cached_audio`` to the input, output and cached input prices.
    """

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None
    per_request: float = 0.0
    source: str = "custom"
    date: str | None = None
    input_audio: float | None = None
    output_audio: float | None = None
    cached_audio: float | None = None


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
        if prices is not None and not isinstance(prices, Mapping):
            raise TypeError(
                "prices must be a dict of model name -> Price or {'input': ..., 'output': ...}, "
                f"got {type(prices).__name__}"
            )
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
        if self.use_genai_prices:
            # read the table now (100-300 ms once per process), not inside the first call priced,
            # where it would count in that call's latency
            _genai_prices.load()
        self._cache: dict[_Key, Rates | Slow | None] = {}  # own table's rates (genai ones are shared)
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
        input_audio_tokens: int | None = None,
        output_audio_tokens: int | None = None,
    ) -> CallCost | None:
        """The cost of a call, or None when the model is not in any table or no usage is known.

        Audio tokens are the parts of the input and output counts that were audio
        (realtime voice), priced at the model's audio rates.
        """
        if not model or (input_tokens is None and output_tokens is None):
            return None  # unknown usage is not free usage
        if not timestamp:
            timestamp = time.time()
        day = int(timestamp // 86400)
        rates = self._rates(provider, model, day, timestamp)
        if rates is None:
            return None
        i, c, w, o, r = normalise(
            input_tokens or 0,
            cached_input_tokens or 0,
            cache_write_tokens or 0,
            output_tokens or 0,
            reasoning_tokens or 0,
        )
        ai, ao = audio_counts(i, o, input_audio_tokens or 0, output_audio_tokens or 0)
        if isinstance(rates, Slow):
            return _genai_prices.calc_slow(rates, i, c, w, o, r, timestamp, ai, ao)
        input_usd, output_usd = rates.split(i, c, w, o, r, ai, ao)
        source, date, prov, mod = rates.meta
        return CallCost(
            input_usd + output_usd + rates.per_request, input_usd, output_usd, source, date, prov, mod
        )

    def knows(self, provider: str | None, model: str | None, timestamp: float | None = None) -> bool:
        """True if ``model`` has a price in a table this pricer reads (cached like ``cost``)."""
        if not model:
            return False
        when = timestamp or time.time()
        return self._rates(provider, model, int(when // 86400), when) is not None

    def warn_unknown(self, provider: str | None, model: str | None, timestamp: float | None = None) -> None:
        """Log, once per provider and model in this process, why a call's cost is unknown.

        The message says whether the model has no price or the call reported no token usage.
        """
        if not model:
            _warn_once(
                provider,
                model,
                "llmhooks: an LLM call of provider %s named no model; its cost is unknown (None)",
                provider,
            )
        elif self.knows(provider, model, timestamp):
            _warn_once(
                provider,
                model,
                "llmhooks: %s/%s calls reported no token usage; their cost is unknown (None). "
                "Ask the provider for usage (OpenAI streams: stream_options={'include_usage': True})",
                provider,
                model,
            )
        else:
            _warn_once(
                provider,
                model,
                "llmhooks: no price for %s/%s; its cost is unknown (None). Add it with prices={%r: {...}}",
                provider,
                model,
                model,
            )

    # resolution (once per provider, model and UTC day)

    def _rates(self, provider: str | None, model: str, day: int, timestamp: float) -> Rates | Slow | None:
        if self._exact or self._prefix:
            key = (provider, model, day)
            rates = self._cache.get(key, _MISSING)
            if rates is _MISSING:
                rates = self._resolve(provider, model, timestamp)
                with self._lock:
                    _put(self._cache, key, rates)
            return rates  # type: ignore[no-any-return]
        if not self.use_genai_prices:
            return None
        return _genai(provider, model, day, timestamp)

    def _resolve(self, provider: str | None, model: str, timestamp: float) -> Rates | Slow | None:
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
                None if price.input_audio is None else price.input_audio * m,
                None if price.output_audio is None else price.output_audio * m,
                None if price.cached_audio is None else price.cached_audio * m,
            )
        if not self.use_genai_prices:
            return None
        return _genai(provider, model, int(timestamp // 86400), timestamp)

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
