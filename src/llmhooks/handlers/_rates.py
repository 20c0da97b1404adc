"""Per-token rates of one model on one day, and the cost of a call they give.

``Rates`` is what ``Pricer`` caches per provider, model and UTC day, from a user
price table or from ``genai-prices``; ``Slow`` marks a model that must be priced
by ``genai_prices.calc_price`` on every call. Counts are normalised first so that
``input`` includes cached and cache-write tokens and ``output`` includes reasoning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CallCost", "Rate", "Rates", "Slow", "audio_counts", "normalise"]


@dataclass(frozen=True, slots=True)
class CallCost:
    """The cost of one call and where its price came from."""

    usd: float
    input_usd: float
    output_usd: float
    source: str
    price_date: str | None
    provider: str | None
    model: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form, as put in ``LLMEndEvent.metadata["cost"]``."""
        return {
            "usd": self.usd,
            "input_usd": self.input_usd,
            "output_usd": self.output_usd,
            "source": self.source,
            "price_date": self.price_date,
            "provider": self.provider,
            "model": self.model,
        }


Rate = float | tuple[float, tuple[tuple[int, float], ...]]  # flat, or (base, ((start, rate), ...) high first)


def _rate_at(rate: Rate, input_tokens: float) -> float:
    if isinstance(rate, float):
        return rate
    base, tiers = rate
    for start, value in tiers:
        if input_tokens > start:
            return value
    return base


class Rates:
    """Per-token USD rates of one model on one day, and where they came from."""

    __slots__ = (
        "audio_cached",
        "audio_in",
        "audio_out",
        "cached",
        "input",
        "meta",
        "output",
        "per_request",
        "reasoning",
        "tiered",
        "write",
    )

    def __init__(
        self,
        input: Rate,
        output: Rate,
        cached: Rate | None,
        write: Rate | None,
        reasoning: Rate | None,
        per_request: float,
        meta: tuple[str, str | None, str | None, str],
        audio_in: Rate | None = None,
        audio_out: Rate | None = None,
        audio_cached: Rate | None = None,
    ) -> None:
        self.input = input
        self.output = output
        self.cached = input if cached is None else cached
        self.write = input if write is None else write
        self.reasoning = output if reasoning is None else reasoning
        # audio without a price of its own is priced as text (as genai-prices does)
        self.audio_in = input if audio_in is None else audio_in
        self.audio_out = output if audio_out is None else audio_out
        self.audio_cached = self.cached if audio_cached is None else audio_cached
        self.per_request = per_request
        self.tiered = not all(
            isinstance(r, float)
            for r in (
                input, output, self.cached, self.write, self.reasoning,
                self.audio_in, self.audio_out, self.audio_cached,
            )
        )  # fmt: skip
        self.meta = meta  # (source, price_date, provider, model)

    def split(
        self, i: float, c: float, w: float, o: float, r: float, ai: float = 0, ao: float = 0
    ) -> tuple[float, float]:
        """(input USD, output USD) for normalised counts (i includes c, w and audio ``ai``;
        o includes r and audio ``ao``).

        Cached tokens are text tokens, unless there are more of them than text tokens:
        the rest are cached audio (the events carry no separate cached-audio count).
        """
        if self.tiered:
            inp, cached, write = _rate_at(self.input, i), _rate_at(self.cached, i), _rate_at(self.write, i)
            out, reason = _rate_at(self.output, i), _rate_at(self.reasoning, i)
            a_in, a_out, a_cached = (
                _rate_at(self.audio_in, i), _rate_at(self.audio_out, i), _rate_at(self.audio_cached, i)
            )  # fmt: skip
        else:
            inp, cached, write = self.input, self.cached, self.write  # type: ignore[assignment]
            out, reason = self.output, self.reasoning  # type: ignore[assignment]
            a_in, a_out, a_cached = self.audio_in, self.audio_out, self.audio_cached  # type: ignore[assignment]
        if not (ai or ao):  # text only: the common case
            return (i - c - w) * inp + c * cached + w * write, (o - r) * out + r * reason
        cached_audio = max(0.0, c + w - (i - ai))
        text_cached = c - cached_audio
        input_usd = (
            (i - ai - text_cached - w) * inp + text_cached * cached + w * write
            + (ai - cached_audio) * a_in + cached_audio * a_cached
        )  # fmt: skip
        output_usd = max(0.0, o - r - ao) * out + r * reason + ao * a_out
        return input_usd, output_usd


class Slow:
    """A model priced by ``genai_prices.calc_price`` on every call."""

    __slots__ = ("model_ref", "provider_id")

    def __init__(self, provider_id: str, model_ref: str) -> None:
        self.provider_id = provider_id
        self.model_ref = model_ref


def normalise(i: int, c: int, w: int, o: int, r: int) -> tuple[int, int, int, int, int]:
    """(input, cached, written, output, reasoning) with input and output as totals."""
    if c + w > i:  # the producer reported input without the cached part (Anthropic's own convention)
        i += c + w
    if r > o:
        o += r
    return i, c, w, o, r


def audio_counts(i: int, o: int, ai: int, ao: int) -> tuple[int, int]:
    """(input audio, output audio) tokens, no more than the input and output totals they are part of."""
    return min(ai, i), min(ao, o)
