"""Figures read from events, checked before they reach a total.

A producer (or a user's own ``run.finish(cost=...)``) can report NaN, an infinity, a
negative number or a string where a count or a price belongs. Added to a running total,
one such value poisons it for good (NaN + anything is NaN, and a budget compared with NaN
never refuses anything). Handlers read figures through these functions instead: a bad
value counts as not reported, and is logged as a WARNING on ``"llmhooks"`` (at most once
a minute per handler instance and field, saying how many were ignored since)::

    i, o, t, c, r = usage(event, self)        # input, output, total, cached, reasoning
    cost = usd(event.cost, self, "cost")

A figure no real call has is bad too: a cost over ``MAX_USD`` (a billion USD), a count over
``MAX_TOKENS`` (10**12), a latency over ``MAX_MS`` (about 31 years): summed, ``1e308`` twice is
an infinity, and an integer too large for a float crashes the pricing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from typing import Any

from llmhooks.events import LLMEndEvent

__all__ = ["MAX_MS", "MAX_TOKENS", "MAX_USD", "count", "usage", "usd", "wanted_tokens"]

logger = logging.getLogger("llmhooks")

MAX_USD = 1e9  # one call
MAX_TOKENS = 10**12  # one call's count
MAX_MS = 1e12  # one call's latency
_WARN_EVERY_S = 60.0
_lock = threading.Lock()
# handler -> field -> [last warning time, ignored since]; weak, so handlers come and go freely
_warned: weakref.WeakKeyDictionary[Any, dict[str, list[float]]] = weakref.WeakKeyDictionary()


def _ignored(owner: Any, field: str, value: Any) -> None:
    now = time.monotonic()
    with _lock:
        fields = _warned.get(owner)
        if fields is None:
            fields = _warned[owner] = {}
        entry = fields.get(field)
        if entry is not None and now - entry[0] < _WARN_EVERY_S:
            entry[1] += 1
            return
        since = 0 if entry is None else int(entry[1])
        fields[field] = [now, 0]
    more = f" (and {since} more since the last warning)" if since else ""
    text = repr(value)
    logger.warning(
        "llmhooks: %s ignored %s=%s: not a number >= 0 that a call can have; counted as not reported%s",
        type(owner).__name__,
        field,
        text if len(text) <= 40 else text[:37] + "...",
        more,
    )


def count(value: Any, owner: Any, field: str) -> int | None:
    """``value`` as a token count (a whole number >= 0), or None if absent or bad (logged)."""
    if value is None:
        return None
    if value.__class__ is int:
        if 0 <= value <= MAX_TOKENS:
            return int(value)
    elif isinstance(value, float) and 0 <= value <= MAX_TOKENS:  # NaN fails the range test
        return round(value)  # an estimate given as a float: still a count
    elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS:
        return int(value)  # an int subclass (numpy-like), never True/False
    _ignored(owner, field, value)
    return None


def usd(value: Any, owner: Any, field: str) -> float | None:
    """``value`` as an amount in USD (finite, >= 0), or None if absent or bad (logged)."""
    if value is None:
        return None
    if value.__class__ is float:
        if 0.0 <= value <= MAX_USD:  # NaN fails the test
            return float(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= MAX_USD:
        return float(value)  # an int, or a float subclass (NaN fails the range test)
    _ignored(owner, field, value)
    return None


def usage(
    event: LLMEndEvent, owner: Any
) -> tuple[int | None, int | None, int | None, int | None, int | None]:
    """(input, output, total, cached, reasoning) tokens of ``event``; bad ones are None (logged)."""
    i, o, t = event.input_tokens, event.output_tokens, event.total_tokens
    c, r = event.cached_input_tokens, event.reasoning_tokens
    # inline checks, no calls: this runs on every llm.end of every counting handler
    if (
        (i is None or (i.__class__ is int and 0 <= i <= MAX_TOKENS))
        and (o is None or (o.__class__ is int and 0 <= o <= MAX_TOKENS))
        and (t is None or (t.__class__ is int and 0 <= t <= MAX_TOKENS))
        and (c is None or (c.__class__ is int and 0 <= c <= MAX_TOKENS))
        and (r is None or (r.__class__ is int and 0 <= r <= MAX_TOKENS))
    ):
        return i, o, t, c, r
    return (
        count(i, owner, "input_tokens"),
        count(o, owner, "output_tokens"),
        count(t, owner, "total_tokens"),
        count(c, owner, "cached_input_tokens"),
        count(r, owner, "reasoning_tokens"),
    )


def audio_usage(event: LLMEndEvent, owner: Any) -> tuple[int | None, int | None]:
    """(input audio, output audio) tokens of ``event`` (realtime voice); bad ones are None (logged)."""
    ai, ao = event.input_audio_tokens, event.output_audio_tokens
    if ai is None and ao is None:  # text calls: no checks to make
        return None, None
    return count(ai, owner, "input_audio_tokens"), count(ao, owner, "output_audio_tokens")


def wanted_tokens(value: Any, owner: Any, field: str) -> int | None:
    """A requested token cap (``max_tokens``) as a count, for estimates; None if absent or unreadable.

    ``"10"`` (text of a whole number, as configuration files give it) is read as 10 and a whole
    float as its int; a cap over ``MAX_TOKENS`` is read as ``MAX_TOKENS``, still an upper bound, so
    a budget refuses the call rather than reserve an infinity. Anything else (a word, a negative
    or fractional number, NaN, a bool) is ignored, logged as for ``count``.
    """
    if value is None:
        return None
    if value.__class__ is int:
        if value >= 0:
            return min(value, MAX_TOKENS)
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return min(int(text), MAX_TOKENS)
    elif isinstance(value, float):
        if value >= 0 and (value == math.inf or value.is_integer()):
            return MAX_TOKENS if value > MAX_TOKENS else int(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return min(int(value), MAX_TOKENS)
    _ignored(owner, field, value)
    return None
