"""Rates from ``genai-prices``, imported on first use so ``import llmhooks`` needs no extra.

``resolve`` finds a model (by provider id, else by the model name alone, for
proxies and gateways) and turns the price that applies on the call's date into
``Rates``; the result is checked against ``calc_price`` on two probe usages, and
a model it does not reproduce (time-of-day prices, units our events do not
report in a way the fast path can follow) is returned as ``Slow``, priced by
``calc_slow`` with ``calc_price`` on every call.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from datetime import UTC, datetime
from typing import Any

from llmhooks.handlers._rates import CallCost, Rate, Rates, Slow

__all__ = ["available", "calc_slow", "load", "resolve"]

_FAST_KEYS = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cached",
    "cache_write_mtok": "write",
    "output_reasoning_mtok": "reasoning",
    "input_audio_mtok": "audio_in",
    "output_audio_mtok": "audio_out",
    "cache_audio_read_mtok": "audio_cached",
}
# (input, cached, written, output, reasoning, input audio, output audio), checked against calc_price
_PROBES = (
    (1000, 200, 100, 500, 100, 0, 0),
    (2_000_000, 300_000, 100_000, 200_000, 20_000, 0, 0),
    (3000, 400, 0, 800, 0, 1500, 500),
)


def available() -> bool:
    """True if the ``genai-prices`` package can be imported (checked without importing it)."""
    return importlib.util.find_spec("genai_prices") is not None


def load() -> None:
    """Import the package and read its price and unit tables (once per process; later calls are free)."""
    global _loaded
    if _loaded:
        return
    gp = importlib.import_module("genai_prices")
    importlib.import_module("genai_prices.data_snapshot").get_snapshot()
    _units_by_price_key()
    try:  # one calculation through the public API loads what the package imports lazily
        gp.calc_price(_usage(gp, 1, 0, 0, 1, 0), "gpt-4o", provider_id="openai")
    except (LookupError, ValueError):  # a table without that model: nothing more to warm
        pass
    _loaded = True


_loaded = False


def calc_slow(
    slow: Slow, i: int, c: int, w: int, o: int, r: int, timestamp: float | None, ai: int = 0, ao: int = 0
) -> CallCost | None:
    """Price normalised counts with ``calc_price`` itself; None if the table refuses them."""
    gp = importlib.import_module("genai_prices")
    try:
        calc = gp.calc_price(
            _usage(gp, i, c, w, o, r, ai, ao),
            slow.model_ref,
            provider_id=slow.provider_id,
            genai_request_timestamp=_when(timestamp),
        )
    except (LookupError, ValueError):
        return None
    date = _price_date(calc.model, _when(timestamp))
    return CallCost(
        float(calc.total_price),
        float(calc.input_price),
        float(calc.output_price),
        _source(gp, calc.auto_update_timestamp),
        date,
        calc.provider.id,
        calc.model.id,
    )


def _when(timestamp: float | None) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else datetime.now(UTC)


def _usage(gp: Any, i: int, c: int, w: int, o: int, r: int, ai: int = 0, ao: int = 0) -> Any:
    return gp.Usage(
        input_tokens=i,
        output_tokens=o,
        cache_read_tokens=c or None,
        cache_write_tokens=w or None,
        output_reasoning_tokens=r or None,
        input_audio_tokens=ai or None,
        output_audio_tokens=ao or None,
        # with audio, genai-prices wants the cached audio said; ours: cached beyond the text (Rates.split)
        cache_audio_read_tokens=max(0, c + w - (i - ai)) if ai else None,
    )


_version: str | None = None


def _source(gp: Any, auto_update: datetime | None) -> str:
    global _version
    if _version is None:
        _version = str(getattr(gp, "__version__", "?"))
    if auto_update is not None:
        return f"genai-prices {_version} (updated {auto_update.isoformat(timespec='seconds')})"
    return f"genai-prices {_version}"


def _price_date(info: Any, when: datetime) -> str | None:
    """The date from which the price used applies, when the table says."""
    prices = info.prices
    if not isinstance(prices, list):
        return None
    for conditional in reversed(prices):
        constraint = conditional.constraint
        if constraint is None or constraint.active(when):
            start = getattr(constraint, "start_date", None)
            return start.isoformat() if start is not None else None
    return None


def resolve(provider: str | None, model: str, timestamp: float | None) -> Rates | Slow | None:
    """Rates of ``model`` on the call's date; ``Slow`` if only calc_price can price it; None if unknown."""
    gp = importlib.import_module("genai_prices")
    snapshot = importlib.import_module("genai_prices.data_snapshot").get_snapshot()
    try:
        prov, info = snapshot.find_provider_model(model, None, provider, None)
    except LookupError:
        if provider is None:
            return None
        try:  # a provider name the table does not know (a proxy, a gateway): match on the model
            prov, info = snapshot.find_provider_model(model, None, None, None)
        except LookupError:
            return None
    slow = Slow(prov.id, model)
    prices = info.prices
    if isinstance(prices, list) and any(
        type(p.constraint).__name__ == "TimeOfDateConstraint" for p in prices
    ):
        return slow  # the price depends on the time of day, not only the date
    when = _when(timestamp)
    units = _units_by_price_key()
    rates: dict[str, Rate] = {}
    per_request = 0.0
    for price_key, value in vars(info.get_prices(when)).items():
        if value is None or price_key.startswith("_"):
            continue
        unit = units.get(price_key)
        if unit is None:
            return slow
        usage_key, per = unit
        rate = _to_rate(value, per)
        if rate is None:
            return slow
        if price_key in _FAST_KEYS:
            rates[_FAST_KEYS[price_key]] = rate
        elif usage_key == "requests":
            if not isinstance(rate, float):
                return slow
            per_request = rate
        # any other unit (searches, images, audio seconds...) is not reported by our events: count 0
    if "input" not in rates or "output" not in rates:
        return slow
    fast = Rates(
        rates["input"],
        rates["output"],
        rates.get("cached"),
        rates.get("write"),
        rates.get("reasoning"),
        per_request,
        (
            _source(gp, snapshot.timestamp if snapshot.from_auto_update else None),
            _price_date(info, when),
            prov.id,
            info.id,
        ),
        rates.get("audio_in"),
        rates.get("audio_out"),
        rates.get("audio_cached"),
    )
    for probe in _PROBES:  # the fast path must agree with the table's own arithmetic
        try:
            expected = float(
                gp.calc_price(
                    _usage(gp, *probe), model, provider_id=prov.id, genai_request_timestamp=when
                ).total_price
            )
        except (LookupError, ValueError):
            return slow
        got = sum(fast.split(*map(float, probe))) + per_request
        if not math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
            return slow
    return fast


def _to_rate(value: Any, per: int) -> Rate | None:
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        try:
            return float(value) / per
        except (TypeError, ValueError):
            return None
    try:
        steps = tuple((int(t.start), float(t.price) / per) for t in reversed(tiers))
        return (float(value.base) / per, steps)
    except (TypeError, ValueError, AttributeError):
        return None


_units: dict[str, tuple[str, int]] | None = None


def _units_by_price_key() -> dict[str, tuple[str, int]]:
    """price key (``input_mtok``) -> (usage key, tokens per price unit), from the package's unit table."""
    global _units
    if _units is None:
        data = importlib.import_module("genai_prices.data_units").unit_data
        _units = {u["price_key"]: (key, int(u.get("per", 1))) for key, u in data.items()}
    return _units
