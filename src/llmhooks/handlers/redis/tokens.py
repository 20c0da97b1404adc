"""``RedisTokenLedger``: every LLM call's tokens and cost, per user and billing cycle, in Redis.

    ledger = RedisTokenLedger("redis://127.0.0.1:6379/0", prefix="myapp:")
    with callbacks_context([CostTracker(), ledger]), run_context(user_id="alice"):
        llm.chat("hi")
    llmhooks.flush()                      # background handler: wait for the write
    ledger.totals("alice").input_tokens   # this month's, from any process

The user is the event's ``user_id`` (``run_context(user_id=...)``), else ``user_id=``,
else ``default_user``; the cycle comes from the call's own timestamp (``cycle=``, see
``cycles``). Each ``llm.end`` counts one call, and each ``llm.error`` one error, in one
atomic write keyed by the run id (``TokenLedger``): the same event recorded twice, by a
retry or by a collector that received it again, counts once.

Usage the provider reported is counted as is. A call that reported none is counted in
``estimated_*`` fields, apart from the exact ones: its prompt from the ``llm.start``
event, its answer from the text, both at about three characters per token (the
estimate budgets use, erring high). Cost is the event's ``cost`` (set by ``CostTracker``
or the producer), else priced here from ``prices=`` / ``genai-prices`` when available;
calls with estimated usage or an unknown price are counted as unpriced.

It runs in the background (``background = True``) so the caller never waits for Redis;
while Redis is away a write is retried with backoff for ``retry_for`` seconds, then
counted in ``stats()["failed"]`` and logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from llmhooks._validate import check_bool, check_number
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import Event, LLMEndEvent, LLMErrorEvent, LLMStartEvent
from llmhooks.handlers._backoff import retry
from llmhooks.handlers._estimate import CHARS_PER_TOKEN, estimate_prompt_tokens
from llmhooks.handlers._pricing import Price, Pricer, genai_prices_available
from llmhooks.handlers.redis._connection import DEFAULT_URL, RedisTarget, RedisUnavailable
from llmhooks.handlers.redis.cycles import Cycle, cycle_of
from llmhooks.handlers.redis.ledger import LedgerEntry, LedgerTotals, TokenLedger

__all__ = ["RedisTokenLedger"]

logger = logging.getLogger("llmhooks.redis")

_LOG_EVERY = 10.0  # seconds between two "not counted" errors
_MAX_OPEN = 10_000  # prompt estimates kept for runs still open (a run that never ends is forgotten)


class RedisTokenLedger(Callbacks):
    """A handler counting LLM calls into a ``TokenLedger``; thread-, task- and process-safe.

    Args:
        redis: a URL, a client, or a ``RedisConnection`` to share.
        prefix: put before every key.
        cycle: ``"monthly"`` (UTC calendar months, the default), ``"daily"``, ``"all"``, a
            cycle start date (every call counts in that cycle, as seed 002's
            ``cycle_start_date``), or a function of the call's timestamp returning the id.
        user_id: the user of calls whose events carry no ``user_id``.
        default_user: the user of calls with neither (None: such calls are not counted).
        prices: your own price table, as for ``CostTracker``.
        estimate_missing: count an estimate (apart) for calls that report no usage.
        retry_for: seconds a write is retried while Redis is away.
        background: deliver from the background worker (True), or write in the caller.
        ledger: a ``TokenLedger`` to write to (then ``redis``, ``prefix`` and the
            ledger options are its own).
        idempotency_window, retention, timeout: as for ``TokenLedger``.

    Raises:
        ValueError, TypeError: a malformed argument.
    """

    background = True
    background_batch_size: ClassVar[int] = 512

    def __init__(
        self,
        redis: RedisTarget = DEFAULT_URL,
        *,
        prefix: str = "llmhooks:",
        cycle: Cycle = "monthly",
        user_id: str | None = None,
        default_user: str | None = "anonymous",
        prices: Mapping[str, Price | Mapping[str, Any]] | None = None,
        estimate_missing: bool = True,
        retry_for: float = 30.0,
        background: bool = True,
        ledger: TokenLedger | None = None,
        idempotency_window: float = 2 * 86400,
        retention: float | None = None,
        timeout: float = 0.5,
    ) -> None:
        for name, value in (("user_id", user_id), ("default_user", default_user)):
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{name} must be a non-empty string or None, got {value!r}")
        self.retry_for = float(check_number("retry_for", retry_for, minimum=0))
        self.background = check_bool("background", background)
        self.estimate_missing = check_bool("estimate_missing", estimate_missing)
        self.ledger = ledger or TokenLedger(
            redis, prefix=prefix, idempotency_window=idempotency_window, retention=retention, timeout=timeout
        )
        self.cycle = cycle_of(cycle)
        self.user_id = user_id
        self.default_user = default_user
        self.pricer = Pricer(prices) if (prices or genai_prices_available()) else None
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stats = {"recorded": 0, "duplicates": 0, "retries": 0, "failed": 0}
        self._failing = False
        self._logged_at = -_LOG_EVERY

    def __repr__(self) -> str:
        return f"RedisTokenLedger({self.ledger!r})"

    # events -> entries

    def user_of(self, event: Event) -> str | None:
        """The user a call is counted for."""
        return event.user_id or self.user_id or self.default_user

    def entry_for(self, event: Event) -> LedgerEntry | None:
        """The ledger entry of an ``llm.end`` or ``llm.error`` event (None for other events)."""
        if isinstance(event, LLMEndEvent):
            counts = self._end_counts(event)
        elif isinstance(event, LLMErrorEvent):
            self._forget(event.run_id)
            counts = {"errors": 1}
        else:
            return None
        user = self.user_of(event)
        if user is None or not event.run_id:
            return None
        return LedgerEntry(event.run_id, user, self.cycle(event.timestamp), counts)

    def _end_counts(self, e: LLMEndEvent) -> dict[str, int]:
        prompt_estimate = self._forget(e.run_id)
        counts = {"calls": 1}
        reported = e.input_tokens is not None or e.output_tokens is not None
        if reported and not e.usage_estimated:
            i, o = e.input_tokens or 0, e.output_tokens or 0
            counts["input_tokens"] = i
            counts["output_tokens"] = o
            counts["total_tokens"] = e.total_tokens if e.total_tokens is not None else i + o
            counts["cached_input_tokens"] = e.cached_input_tokens or 0
            counts["cache_write_input_tokens"] = e.cache_write_input_tokens or 0
            counts["reasoning_tokens"] = e.reasoning_tokens or 0
            cost = self._cost(e)
            if cost is not None:
                counts["cost_micros"] = max(0, round(cost * 1_000_000))
                counts["priced_calls"] = 1
            return counts
        if not (reported or self.estimate_missing):
            return counts
        counts["estimated_calls"] = 1
        if reported:  # the producer's own estimate
            counts["estimated_input_tokens"] = e.input_tokens or 0
            counts["estimated_output_tokens"] = e.output_tokens or 0
        else:
            text = e.response if isinstance(e.response, str) else ""
            counts["estimated_input_tokens"] = prompt_estimate or 0
            counts["estimated_output_tokens"] = -(-len(text) // CHARS_PER_TOKEN)
        return counts

    def _cost(self, e: LLMEndEvent) -> float | None:
        if e.cost is not None:
            return e.cost
        if self.pricer is None:
            return None
        priced = self.pricer.cost(
            e.provider,
            e.model,
            e.input_tokens,
            e.output_tokens,
            e.cached_input_tokens,
            e.cache_write_input_tokens,
            e.reasoning_tokens,
            e.timestamp,
            e.input_audio_tokens,
            e.output_audio_tokens,
        )
        return None if priced is None else priced.usd

    def _forget(self, run_id: str) -> int | None:
        if not self._open:
            return None
        with self._lock:
            return self._open.pop(run_id, None)

    # handler

    def wants(self, event_cls: type[Event]) -> bool:
        """Only LLM starts, ends and errors reach this handler (and its queue)."""
        return issubclass(event_cls, (LLMStartEvent, LLMEndEvent, LLMErrorEvent))

    def on_llm_start(self, event: LLMStartEvent) -> None:
        """Remember the prompt's estimate, in case the call reports no usage."""
        if not self.estimate_missing:
            return
        estimate = estimate_prompt_tokens(event)
        with self._lock:
            if len(self._open) >= _MAX_OPEN:
                self._open.pop(next(iter(self._open)))
            self._open[event.run_id] = estimate

    def on_llm_end(self, event: LLMEndEvent) -> None:
        """Count the call."""
        self._write([event])

    def on_llm_error(self, event: LLMErrorEvent) -> None:
        """Count the error."""
        self._write([event])

    def on_batch(self, events: Sequence[Event]) -> None:
        """Count a batch of events in one round trip (called by the background worker)."""
        self._write(events)

    def write_batch(self, events: Sequence[Event]) -> int:
        """Count a batch, raising ``RedisUnavailable`` if it could not be (the caller keeps it).

        What a ``Collector`` calls: it acknowledges the batch's entries only once this
        returned, and hands the same batch again after a failure (it counts once).

        Returns:
            the calls newly counted (the others were counted before).
        """
        for event in events:
            if isinstance(event, LLMStartEvent):
                self.on_llm_start(event)
        entries = [x for x in (self.entry_for(e) for e in events) if x is not None]
        if not entries:
            return 0
        results = retry(
            lambda: self.ledger.record_many(entries),
            retryable=(RedisUnavailable,),
            retry_for=self.retry_for,
            on_retry=self._on_retry,
        )
        counted = sum(results)
        with self._lock:
            self._stats["recorded"] += counted
            self._stats["duplicates"] += len(results) - counted
        if self._failing:
            self._failing = False
            logger.warning("RedisTokenLedger: Redis at %s answers again", self.ledger.connection.where)
        return counted

    def _write(self, events: Sequence[Event]) -> None:
        try:
            self.write_batch(events)
        except RedisUnavailable as exc:
            n = sum(isinstance(e, (LLMEndEvent, LLMErrorEvent)) for e in events)
            with self._lock:
                self._stats["failed"] += n
            logger.error("RedisTokenLedger: %d call(s) not counted after %.0fs: %s", n, self.retry_for, exc)

    def _on_retry(self, exc: BaseException) -> None:
        with self._lock:
            self._stats["retries"] += 1
        if not self._failing:
            self._failing = True
            logger.warning("RedisTokenLedger: retrying while Redis is away: %s", exc)

    # reading

    def totals(self, user_id: str | None = None, cycle: str | None = None) -> LedgerTotals:
        """A user's totals (default: ``user_id`` or ``default_user``) for a cycle (default: now's)."""
        user = user_id or self.user_id or self.default_user
        if user is None:
            raise ValueError("totals() needs a user_id (this ledger has no default user)")
        return self.ledger.totals(user, cycle or self.cycle(time.time()))

    def listing(self, cycle: str | None = None) -> list[LedgerTotals]:
        """Every user's totals for a cycle (default: now's), sorted by user."""
        return self.ledger.listing(cycle or self.cycle(time.time()))

    def stats(self) -> dict[str, int]:
        """``recorded`` calls, ``duplicates`` ignored, ``retries`` made, ``failed`` (not counted)."""
        with self._lock:
            return dict(self._stats)
