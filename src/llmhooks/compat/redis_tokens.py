"""Seed 002's Redis token accounting (AIECS), as thin wrappers over ``TokenLedger``.

    from llmhooks.compat import create_token_callback, token_usage_repo

    callback = create_token_callback(user_id="user_123", cycle_start_date="2024-01-01")
    await llm.achat(messages, callbacks=[callback])
    stats = await token_usage_repo.get_usage_stats("user_123", "2024-01-01")

The names and behaviour are the seed's: ``RedisTokenCallbackHandler(user_id,
cycle_start_date)`` adds each call's ``tokens_used`` to the user's ``total_tokens``;
``DetailedRedisTokenCallbackHandler`` adds prompt and completion tokens as well;
``token_usage_repo`` has ``increment_total_usage``, ``increment_detailed_usage``,
``increment_prompt_tokens``, ``increment_completion_tokens``, ``get_usage_stats``,
``reset_usage``, ``set_usage_limit`` and ``check_usage_limit``. ``cycle_start_date`` names
the cycle (``"YYYY-MM-DD"``); without it, the current calendar month (UTC).

What changed underneath, and why:

- every increment is one atomic ledger write: the seed's pipeline could count a call's
  prompt without its completion if the connection dropped in between;
- every write is keyed (by the run id for the handlers, by a fresh id for a direct
  ``increment_*`` call), so a write sent again counts once; the seed's instances kept
  per-call state (``self.start_time``, ``self.prompt_tokens``) that concurrent calls
  overwrote, so these keep none;
- no call waits longer than ``timeout`` (0.5 s by default) for Redis, even a frozen one:
  an increment that Redis did not take in time is kept and written from a background
  queue (the core's, flushed at exit and by ``llmhooks.flush()``) once Redis answers, so
  it is not lost and counts once; the handlers log it, and ``token_usage_repo.stats()``
  counts ``written``, ``deferred``, ``failed`` (not written after ``retry_for`` seconds of
  retries) and ``dropped`` (more than 10,000 waiting). Reads return the seed's defaults
  (zeros) when Redis does not answer in time;
- usage the provider did not report is estimated (``_estimate_prompt_tokens``: four
  characters per token, as the seed) but counted apart, in ``estimated_prompt_tokens`` /
  ``estimated_completion_tokens`` of ``get_usage_stats``, never mixed into the exact counts.

Redis: ``configure_token_usage(redis=..., prefix=..., timeout=...)``, else ``REDIS_URL``, else
``REDIS_HOST``/``REDIS_PORT``/``REDIS_DB``/``REDIS_PASSWORD`` as in AIECS (default
``redis://127.0.0.1:6379/0``). This module imports redis-py only when first used.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from llmhooks.compat.dict_style import CompositeCallbackHandler, CustomAsyncCallbackHandler

if TYPE_CHECKING:
    from llmhooks.core.background import BackgroundWorker
    from llmhooks.handlers.redis import LedgerEntry, TokenLedger
    from llmhooks.handlers.redis._connection import RedisTarget

__all__ = [
    "DetailedRedisTokenCallbackHandler",
    "RedisTokenCallbackHandler",
    "TokenUsageRepository",
    "configure_token_usage",
    "create_composite_callback",
    "create_detailed_token_callback",
    "create_token_callback",
    "token_usage_repo",
]

logger = logging.getLogger("llmhooks.compat")

_DEFERRED_MAX = 10_000  # increments kept while Redis is away
_LOG_EVERY = 10.0


def _url_from_env() -> str:
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    host = os.environ.get("REDIS_HOST", "127.0.0.1")
    port = os.environ.get("REDIS_PORT", "6379")
    db = os.environ.get("REDIS_DB", "0")
    password = os.environ.get("REDIS_PASSWORD")
    auth = f":{password}@" if password else ""
    return f"redis://{auth}{host}:{port}/{db}"


class TokenUsageRepository:
    """Seed 002's ``TokenUsageRepository``: async per-user, per-cycle token counts in Redis.

    Args:
        redis: a URL, a client, or a ``RedisConnection`` (default: from the environment).
        prefix: put before every key.
        timeout: seconds any call waits for Redis at most (when ``redis`` is not a
            ``RedisConnection``, which has its own).
        retry_for: seconds a kept increment is retried from the background before it is
            counted as ``failed``.
    """

    def __init__(
        self,
        redis: RedisTarget | None = None,
        *,
        prefix: str = "llmhooks:",
        timeout: float = 0.5,
        retry_for: float = 30.0,
    ) -> None:
        self._lock = threading.Lock()
        self._ledger: TokenLedger | None = None
        self._worker: BackgroundWorker | None = None
        self._stats = {"written": 0, "deferred": 0, "failed": 0, "dropped": 0}
        self._logged_at = -_LOG_EVERY
        self.configure(redis, prefix=prefix, timeout=timeout, retry_for=retry_for)

    def configure(
        self,
        redis: RedisTarget | None = None,
        *,
        prefix: str = "llmhooks:",
        timeout: float = 0.5,
        retry_for: float = 30.0,
    ) -> None:
        """Point the repository at another Redis (or key prefix, or timeout) from now on."""
        from llmhooks._validate import check_number

        check_number("timeout", timeout, minimum=0, exclusive_minimum=True)
        check_number("retry_for", retry_for, minimum=0)
        with self._lock:
            self._redis, self._prefix, self._ledger = redis, prefix, None
            self.timeout, self.retry_for = float(timeout), float(retry_for)

    @property
    def ledger(self) -> TokenLedger:
        """The ``TokenLedger`` underneath (made on first use)."""
        ledger = self._ledger
        if ledger is None:
            from llmhooks.handlers.redis import TokenLedger

            with self._lock:
                ledger = self._ledger
                if ledger is None:
                    ledger = self._ledger = TokenLedger(
                        self._redis or _url_from_env(), prefix=self._prefix, timeout=self.timeout
                    )
        return ledger

    def _cycle(self, cycle_start_date: str | None) -> str:
        if cycle_start_date:
            return cycle_start_date
        from llmhooks.handlers.redis.cycles import cycle_of

        return cycle_of("monthly")(time.time())

    async def _add(
        self, user_id: str, counts: dict[str, int], cycle_start_date: str | None, run_id: str | None
    ) -> bool:
        from llmhooks.handlers.redis import LedgerEntry, RedisUnavailable

        # keyed even without a run id (each such call is a new increment, as in the seed),
        # so a kept increment written later counts once
        entry = LedgerEntry(run_id or secrets.token_hex(8), user_id, self._cycle(cycle_start_date), counts)
        ledger = self.ledger
        try:
            await ledger.arecord(entry)  # at most the timeout (RedisConnection.arun)
        except RedisUnavailable as exc:
            self._defer(ledger, entry, exc)
            return False
        with self._lock:
            self._stats["written"] += 1
        return True

    def _defer(self, ledger: TokenLedger, entry: LedgerEntry, exc: BaseException) -> None:
        """Keep ``entry`` for the background queue, which writes it once Redis answers."""
        from llmhooks.core.background import BackgroundWorker

        with self._lock:
            self._stats["deferred"] += 1
            if self._worker is None:
                self._worker = BackgroundWorker(
                    maxsize=_DEFERRED_MAX,
                    deliver=self._write_later,
                    batch_size=256,
                    name="llmhooks-token-usage",
                    label="token_usage_repo",
                    on_drop=self._dropped,
                )
            worker = self._worker
            now = time.monotonic()
            log, self._logged_at = (now - self._logged_at >= _LOG_EVERY), now
        if log:
            logger.warning(
                "token_usage_repo: Redis did not answer within %gs (%s); increments are kept and "
                "written when it answers",
                self.timeout,
                exc,
            )
        worker.put((ledger, entry))

    def _write_later(self, batch: list[tuple[TokenLedger, LedgerEntry]]) -> None:
        from llmhooks.handlers._backoff import retry
        from llmhooks.handlers.redis import RedisUnavailable

        by_ledger: dict[int, tuple[TokenLedger, list[LedgerEntry]]] = {}
        for ledger, entry in batch:
            by_ledger.setdefault(id(ledger), (ledger, []))[1].append(entry)
        for ledger, entries in by_ledger.values():
            try:
                retry(
                    lambda: ledger.record_many(entries),  # noqa: B023 - called before the loop moves on
                    retryable=(RedisUnavailable,),
                    retry_for=self.retry_for,
                )
            except RedisUnavailable as exc:
                with self._lock:
                    self._stats["failed"] += len(entries)
                logger.error(
                    "token_usage_repo: %d increment(s) not written after %gs: %s",
                    len(entries),
                    self.retry_for,
                    exc,
                )
                continue
            with self._lock:
                self._stats["written"] += len(entries)

    def _dropped(self, item: object) -> None:
        with self._lock:
            self._stats["dropped"] += 1

    def stats(self) -> dict[str, int]:
        """``written`` increments, ``deferred`` ones (Redis did not answer in time: kept and
        written later), ``failed`` (given up) and ``dropped`` (too many kept), and ``pending``."""
        with self._lock:
            out = dict(self._stats)
            worker = self._worker
        out["pending"] = worker.pending if worker is not None else 0
        return out

    async def increment_prompt_tokens(
        self,
        user_id: str,
        prompt_tokens: int,
        cycle_start_date: str | None = None,
        *,
        run_id: str | None = None,
    ) -> bool:
        """Add to ``user_id``'s prompt tokens (nothing for no user or a count <= 0).

        Returns:
            False if Redis did not answer within the timeout: the increment is kept and
            written when it answers (see ``stats()``). Like every increment below.
        """
        if not user_id or prompt_tokens <= 0:
            return True
        return await self._add(user_id, {"input_tokens": prompt_tokens}, cycle_start_date, run_id)

    async def increment_completion_tokens(
        self,
        user_id: str,
        completion_tokens: int,
        cycle_start_date: str | None = None,
        *,
        run_id: str | None = None,
    ) -> bool:
        """Add to ``user_id``'s completion tokens."""
        if not user_id or completion_tokens <= 0:
            return True
        return await self._add(user_id, {"output_tokens": completion_tokens}, cycle_start_date, run_id)

    async def increment_total_usage(
        self,
        user_id: str,
        total_tokens: int,
        cycle_start_date: str | None = None,
        *,
        run_id: str | None = None,
    ) -> bool:
        """Add to ``user_id``'s total tokens (the seed's ``RedisTokenCallbackHandler`` write)."""
        if not user_id or total_tokens <= 0:
            return True
        return await self._add(user_id, {"total_tokens": total_tokens}, cycle_start_date, run_id)

    async def increment_detailed_usage(
        self,
        user_id: str,
        prompt_tokens: int,
        completion_tokens: int,
        cycle_start_date: str | None = None,
        *,
        run_id: str | None = None,
        estimated: bool = False,
    ) -> bool:
        """Add prompt, completion and total tokens at once (atomically); ``estimated`` keeps them apart."""
        if not user_id or (prompt_tokens <= 0 and completion_tokens <= 0):
            return True
        p, c = max(0, prompt_tokens), max(0, completion_tokens)
        if estimated:
            counts = {"estimated_calls": 1, "estimated_input_tokens": p, "estimated_output_tokens": c}
        else:
            counts = {"input_tokens": p, "output_tokens": c, "total_tokens": p + c}
        return await self._add(user_id, counts, cycle_start_date, run_id)

    async def get_usage_stats(self, user_id: str, cycle_start_date: str | None = None) -> dict[str, int]:
        """``prompt_tokens``, ``completion_tokens``, ``total_tokens`` (zeros when Redis fails).

        Also ``usage_limit`` when one was set, and ``estimated_prompt_tokens`` /
        ``estimated_completion_tokens`` when some usage was estimated.
        """
        if not user_id:
            return {}
        try:
            cycle = self._cycle(cycle_start_date)
            totals = await self.ledger.atotals(user_id, cycle)
            limit = await self._limit(user_id, cycle)
        except Exception as exc:  # the seed's contract: default values on error
            logger.error("Failed to get usage stats for user %s: %s", user_id, exc)
            return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        stats = {
            "prompt_tokens": totals.input_tokens,
            "completion_tokens": totals.output_tokens,
            "total_tokens": totals.total_tokens,
        }
        if limit:
            stats["usage_limit"] = limit
        if totals.estimated_calls:
            stats["estimated_prompt_tokens"] = totals.estimated_input_tokens
            stats["estimated_completion_tokens"] = totals.estimated_output_tokens
        return stats

    async def _limit(self, user_id: str, cycle: str) -> int:
        key = self.ledger.key(user_id, cycle)
        raw = await self.ledger.connection.arun(lambda r: r.hget(key, "usage_limit"))
        return int(raw) if raw else 0

    async def reset_usage(self, user_id: str, cycle_start_date: str | None = None) -> None:
        """Delete ``user_id``'s counts (and limit) for the cycle."""
        if not user_id:
            return
        await self.ledger.areset(user_id, self._cycle(cycle_start_date))

    async def set_usage_limit(self, user_id: str, limit: int, cycle_start_date: str | None = None) -> None:
        """Set ``user_id``'s token limit for the cycle (nothing for a limit <= 0)."""
        if not user_id or limit <= 0:
            return
        key = self.ledger.key(user_id, self._cycle(cycle_start_date))
        await self.ledger.connection.arun(lambda r: r.hset(key, "usage_limit", str(limit)))

    async def check_usage_limit(self, user_id: str, cycle_start_date: str | None = None) -> dict[str, Any]:
        """``exceeded``, ``current_usage``, ``limit`` and ``remaining`` (``inf`` without a limit)."""
        if not user_id:
            return {"exceeded": False, "current_usage": 0, "limit": 0, "remaining": 0}
        try:
            cycle = self._cycle(cycle_start_date)
            current = (await self.ledger.atotals(user_id, cycle)).total_tokens
            limit = await self._limit(user_id, cycle)
        except Exception as exc:
            logger.error("Failed to check usage limit for user %s: %s", user_id, exc)
            return {"exceeded": False, "current_usage": 0, "limit": 0, "remaining": 0}
        return {
            "exceeded": limit > 0 and current >= limit,
            "current_usage": current,
            "limit": limit,
            "remaining": max(0, limit - current) if limit > 0 else float("inf"),
        }


token_usage_repo = TokenUsageRepository()
"""The shared repository, as seed 002's ``aiecs.utils.token_usage_repository.token_usage_repo``."""


def configure_token_usage(
    redis: RedisTarget | None = None,
    *,
    prefix: str = "llmhooks:",
    timeout: float = 0.5,
    retry_for: float = 30.0,
) -> None:
    """Point ``token_usage_repo`` (and the handlers below) at a Redis, key prefix and timeout."""
    token_usage_repo.configure(redis, prefix=prefix, timeout=timeout, retry_for=retry_for)


_KEPT = (
    "%s Failed to record token usage for user '%s' now: Redis did not answer within %gs; "
    "kept, to be written when it answers"
)


def _write_id(kwargs: dict[str, Any], kind: str) -> str | None:
    """The idempotency key of one handler kind's write for a run (both kinds may count one run)."""
    run_id = kwargs.get("run_id")
    return f"{run_id}:{kind}" if run_id else None


def _check_user(user_id: str, cls: str) -> str:
    if not user_id:
        raise ValueError(f"user_id must be provided for {cls}")
    if not isinstance(user_id, str):
        raise TypeError(
            f"user_id must be a string (the user's id), got {user_id!r} ({type(user_id).__name__})"
        )
    return user_id


def _check_cycle(cycle_start_date: str | None) -> str | None:
    """``cycle_start_date`` as given if it is None or a ``"YYYY-MM-DD"`` date, as seed 002 writes it."""
    if cycle_start_date is None:
        return None
    import datetime

    try:
        ok = isinstance(cycle_start_date, str) and len(cycle_start_date) == 10
        if ok:
            datetime.date.fromisoformat(cycle_start_date)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            "cycle_start_date must be None (the current month) or a date 'YYYY-MM-DD', "
            f"got {cycle_start_date!r} ({type(cycle_start_date).__name__})"
        )
    return cycle_start_date


class RedisTokenCallbackHandler(CustomAsyncCallbackHandler):
    """Adds each call's ``tokens_used`` to ``user_id``'s total for the cycle (seed 002).

    Args:
        user_id: whose tokens these are (every call this handler sees).
        cycle_start_date: the cycle (``"YYYY-MM-DD"``), default the current month.

    Raises:
        ValueError: ``user_id`` is empty.
    """

    def __init__(self, user_id: str, cycle_start_date: str | None = None) -> None:
        self.user_id = _check_user(user_id, "RedisTokenCallbackHandler")
        self.cycle_start_date = _check_cycle(cycle_start_date)

    async def on_llm_start(self, messages: list[dict[str, Any]], **kwargs: Any) -> None:  # type: ignore[override]
        logger.info(
            "[Callback] LLM call started for user '%s' with %d messages", self.user_id, len(messages or ())
        )

    async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        duration_ms = kwargs.get("duration_ms")
        if duration_ms is not None:
            logger.info(
                "[Callback] LLM call completed for user '%s' in %.2fs", self.user_id, duration_ms / 1000
            )
        tokens_used = response.get("tokens_used")
        if not tokens_used or tokens_used <= 0:
            logger.warning("[Callback] No token usage data available for user '%s'", self.user_id)
            return
        try:
            written = await token_usage_repo.increment_total_usage(
                self.user_id, tokens_used, self.cycle_start_date, run_id=_write_id(kwargs, "total")
            )
        except Exception as exc:  # the seed's rule: never break the LLM call
            logger.error("[Callback] Failed to record token usage for user '%s': %s", self.user_id, exc)
            return
        if not written:
            logger.error(_KEPT, "[Callback]", self.user_id, token_usage_repo.timeout)
            return
        logger.info("[Callback] Recorded %d tokens for user '%s'", tokens_used, self.user_id)

    async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:  # type: ignore[override]
        logger.error("[Callback] LLM call failed for user '%s': %s", self.user_id, error)


class DetailedRedisTokenCallbackHandler(CustomAsyncCallbackHandler):
    """Adds prompt, completion and total tokens per call (seed 002), estimates kept apart.

    The prompt estimate of a call is kept by its run id between ``on_llm_start`` and
    ``on_llm_end``, so concurrent calls through one handler do not mix up their counts.

    Raises:
        ValueError: ``user_id`` is empty.
    """

    def __init__(self, user_id: str, cycle_start_date: str | None = None) -> None:
        self.user_id = _check_user(user_id, "DetailedRedisTokenCallbackHandler")
        self.cycle_start_date = _check_cycle(cycle_start_date)
        self._estimates: dict[str, int] = {}
        self._lock = threading.Lock()

    async def on_llm_start(self, messages: list[dict[str, Any]], **kwargs: Any) -> None:  # type: ignore[override]
        estimate = self._estimate_prompt_tokens(messages) if messages else 0
        run_id = kwargs.get("run_id")
        if run_id:
            with self._lock:  # one instance may serve calls from several threads' event loops
                if len(self._estimates) >= 10_000:  # a run that never ended
                    self._estimates.pop(next(iter(self._estimates)))
                self._estimates[run_id] = estimate
        logger.info(
            "[DetailedCallback] LLM call started for user '%s' with estimated %d prompt tokens",
            self.user_id,
            estimate,
        )

    async def on_llm_end(self, response: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        run_id = kwargs.get("run_id")
        with self._lock:
            estimate = self._estimates.pop(run_id, 0) if run_id else 0
        exact = (response.get("prompt_tokens") or 0) > 0 or (response.get("completion_tokens") or 0) > 0
        event = kwargs.get("event")
        if getattr(event, "usage_estimated", False):
            exact = False
        prompt, completion = self._extract_detailed_tokens(response, estimate)
        if prompt <= 0 and completion <= 0:
            logger.warning(
                "[DetailedCallback] No detailed token usage data available for user '%s'", self.user_id
            )
            return
        try:
            written = await token_usage_repo.increment_detailed_usage(
                self.user_id,
                prompt,
                completion,
                self.cycle_start_date,
                run_id=_write_id(kwargs, "detailed"),
                estimated=not exact,
            )
        except Exception as exc:
            logger.error(
                "[DetailedCallback] Failed to record detailed token usage for user '%s': %s",
                self.user_id,
                exc,
            )
            return
        if not written:
            logger.error(_KEPT, "[DetailedCallback]", self.user_id, token_usage_repo.timeout)
            return
        logger.info(
            "[DetailedCallback] Recorded detailed tokens for user '%s': prompt=%d, completion=%d%s",
            self.user_id,
            prompt,
            completion,
            "" if exact else " (estimated)",
        )

    async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:  # type: ignore[override]
        run_id = kwargs.get("run_id")
        if run_id:
            with self._lock:
                self._estimates.pop(run_id, None)
        logger.error("[DetailedCallback] LLM call failed for user '%s': %s", self.user_id, error)

    def _estimate_prompt_tokens(self, messages: list[dict[str, Any]]) -> int:
        """The seed's estimate: four characters per token."""
        if not messages:
            return 0
        return (
            sum(len(m.get("content") or "") for m in messages if isinstance(m.get("content") or "", str)) // 4
        )

    def _extract_detailed_tokens(self, response: dict[str, Any], prompt_estimate: int = 0) -> tuple[int, int]:
        """``(prompt, completion)``: the response's own counts, else split or estimated (the seed's rules)."""
        prompt = response.get("prompt_tokens") or 0
        completion = response.get("completion_tokens") or 0
        if prompt > 0 or completion > 0:
            return prompt, completion
        tokens_used = response.get("tokens_used") or 0
        if tokens_used > 0:
            return prompt_estimate, max(0, tokens_used - prompt_estimate)
        content = response.get("content") or ""
        if content:
            return prompt_estimate, len(content) // 4
        return prompt_estimate, 0


def create_token_callback(user_id: str, cycle_start_date: str | None = None) -> RedisTokenCallbackHandler:
    """A ``RedisTokenCallbackHandler`` (seed 002's factory)."""
    return RedisTokenCallbackHandler(user_id, cycle_start_date)


def create_detailed_token_callback(
    user_id: str, cycle_start_date: str | None = None
) -> DetailedRedisTokenCallbackHandler:
    """A ``DetailedRedisTokenCallbackHandler`` (seed 002's factory)."""
    return DetailedRedisTokenCallbackHandler(user_id, cycle_start_date)


def create_composite_callback(*handlers: CustomAsyncCallbackHandler) -> CompositeCallbackHandler:
    """A ``CompositeCallbackHandler`` of ``handlers`` (seed 002's factory)."""
    return CompositeCallbackHandler(list(handlers))
