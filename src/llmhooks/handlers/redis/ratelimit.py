"""``RedisRateLimiter``: ``RateLimiter``'s requests and tokens per period, shared by every process.

    limiter = RedisRateLimiter(requests_per_minute=500, tokens_per_minute=200_000,
                               redis="redis://redis:6379/0", name="openai")

Each call takes a *ticket* from one server-side script: the earliest start time, never
before the previous ticket's, at which it keeps both limits over the sliding window
(``period`` seconds), reserving its estimated tokens (prompt at about three characters
per token plus ``max_tokens`` or ``default_max_tokens``) at that time. The call then
waits until its time (``time.sleep``, or ``await asyncio.sleep`` in async code) instead
of failing; ``max_wait`` turns longer waits into ``RateLimitExceeded``. Its ``llm.end``
replaces the estimate with the real ``total_tokens``.

The window is a log of tickets (a sorted set per limit), never a counter reset with
``SET``: entries leave it one by one as they age past ``period``, so no concurrent spend
is lost at a window boundary, and a process that dies leaves only tickets that age out
by themselves. The time is the Redis server's, so the workers' clocks do not matter.
A ticket is keyed by run id: a retry after a timeout gets the same ticket.

When Redis cannot be reached within ``timeout``, ``on_unavailable`` decides: ``"allow"``
(default; a warning is logged once per outage) or ``"refuse"`` (``RateLimitUnavailable``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Literal

from llmhooks._validate import check_choice, check_int, check_number
from llmhooks.core.callbacks import Callbacks
from llmhooks.errors import RateLimitExceeded, RateLimitUnavailable
from llmhooks.events import LLMEndEvent, LLMStartEvent
from llmhooks.handlers._estimate import estimate_prompt_tokens, requested_max_tokens
from llmhooks.handlers.redis._connection import (
    DEFAULT_URL,
    RedisConnection,
    RedisTarget,
    RedisUnavailable,
    Script,
    connect,
)

__all__ = ["RateLimitUnavailable", "RedisRateLimiter"]

logger = logging.getLogger("llmhooks.redis")

# KEYS: starts (run -> start ms), tokens (run -> start ms), amounts (run -> tokens), meta (last, sum)
# ARGV: run id, rpm (0: none), tpm (0: none), estimate, period (ms), max wait (ms, -1: none)
# Returns {1, wait ms} admitted, {0, wait ms} refused (longer than max wait).
_TICKET = Script(
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local run = ARGV[1]
local rpm, tpm, est = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local period, max_wait = tonumber(ARGV[5]), tonumber(ARGV[6])
local mine = redis.call('ZSCORE', KEYS[1], run) or redis.call('ZSCORE', KEYS[2], run)
if mine then return {1, tostring(math.max(0, tonumber(mine) - now))} end
local at = math.max(now, tonumber(redis.call('HGET', KEYS[4], 'last') or '0'))
if rpm > 0 then
  local n = redis.call('ZCARD', KEYS[1])
  if n >= rpm then
    local e = redis.call('ZRANGE', KEYS[1], n - rpm, n - rpm, 'WITHSCORES')
    at = math.max(at, tonumber(e[2]) + period)
  end
end
local sum = 0
if tpm > 0 then
  sum = tonumber(redis.call('HGET', KEYS[4], 'sum') or '0')
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - period)
  for _, id in ipairs(old) do
    sum = sum - tonumber(redis.call('HGET', KEYS[3], id) or '0')
    redis.call('HDEL', KEYS[3], id)
  end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - period) end
  local used, from, done = sum, 0, false
  while not done do
    local chunk = redis.call('ZRANGE', KEYS[2], from, from + 63, 'WITHSCORES')
    if #chunk == 0 then break end
    for i = 1, #chunk, 2 do
      local start = tonumber(chunk[i + 1])
      if start > at - period then
        if used + est <= tpm then done = true break end
        at = start + period
      end
      used = used - tonumber(redis.call('HGET', KEYS[3], chunk[i]) or '0')
    end
    from = from + 64
  end
end
local wait = at - now
if max_wait >= 0 and wait > max_wait then
  if tpm > 0 then redis.call('HSET', KEYS[4], 'sum', sum) end
  return {0, tostring(wait)}
end
redis.call('HSET', KEYS[4], 'last', tostring(at))
local ttl = math.ceil(2 * period + wait)
if rpm > 0 then
  redis.call('ZADD', KEYS[1], at, run)
  local n = redis.call('ZCARD', KEYS[1])
  if n > rpm then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - rpm - 1) end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
if tpm > 0 then
  redis.call('ZADD', KEYS[2], at, run)
  redis.call('HSET', KEYS[3], run, est)
  redis.call('HSET', KEYS[4], 'sum', sum + est)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
redis.call('PEXPIRE', KEYS[4], ttl)
return {1, tostring(wait)}
"""
)

# KEYS: tokens, amounts, meta. ARGV: run id, real tokens, period (ms). Idempotent.
_ACTUAL = Script(
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local start = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not start or tonumber(start) <= now - tonumber(ARGV[3]) then return 0 end
local old = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[3], 'sum', tonumber(ARGV[2]) - old)
return 1
"""
)


class RedisRateLimiter(Callbacks):
    """Delays LLM calls to keep every process together within requests and tokens per period.

    Args:
        requests_per_minute: most calls started in any ``period`` seconds, by all processes.
        tokens_per_minute: most tokens (estimated at start, real once ended) in any ``period``.
        period: the window, in seconds.
        max_wait: longest delay accepted (None: wait as long as needed).
        default_max_tokens: output tokens assumed for a call without ``max_tokens``.
        redis: a URL, a client, or a ``RedisConnection`` to share.
        name: limiters with the same ``redis``, ``prefix`` and ``name`` share one limit.
        prefix: put before every key.
        on_unavailable: ``"allow"`` calls while Redis cannot be reached, or ``"refuse"`` them.
        timeout: seconds to wait for Redis (when ``redis`` is a URL).

    Raises:
        ValueError, TypeError: no limit, or a malformed argument.
    """

    def __init__(
        self,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        *,
        period: float = 60.0,
        max_wait: float | None = None,
        default_max_tokens: int = 0,
        redis: RedisTarget = DEFAULT_URL,
        name: str = "default",
        prefix: str = "llmhooks:",
        on_unavailable: Literal["allow", "refuse"] = "allow",
        timeout: float = 0.5,
    ) -> None:
        if requests_per_minute is None and tokens_per_minute is None:
            raise ValueError("RedisRateLimiter needs requests_per_minute=... and/or tokens_per_minute=...")
        check_int("requests_per_minute", requests_per_minute, minimum=1, allow_none=True)
        check_int("tokens_per_minute", tokens_per_minute, minimum=1, allow_none=True)
        check_number("period", period, minimum=0, exclusive_minimum=True)
        check_number("max_wait", max_wait, minimum=0, allow_none=True)
        check_int("default_max_tokens", default_max_tokens, minimum=0)
        check_choice("on_unavailable", on_unavailable, ("allow", "refuse"))
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.period = float(period)
        self.max_wait = max_wait
        self.default_max_tokens = default_max_tokens
        self.name = name
        self.on_unavailable = on_unavailable
        self.connection: RedisConnection = (
            redis if isinstance(redis, RedisConnection) else connect(redis, timeout=timeout)
        )
        base = f"{prefix}rate:{name}:"
        self._keys = [base + "starts", base + "tokens", base + "amounts", base + "meta"]
        self._lock = threading.Lock()
        self._delayed = 0
        self._waited = 0.0
        self._warned_down = False

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter(name={self.name!r}, requests_per_minute={self.requests_per_minute}, "
            f"tokens_per_minute={self.tokens_per_minute}, {self.connection.where!r})"
        )

    # admission

    def _args(self, event: LLMStartEvent) -> list[Any]:
        estimate = 0
        if self.tokens_per_minute is not None:
            max_out = requested_max_tokens(event, self)
            estimate = estimate_prompt_tokens(event) + (
                self.default_max_tokens if max_out is None else max_out
            )
        return [
            event.run_id,
            self.requests_per_minute or 0,
            self.tokens_per_minute or 0,
            estimate,
            int(self.period * 1000),
            -1 if self.max_wait is None else int(self.max_wait * 1000),
        ]

    def _wait_of(self, result: Any) -> float:
        admitted, wait_ms = int(result[0]), float(result[1])
        wait = max(0.0, wait_ms / 1000)
        if not admitted:
            raise RateLimitExceeded(
                f"rate limit {self.name!r}: this call would wait {wait:.3f}s, more than "
                f"max_wait={self.max_wait}s ({self.requests_per_minute} requests / "
                f"{self.tokens_per_minute} tokens per {self.period:g}s)"
            )
        self._warned_down = False
        if wait > 0:
            with self._lock:
                self._delayed += 1
                self._waited += wait
        return wait

    def _unreachable(self, exc: RedisUnavailable) -> float:
        if self.on_unavailable == "refuse":
            raise RateLimitUnavailable(
                f"shared rate limit {self.name!r} refused the call: {exc} (on_unavailable='refuse')"
            ) from exc
        if not self._warned_down:
            self._warned_down = True
            logger.warning(
                "RedisRateLimiter %r: Redis unavailable, calls go unlimited (on_unavailable='allow'): %s",
                self.name,
                exc,
            )
        return 0.0

    def on_llm_start(self, event: LLMStartEvent) -> None:
        """Sync code: sleep until this call's turn."""
        args = self._args(event)
        try:
            wait = self._wait_of(self.connection.run(lambda r: _TICKET(r, self._keys, args)))
        except RedisUnavailable as exc:
            wait = self._unreachable(exc)
        if wait > 0:
            time.sleep(wait)

    async def on_llm_start_async(self, event: LLMStartEvent) -> None:
        """Async code: ``await asyncio.sleep`` until this call's turn."""
        args = self._args(event)
        try:
            wait = self._wait_of(await self.connection.arun(lambda r: _TICKET.acall(r, self._keys, args)))
        except RedisUnavailable as exc:
            wait = self._unreachable(exc)
        if wait > 0:
            await asyncio.sleep(wait)

    # accounting

    def _actual(self, event: LLMEndEvent) -> list[Any] | None:
        if self.tokens_per_minute is None:
            return None
        actual = event.total_tokens
        if actual is None and (event.input_tokens is not None or event.output_tokens is not None):
            actual = (event.input_tokens or 0) + (event.output_tokens or 0)
        if actual is None:
            return None
        return [event.run_id, int(actual), int(self.period * 1000)]

    def on_llm_end(self, event: LLMEndEvent) -> None:
        """Replace the call's token estimate with what it used (best effort while Redis is away)."""
        args = self._actual(event)
        if args is not None:
            try:
                self.connection.run(lambda r: _ACTUAL(r, self._keys[1:], args))
            except RedisUnavailable:
                pass  # the estimate stays counted: the limit errs on the safe side

    async def on_llm_end_async(self, event: LLMEndEvent) -> None:
        """``on_llm_end`` for async code."""
        args = self._actual(event)
        if args is not None:
            try:
                await self.connection.arun(lambda r: _ACTUAL.acall(r, self._keys[1:], args))
            except RedisUnavailable:
                pass

    # state

    def stats(self) -> dict[str, float]:
        """This process's ``delayed`` calls and ``waited_s``; ``window_tokens`` of every process."""
        key = self._keys[3]
        tokens = self.connection.run(lambda r: r.hget(key, "sum")) if self.tokens_per_minute else 0
        with self._lock:
            return {"delayed": self._delayed, "waited_s": self._waited, "window_tokens": float(tokens or 0)}
