"""``TokenLedger``: token totals per user and billing cycle in Redis, exact under concurrency.

    ledger = TokenLedger("redis://127.0.0.1:6379/0", prefix="myapp:")
    ledger.record(LedgerEntry("run-1", "alice", "2026-12", {"calls": 1, "input_tokens": 12}))
    ledger.totals("alice", "2026-12").input_tokens      # 12
    ledger.listing("2026-12")                           # every user of that cycle

One call is one ``record``: a single server-side script that checks the run id and
applies every increment of the call, so

- a write retried after a timeout (which may have been applied) counts once: the run id
  is remembered for ``idempotency_window`` seconds (default two days);
- a crash (of the writer, or of Redis) never leaves half a call counted: Redis runs a
  script entirely or not at all, and with append-only persistence it is logged as one unit.

Keys (``prefix`` first): ``ledger:totals:<cycle>:<user>`` (a hash of the fields below),
``ledger:users:<cycle>`` and ``ledger:cycles`` (sets, for listings),
``ledger:user-cycles:<user>``, and ``ledger:runs`` (run ids counted, by time).
Fields are integers: tokens, ``calls``, ``errors``, ``cost_micros`` (USD millionths, of
``priced_calls``), and usage the provider did not report, estimated and kept apart:
``estimated_calls``, ``estimated_input_tokens``, ``estimated_output_tokens``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmhooks._validate import check_int, check_number
from llmhooks.handlers.redis._connection import DEFAULT_URL, RedisConnection, RedisTarget, Script, connect

__all__ = ["FIELDS", "LedgerEntry", "LedgerTotals", "TokenLedger"]

FIELDS = (
    "calls",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "cache_write_input_tokens",
    "reasoning_tokens",
    "cost_micros",
    "priced_calls",
    "errors",
    "estimated_calls",
    "estimated_input_tokens",
    "estimated_output_tokens",
)
_KNOWN = frozenset(FIELDS)

# KEYS: totals, runs, users of the cycle, cycles, cycles of the user
# ARGV: run id, window (ms), retention (s, 0 = keep), user, cycle, field, increment, ...
_RECORD = Script(
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
for i = 6, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[5])
redis.call('SADD', KEYS[5], ARGV[5])
local keep = tonumber(ARGV[3])
if keep > 0 then
  redis.call('EXPIRE', KEYS[1], keep, 'NX')
  redis.call('EXPIRE', KEYS[3], keep, 'NX')
end
return 1
"""
)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One call's increments: ``counts`` maps field names (``FIELDS``) to integers.

    ``run_id`` is the idempotency key under the ledger's prefix: one write per call (two
    writers that mean to count one call twice give it two keys, ``"<run>:a"``, ``"<run>:b"``).
    """

    run_id: str
    user_id: str
    cycle: str
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """What one user used in one cycle."""

    user_id: str
    cycle: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    reasoning_tokens: int = 0
    cost_micros: int = 0
    priced_calls: int = 0
    errors: int = 0
    estimated_calls: int = 0
    estimated_input_tokens: int = 0
    estimated_output_tokens: int = 0

    @property
    def cost(self) -> float:
        """USD spent on the priced calls."""
        return self.cost_micros / 1_000_000

    @property
    def unpriced_calls(self) -> int:
        """Calls whose cost is unknown (not in ``cost``)."""
        return self.calls - self.priced_calls

    def as_dict(self) -> dict[str, Any]:
        """Every field plus ``cost`` (USD), JSON-safe."""
        out: dict[str, Any] = {"user_id": self.user_id, "cycle": self.cycle}
        out.update({name: getattr(self, name) for name in FIELDS})
        out["cost"] = self.cost
        return out


def _totals(user_id: str, cycle: str, raw: Mapping[Any, Any]) -> LedgerTotals:
    values: dict[str, int] = {}
    for key, value in raw.items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        if name in _KNOWN:
            values[name] = int(value)
    return LedgerTotals(user_id, cycle, **values)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class TokenLedger:
    """Reads and writes per-user, per-cycle token totals; safe from any thread or process.

    Args:
        redis: a URL, a client, or a ``RedisConnection`` to share.
        prefix: put before every key (give each application its own).
        idempotency_window: seconds a counted run id is remembered (a retry or a redelivery
            later than this would count again).
        retention: seconds a cycle's totals are kept after its first call (None: forever).
        timeout: seconds to wait for Redis (when ``redis`` is a URL).

    Raises:
        ValueError, TypeError: a malformed argument.
    """

    def __init__(
        self,
        redis: RedisTarget = DEFAULT_URL,
        *,
        prefix: str = "llmhooks:",
        idempotency_window: float = 2 * 86400,
        retention: float | None = None,
        timeout: float = 0.5,
    ) -> None:
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a string, got {prefix!r}")
        check_number("idempotency_window", idempotency_window, minimum=1)
        check_number("retention", retention, minimum=1, allow_none=True)
        self.connection: RedisConnection = (
            redis if isinstance(redis, RedisConnection) else connect(redis, timeout=timeout)
        )
        self.prefix = prefix
        self._window_ms = int(idempotency_window * 1000)
        self._retention = 0 if retention is None else int(retention)

    def __repr__(self) -> str:
        return f"TokenLedger({self.connection.where!r}, prefix={self.prefix!r})"

    # keys

    def key(self, user_id: str, cycle: str) -> str:
        """The hash holding ``user_id``'s totals for ``cycle``."""
        return f"{self.prefix}ledger:totals:{cycle}:{user_id}"

    def _keys(self, entry: LedgerEntry) -> list[str]:
        p = self.prefix
        return [
            self.key(entry.user_id, entry.cycle),
            f"{p}ledger:runs",
            f"{p}ledger:users:{entry.cycle}",
            f"{p}ledger:cycles",
            f"{p}ledger:user-cycles:{entry.user_id}",
        ]

    def _args(self, entry: LedgerEntry) -> list[Any]:
        if not entry.run_id or not entry.user_id or not entry.cycle:
            raise ValueError(f"a ledger entry needs a run id, a user id and a cycle, got {entry!r}")
        args: list[Any] = [entry.run_id, self._window_ms, self._retention, entry.user_id, entry.cycle]
        for name, value in entry.counts.items():
            if name not in _KNOWN:
                raise ValueError(f"unknown ledger field {name!r}; fields are {', '.join(FIELDS)}")
            check_int(f"counts[{name!r}]", value, minimum=0)
            if value:
                args += (name, value)
        return args

    # writing

    def record(self, entry: LedgerEntry) -> bool:
        """Count one call; False if its run id was counted already (nothing changes).

        Raises:
            RedisUnavailable: Redis did not answer (the call may or may not have been
                counted: record it again, it counts once).
        """
        keys, args = self._keys(entry), self._args(entry)
        return bool(self.connection.run(lambda r: _RECORD(r, keys, args)))

    def record_many(self, entries: Sequence[LedgerEntry]) -> list[bool]:
        """Count several calls in one round trip (each atomically, as ``record``)."""
        calls = [(self._keys(e), self._args(e)) for e in entries]
        return [bool(x) for x in self.connection.run(lambda r: _RECORD.pipelined(r, calls))]

    async def arecord(self, entry: LedgerEntry) -> bool:
        """``record`` for async code (``redis.asyncio``)."""
        keys, args = self._keys(entry), self._args(entry)
        return bool(await self.connection.arun(lambda r: _RECORD.acall(r, keys, args)))

    def reset(self, user_id: str, cycle: str) -> None:
        """Delete ``user_id``'s totals for ``cycle`` (run ids stay remembered)."""
        key = self.key(user_id, cycle)
        self.connection.run(lambda r: r.delete(key))

    async def areset(self, user_id: str, cycle: str) -> None:
        """``reset`` for async code."""
        key = self.key(user_id, cycle)
        await self.connection.arun(lambda r: r.delete(key))

    # reading

    def totals(self, user_id: str, cycle: str) -> LedgerTotals:
        """``user_id``'s totals for ``cycle`` (zeros when nothing was counted)."""
        key = self.key(user_id, cycle)
        return _totals(user_id, cycle, self.connection.run(lambda r: r.hgetall(key)))

    async def atotals(self, user_id: str, cycle: str) -> LedgerTotals:
        """``totals`` for async code."""
        key = self.key(user_id, cycle)
        raw = await self.connection.arun(lambda r: r.hgetall(key))
        return _totals(user_id, cycle, raw)

    def users(self, cycle: str) -> list[str]:
        """Users with calls in ``cycle``, sorted."""
        key = f"{self.prefix}ledger:users:{cycle}"
        return sorted(_text(u) for u in self.connection.run(lambda r: r.smembers(key)))

    def cycles(self, user_id: str | None = None) -> list[str]:
        """Cycles with calls (of ``user_id``, or of anyone), sorted."""
        key = (
            f"{self.prefix}ledger:cycles" if user_id is None else f"{self.prefix}ledger:user-cycles:{user_id}"
        )
        return sorted(_text(c) for c in self.connection.run(lambda r: r.smembers(key)))

    def listing(self, cycle: str, users: Iterable[str] | None = None) -> list[LedgerTotals]:
        """Totals of every user of ``cycle`` (or of ``users``), sorted by user, in one round trip."""
        names = self.users(cycle) if users is None else list(users)

        def read(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            for user in names:
                pipe.hgetall(self.key(user, cycle))
            return list(pipe.execute())

        raws = self.connection.run(read) if names else []
        return [_totals(user, cycle, raw) for user, raw in zip(names, raws, strict=True)]
