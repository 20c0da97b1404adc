"""Cross-process handlers on Redis (``pip install 'llmhooks[redis]'``, redis-py).

- ``RedisTokenLedger`` / ``TokenLedger``: tokens and cost per user and billing cycle.
- ``RedisCostLimiter``: one budget shared by every process.
- ``RedisRateLimiter``: one rate limit shared by every process.
- ``RedisStreamShipper`` / ``RedisStreamExporter`` / ``RedisStreamConsumer``: every event
  to a Redis Stream, read back by ``llmhooks collect``.

Every component takes ``redis=`` (a URL, a client, or a ``RedisConnection`` to share) and
waits at most ``timeout`` seconds for an answer. See ``docs/deploy.md``.
"""

from __future__ import annotations

from llmhooks.handlers.redis._connection import DEFAULT_URL, RedisConnection, RedisUnavailable, connect
from llmhooks.handlers.redis.budget import BudgetUnavailable, RedisCostLimiter
from llmhooks.handlers.redis.cycles import cycle_of, monthly_cycle
from llmhooks.handlers.redis.ledger import LedgerEntry, LedgerTotals, TokenLedger
from llmhooks.handlers.redis.ratelimit import RateLimitUnavailable, RedisRateLimiter
from llmhooks.handlers.redis.stream import (
    DEFAULT_STREAM,
    RedisStreamConsumer,
    RedisStreamExporter,
    RedisStreamShipper,
)
from llmhooks.handlers.redis.tokens import RedisTokenLedger

__all__ = [
    "DEFAULT_STREAM",
    "DEFAULT_URL",
    "BudgetUnavailable",
    "LedgerEntry",
    "LedgerTotals",
    "RateLimitUnavailable",
    "RedisConnection",
    "RedisCostLimiter",
    "RedisRateLimiter",
    "RedisStreamConsumer",
    "RedisStreamExporter",
    "RedisStreamShipper",
    "RedisTokenLedger",
    "RedisUnavailable",
    "TokenLedger",
    "connect",
    "cycle_of",
    "monthly_cycle",
]
