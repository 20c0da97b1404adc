"""``RedisCostLimiter``: one budget for every process, with ``CostLimiter``'s semantics.

    limiter = RedisCostLimiter(max_cost=50.0, per_user=2.0, cycle="monthly",
                               redis="redis://redis:6379/0", name="prod")
    llm = LLM(callbacks=[limiter])        # in every worker: they share the budget

Each call is *reserved* before it starts and *settled* when it ends, by one server-side
script per operation, in integer micro-USD:

- ``llm.start``: the script releases reservations whose lease ran out, then checks every
  limit that applies (global, the user's) against what was spent plus what calls in flight
  reserved, and reserves the call's estimate on all of them, or refuses it
  (``BudgetExceeded``, before the request is sent). Check and reservation are one atomic
  step, so concurrent calls in any number of processes cannot all pass the same check.
- ``llm.end``: the reservation is replaced by the real cost (``event.cost``, else priced
  here; unknown: the reservation is kept as spent). ``llm.error``: released (kept for a
  stream that failed part-way, which was probably billed). Settling is keyed by run id:
  settling twice, or a retried reserve of a settled run, changes nothing.
- A reservation lives for ``lease`` seconds and is renewed by its process while the call
  runs (every ``lease / 3`` s), so the reservations of a process that died are released
  about ``lease`` seconds later instead of refusing calls forever.
- ``cycle=`` starts each cycle's counters afresh (new hash fields, never a reset with
  ``SET`` that would lose a concurrent settle); a call settles in the cycle it reserved in.
  Spending is never re-seeded from a process's memory: Redis holds the only copy.

The estimate is ``CostLimiter``'s: the prompt at about three characters per token plus
``max_tokens`` (or ``default_max_tokens``) of output, priced from ``prices=`` /
``genai-prices``, or ``estimate=`` (USD, or a function of the start event). The budget is
never overspent while estimates are upper bounds of real costs; otherwise by at most what
the calls in flight cost beyond their estimates.

When Redis cannot be reached within ``timeout``, ``on_unavailable`` decides:
``"refuse"`` (default) raises ``BudgetUnavailable`` (a ``BudgetExceeded``) at once;
``"allow"`` lets the call go unreserved, logs a warning, and records its spend when
Redis answers again. A settle that cannot reach Redis is kept (up to 10,000) and retried
in the background, so spending is not lost to a short outage.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from llmhooks._validate import check_choice, check_int, check_number
from llmhooks.core.callbacks import Callbacks
from llmhooks.errors import BudgetExceeded, BudgetUnavailable
from llmhooks.events import LLMEndEvent, LLMErrorEvent, LLMStartEvent
from llmhooks.handlers._estimate import reserved_cost
from llmhooks.handlers._pricing import Price, Pricer, genai_prices_available, missing_prices_error
from llmhooks.handlers.redis._budget_lua import RENEW, RESERVE, SETTLE
from llmhooks.handlers.redis._connection import (
    DEFAULT_URL,
    RedisConnection,
    RedisTarget,
    RedisUnavailable,
    connect,
)
from llmhooks.handlers.redis.cycles import Cycle, cycle_of

__all__ = ["BudgetUnavailable", "RedisCostLimiter"]

logger = logging.getLogger("llmhooks.redis")

Estimate = float | Callable[[LLMStartEvent], float | None]
MICROS = 1_000_000
_MAX_PENDING = 10_000


@dataclass(slots=True)
class _Held:
    amount: int
    fields: list[str]
    streaming: bool
    reserved: bool


_live: weakref.WeakSet[RedisCostLimiter] = weakref.WeakSet()


class RedisCostLimiter(Callbacks):
    """Stops LLM calls that could take shared spending over a budget (USD); process-safe.

    Args:
        max_cost: budget for all calls of all processes together (None: none).
        per_user: budget for each ``user_id``; calls without a user are held to ``max_cost`` only.
        user_limits: budgets for particular users, overriding ``per_user``.
        redis: a URL, a client, or a ``RedisConnection`` to share.
        name: the budget's name: limiters with the same ``redis``, ``prefix`` and ``name``
            share one budget.
        prefix: put before every key.
        cycle: None (one budget forever), ``"monthly"``, ``"daily"`` or a function of the
            timestamp (see ``cycles``): each cycle has its own budget.
        estimate: the reserved cost of a call: USD, or a function of the start event.
        default_max_tokens: output tokens assumed for a call that sets no ``max_tokens``.
        prices: your own price table, as for ``CostTracker``.
        on_unknown_price: ``"allow"`` a call whose cost cannot be estimated (reserving
            nothing) or ``"block"`` it.
        on_unavailable: ``"refuse"`` calls while Redis cannot be reached, or ``"allow"`` them.
        lease: seconds a reservation outlives its process if that process dies.
        timeout: seconds to wait for Redis (when ``redis`` is a URL).
        idempotency_window: seconds a settled run id is remembered.

    Raises:
        ValueError, TypeError: no budget, or a malformed argument.
        MissingExtraError: no price table is available and no ``estimate`` was given.
    """

    def __init__(
        self,
        max_cost: float | None = None,
        *,
        per_user: float | None = None,
        user_limits: Mapping[str, float] | None = None,
        redis: RedisTarget = DEFAULT_URL,
        name: str = "default",
        prefix: str = "llmhooks:",
        cycle: Cycle | None = None,
        estimate: Estimate | None = None,
        default_max_tokens: int = 1024,
        prices: Mapping[str, Price | Mapping[str, Any]] | None = None,
        on_unknown_price: Literal["allow", "block"] = "allow",
        on_unavailable: Literal["refuse", "allow"] = "refuse",
        lease: float = 60.0,
        timeout: float = 0.5,
        idempotency_window: float = 3600.0,
    ) -> None:
        if max_cost is None and per_user is None and not user_limits:
            raise ValueError(
                "RedisCostLimiter needs a budget: max_cost=..., per_user=... or user_limits={...}"
            )
        check_number("max_cost", max_cost, minimum=0, allow_none=True)
        check_number("per_user", per_user, minimum=0, allow_none=True)
        for user, limit in (user_limits or {}).items():
            check_number(f"user_limits[{user!r}]", limit, minimum=0)
        check_choice("on_unknown_price", on_unknown_price, ("allow", "block"))
        check_choice("on_unavailable", on_unavailable, ("refuse", "allow"))
        check_int("default_max_tokens", default_max_tokens, minimum=0)
        check_number("lease", lease, minimum=0.1)
        check_number("idempotency_window", idempotency_window, minimum=1)
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        if isinstance(estimate, (int, float)):
            check_number("estimate", estimate, minimum=0)
        elif estimate is not None and not callable(estimate):
            raise TypeError(f"estimate must be USD or a function of the start event, got {estimate!r}")
        has_prices = bool(prices) or genai_prices_available()
        if not has_prices and estimate is None:
            raise missing_prices_error("RedisCostLimiter")
        self.max_cost = max_cost
        self.per_user = per_user
        self.user_limits = dict(user_limits or {})
        self.name = name
        self.default_max_tokens = default_max_tokens
        self.on_unknown_price = on_unknown_price
        self.on_unavailable = on_unavailable
        self.lease = float(lease)
        self.connection: RedisConnection = (
            redis if isinstance(redis, RedisConnection) else connect(redis, timeout=timeout)
        )
        self._cycle = cycle_of(cycle) if cycle is not None else None
        self._estimate = estimate
        self.pricer = Pricer(prices) if has_prices else None
        base = f"{prefix}budget:{name}:"
        self._keys = [base + "spent", base + "reserved", base + "res", base + "leases", base + "settled"]
        self._window_ms = int(idempotency_window * 1000)
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}
        self._pending: collections.deque[tuple[str, int, _Held]] = collections.deque()
        self._lost = 0
        self._warned_down = False
        self._pid = os.getpid()
        self._wake = threading.Event()
        self._sending = threading.Lock()
        self._thread: threading.Thread | None = None
        _live.add(self)

    def __repr__(self) -> str:
        return f"RedisCostLimiter(name={self.name!r}, max_cost={self.max_cost}, {self.connection.where!r})"

    # what a call may cost, and which limits apply

    def estimate(self, event: LLMStartEvent) -> float | None:
        """The cost reserved for the call ``event`` starts (USD), or None if it cannot be priced
        (see ``CostLimiter.estimate``)."""
        return reserved_cost(self, event)

    def _limit_for(self, user_id: str | None) -> float | None:
        if user_id is None:
            return None
        return self.user_limits.get(user_id, self.per_user)

    def _cycle_id(self, timestamp: float) -> str:
        return "all" if self._cycle is None else self._cycle(timestamp)

    def _scopes(self, event: LLMStartEvent) -> list[tuple[str, int, str | None]]:
        """``(field, limit in micros or -1, user)`` of each budget the call counts against."""
        cycle = self._cycle_id(event.timestamp)
        scopes: list[tuple[str, int, str | None]] = [
            (f"{cycle}|*", -1 if self.max_cost is None else _micros(self.max_cost), None)
        ]
        user_limit = self._limit_for(event.user_id)
        if user_limit is not None and event.user_id is not None:
            scopes.append((f"{cycle}|u:{event.user_id}", _micros(user_limit), event.user_id))
        return scopes

    def _amount(self, event: LLMStartEvent) -> int:
        try:
            usd = self.estimate(event)
        except Exception:  # a failing estimate= is an unknown price: the policy decides, not isolation
            logger.warning(
                "RedisCostLimiter: estimate failed for %s/%s", event.provider, event.model, exc_info=True
            )
            usd = None
        if usd is None:
            if self.pricer is not None:
                self.pricer.warn_unknown(event.provider, event.model)
            if self.on_unknown_price == "block":
                raise BudgetExceeded(
                    f"cost of a {event.provider}/{event.model} call is unknown and on_unknown_price='block'; "
                    "add its price with prices={...} or pass estimate=",
                    limit=self.max_cost,
                    user_id=event.user_id,
                )
            return 0
        return _micros(usd)

    # handler: sync

    def on_llm_start(self, event: LLMStartEvent) -> None:
        """Reserve the call's estimated cost, or raise ``BudgetExceeded`` if it does not fit."""
        amount, scopes, keys, args = self._reserve_args(event)
        try:
            result = self.connection.run(lambda r: RESERVE(r, keys, args))
        except RedisUnavailable as exc:
            self._unreachable(event, amount, scopes, exc)
            return
        self._admitted(event, amount, scopes, result)

    def on_llm_end(self, event: LLMEndEvent) -> None:
        """Replace the call's reservation with its real cost."""
        held = self._pop(event.run_id)
        if held is not None:
            self._settle(event.run_id, self._real_cost(event), held)

    def on_llm_error(self, event: LLMErrorEvent) -> None:
        """Release the reservation of a failed call (a stream's is kept as spent)."""
        held = self._pop(event.run_id)
        if held is not None:
            self._settle(event.run_id, -1 if held.streaming else 0, held)

    # handler: async (redis.asyncio)

    async def on_llm_start_async(self, event: LLMStartEvent) -> None:
        """``on_llm_start`` for async code."""
        amount, scopes, keys, args = self._reserve_args(event)
        try:
            result = await self.connection.arun(lambda r: RESERVE.acall(r, keys, args))
        except RedisUnavailable as exc:
            self._unreachable(event, amount, scopes, exc)
            return
        self._admitted(event, amount, scopes, result)

    async def on_llm_end_async(self, event: LLMEndEvent) -> None:
        """``on_llm_end`` for async code."""
        held = self._pop(event.run_id)
        if held is not None:
            await self._asettle(event.run_id, self._real_cost(event), held)

    async def on_llm_error_async(self, event: LLMErrorEvent) -> None:
        """``on_llm_error`` for async code."""
        held = self._pop(event.run_id)
        if held is not None:
            await self._asettle(event.run_id, -1 if held.streaming else 0, held)

    # reserving

    def _reserve_args(
        self, event: LLMStartEvent
    ) -> tuple[int, list[tuple[str, int, str | None]], list[str], list[Any]]:
        self._check_fork()
        amount = self._amount(event)
        scopes = self._scopes(event)
        args: list[Any] = [event.run_id, amount, int(self.lease * 1000)]
        for field, limit, _user in scopes:
            args += (field, limit)
        return amount, scopes, self._keys, args

    def _admitted(
        self, event: LLMStartEvent, amount: int, scopes: list[tuple[str, int, str | None]], result: Any
    ) -> None:
        status, index, used = (int(x) for x in result)
        if status == 0:
            _field, limit, user = scopes[index - 1]
            raise self._refusal(limit, used, amount, user)
        self._warned_down = False
        if status == 2:  # settled already: a retry of a finished run holds nothing
            return
        with self._lock:
            self._held[event.run_id] = _Held(amount, [s[0] for s in scopes], event.streaming, True)
        self._ensure_thread()

    def _unreachable(
        self,
        event: LLMStartEvent,
        amount: int,
        scopes: list[tuple[str, int, str | None]],
        exc: RedisUnavailable,
    ) -> None:
        held = _Held(amount, [s[0] for s in scopes], event.streaming, False)
        if self.on_unavailable == "refuse":
            # the reserve may have reached Redis before the timeout: release it when Redis answers
            self._queue(event.run_id, 0, held)
            raise BudgetUnavailable(
                f"shared budget {self.name!r} refused the call: {exc} (on_unavailable='refuse'; "
                "pass on_unavailable='allow' to let calls through while Redis is away)",
                limit=self.max_cost,
                user_id=event.user_id,
            ) from exc
        if not self._warned_down:
            self._warned_down = True
            logger.warning(
                "RedisCostLimiter %r: Redis unavailable, calls go unreserved (on_unavailable='allow'): %s",
                self.name,
                exc,
            )
        with self._lock:
            self._held[event.run_id] = held

    def _refusal(self, limit: int, used: int, amount: int, user: str | None) -> BudgetExceeded:
        who = f"user {user!r}" if user is not None else "the shared"
        return BudgetExceeded(
            f"{who} budget {self.name!r} of ${limit / MICROS:.4f} would be exceeded: "
            f"${used / MICROS:.4f} spent or in flight + ${amount / MICROS:.4f} estimated for this call",
            limit=limit / MICROS,
            spent=used / MICROS,
            user_id=user,
        )

    # settling

    def _pop(self, run_id: str) -> _Held | None:
        with self._lock:
            return self._held.pop(run_id, None)

    def _real_cost(self, event: LLMEndEvent) -> int:
        cost = event.cost
        if cost is None and self.pricer is not None:
            priced = self.pricer.cost(
                event.provider,
                event.model,
                event.input_tokens,
                event.output_tokens,
                event.cached_input_tokens,
                event.cache_write_input_tokens,
                event.reasoning_tokens,
                event.timestamp,
                event.input_audio_tokens,
                event.output_audio_tokens,
            )
            cost = None if priced is None else priced.usd
        return -1 if cost is None else _micros(cost)  # unknown real cost: keep the reservation

    def _settle_args(self, run_id: str, cost: int, held: _Held) -> list[Any]:
        return [run_id, cost, self._window_ms, held.amount, *held.fields]

    def _settle(self, run_id: str, cost: int, held: _Held) -> None:
        args = self._settle_args(run_id, cost, held)
        try:
            self.connection.run(lambda r: SETTLE(r, self._keys, args))
        except RedisUnavailable:
            self._queue(run_id, cost, held)

    async def _asettle(self, run_id: str, cost: int, held: _Held) -> None:
        args = self._settle_args(run_id, cost, held)
        try:
            await self.connection.arun(lambda r: SETTLE.acall(r, self._keys, args))
        except RedisUnavailable:
            self._queue(run_id, cost, held)

    def _queue(self, run_id: str, cost: int, held: _Held) -> None:
        with self._lock:
            if len(self._pending) >= _MAX_PENDING:
                self._pending.popleft()
                self._lost += 1
            self._pending.append((run_id, cost, held))
        self._ensure_thread()
        self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Send the settles kept while Redis was away; True when none is left."""
        deadline = time.monotonic() + timeout
        while True:
            self._send_pending()
            with self._lock:
                if not self._pending:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def _send_pending(self) -> None:
        with self._sending:  # one sender at a time (flush() and the keep-alive thread)
            with self._lock:
                batch = list(self._pending)
            if not batch:
                return
            calls = [(self._keys, self._settle_args(run_id, cost, held)) for run_id, cost, held in batch]
            try:
                self.connection.run(lambda r: SETTLE.pipelined(r, calls))
            except RedisUnavailable:
                return
            with self._lock:
                for item in batch:  # only what was sent: the queue may have dropped its oldest meanwhile
                    if self._pending and self._pending[0] is item:
                        self._pending.popleft()

    # leases

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=_keep_alive,
                        args=(weakref.ref(self),),
                        name=f"llmhooks-budget-{self.name}",
                        daemon=True,
                    )
                    self._thread.start()

    def _renew(self) -> None:
        with self._lock:
            runs = [run_id for run_id, held in self._held.items() if held.reserved]
        if runs:
            try:
                self.connection.run(lambda r: RENEW(r, [self._keys[3]], [int(self.lease * 1000), *runs]))
            except RedisUnavailable:
                pass

    def _check_fork(self) -> None:
        if self._pid != os.getpid():  # a forked child: the parent's calls and thread are not ours
            self._pid = os.getpid()
            self._held.clear()
            self._pending.clear()
            self._lock = threading.Lock()
            self._sending = threading.Lock()
            self._wake = threading.Event()
            self._thread = None

    # state (read from Redis: every process's calls)

    def _read(self, field: str) -> tuple[int, int]:
        spent_key, reserved_key = self._keys[0], self._keys[1]

        def read(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            pipe.hget(spent_key, field)
            pipe.hget(reserved_key, field)
            return list(pipe.execute())

        spent, reserved = self.connection.run(read)
        return int(spent or 0), int(reserved or 0)

    def _now_field(self, user_id: str | None = None) -> str:
        cycle = self._cycle_id(time.time())
        return f"{cycle}|*" if user_id is None else f"{cycle}|u:{user_id}"

    @property
    def spent(self) -> float:
        """USD spent by finished calls of every process (this cycle)."""
        return self._read(self._now_field())[0] / MICROS

    @property
    def reserved(self) -> float:
        """USD reserved by calls in flight in every process (this cycle)."""
        return self._read(self._now_field())[1] / MICROS

    @property
    def in_flight(self) -> int:
        """Calls admitted and not settled, in every process."""
        key = self._keys[2]
        return int(self.connection.run(lambda r: r.hlen(key)))

    @property
    def remaining(self) -> float | None:
        """What is left of ``max_cost`` after spending and reservations (None: no global budget)."""
        if self.max_cost is None:
            return None
        spent, reserved = self._read(self._now_field())
        return max(0, _micros(self.max_cost) - spent - reserved) / MICROS

    def spent_by(self, user_id: str) -> float:
        """USD spent by ``user_id``'s finished calls (users with a budget only; this cycle)."""
        return self._read(self._now_field(user_id))[0] / MICROS

    def remaining_for(self, user_id: str) -> float | None:
        """What is left of ``user_id``'s budget (None: that user has none)."""
        limit = self._limit_for(user_id)
        if limit is None:
            return None
        spent, reserved = self._read(self._now_field(user_id))
        return max(0, _micros(limit) - spent - reserved) / MICROS

    def stats(self) -> dict[str, int]:
        """This process's ``held`` reservations, ``pending`` settles and ``lost`` ones (queue full)."""
        with self._lock:
            return {"held": len(self._held), "pending": len(self._pending), "lost": self._lost}

    def reset(self) -> None:
        """Forget spending, of every cycle (calls in flight keep their reservations)."""
        key = self._keys[0]
        self.connection.run(lambda r: r.delete(key))


def _micros(usd: float) -> int:
    return max(0, round(usd * MICROS))


def _keep_alive(ref: weakref.ref[RedisCostLimiter]) -> None:
    """Renew this process's leases every ``lease / 3`` s and send kept settles; ends with its limiter."""
    while True:
        limiter = ref()
        if limiter is None or limiter._thread is not threading.current_thread():
            return
        wake, wait = limiter._wake, (0.2 if limiter._pending else limiter.lease / 3)
        del limiter  # hold no reference while waiting, so the limiter can be collected
        wake.wait(wait)
        wake.clear()
        limiter = ref()
        if limiter is None:
            return
        try:
            limiter._send_pending()
            limiter._renew()
        except Exception:  # this thread must outlive any surprise: leases depend on it
            logger.debug("RedisCostLimiter keep-alive failed", exc_info=True)
        del limiter


def _flush_all() -> None:
    for limiter in list(_live):
        if limiter._pending:
            limiter.flush(timeout=2.0)


atexit.register(_flush_all)
