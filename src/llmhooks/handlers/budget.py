"""``CostLimiter``: refuse an LLM call, before it is made, when it could overspend a budget.

    limiter = CostLimiter(max_cost=5.00, per_user=0.50)
    with callbacks_context([limiter]), run_context(user_id="u1"):
        try:
            llm.chat("hi")
        except BudgetExceeded as exc:
            print(exc.limit, exc.spent, exc.user_id)

On ``llm.start`` the limiter estimates the call's cost and reserves it; the call
is refused (``BudgetExceeded``, an ``Abort``, raised before the request is sent)
if what was spent, plus what calls in flight have reserved, plus this estimate
would exceed a limit. On ``llm.end`` the reservation is replaced by the real
cost (``event.cost`` if a ``CostTracker`` ran first, else priced here); on
``llm.error`` it is released. The check and the reservation happen under one
lock, so concurrent calls (threads or tasks) cannot overspend together.

The estimate is priced from the same table as ``CostTracker``: the prompt at
about three characters per token, plus ``max_tokens`` (or ``default_max_tokens``
when the call sets none) of output. The budget is never overspent as long as
that is an upper bound of the real cost: set ``max_tokens`` on calls, or give
``estimate=`` (USD, or a function of the start event).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal

from llmhooks._validate import check_callable, check_choice, check_int, check_number
from llmhooks.core.callbacks import Callbacks
from llmhooks.errors import BudgetExceeded
from llmhooks.events import LLMEndEvent, LLMErrorEvent, LLMStartEvent, LLMTokenEvent
from llmhooks.handlers._estimate import CHARS_PER_TOKEN, estimate_prompt_tokens, reserved_cost
from llmhooks.handlers._pricing import Price, Pricer, genai_prices_available, missing_prices_error
from llmhooks.handlers._values import MAX_USD, audio_usage, count, usage, usd

__all__ = ["CostLimiter"]

logger = logging.getLogger("llmhooks.cost")

Estimate = float | Callable[[LLMStartEvent], float | None]
_EPS = 1e-9  # USD: float sums of exact cents (0.01 * 10) must still fit a 0.10 budget


def _limit(name: str, value: Any) -> float | None:
    return check_number(name, value, minimum=0, allow_none=True)  # type: ignore[no-any-return]


class _Hold:
    """What an admitted call reserved, and what its stream produced so far."""

    __slots__ = ("amount", "chars", "deltas", "model", "prompt_tokens", "provider", "streaming", "user")

    def __init__(self, user: str | None, amount: float, event: LLMStartEvent, prompt_tokens: int) -> None:
        self.user = user
        self.amount = amount
        self.streaming = event.streaming
        self.provider = event.provider
        self.model = event.model
        self.prompt_tokens = prompt_tokens
        self.chars = 0
        self.deltas = 0


class CostLimiter(Callbacks):
    """Stops LLM calls that could take spending over ``max_cost`` (USD); thread- and task-safe.

    Args:
        max_cost: budget for all calls together; None for no global budget.
        per_user: budget for each ``user_id`` (from ``run_context(user_id=...)``);
            calls without a user id are held to ``max_cost`` only.
        user_limits: budgets for particular users, overriding ``per_user``.
        estimate: the reserved cost of a call: USD, or a function of the
            ``LLMStartEvent`` returning USD (None: use the built-in estimate).
        default_max_tokens: output tokens assumed for a call that sets no ``max_tokens``.
        prices: your own price table, as for ``CostTracker``.
        on_unknown_price: ``"allow"`` a call whose cost cannot be estimated (model
            in no price table, or ``estimate`` raised or gave no usable amount; it
            reserves and spends nothing, logged) or ``"block"`` it.

    Raises:
        TypeError: an argument of the wrong kind (a string for a number...).
        ValueError: no budget given, or a negative, NaN or infinite one.
        MissingExtraError: no price table is available and no ``estimate`` was given.
    """

    def __init__(
        self,
        max_cost: float | None = None,
        *,
        per_user: float | None = None,
        user_limits: Mapping[str, float] | None = None,
        estimate: Estimate | None = None,
        default_max_tokens: int = 1024,
        prices: Mapping[str, Price | Mapping[str, Any]] | None = None,
        on_unknown_price: Literal["allow", "block"] = "allow",
    ) -> None:
        self.max_cost = _limit("max_cost", max_cost)
        self.per_user = _limit("per_user", per_user)
        if user_limits is not None and not isinstance(user_limits, Mapping):
            raise TypeError(f"user_limits must be a dict of user id -> USD, got {type(user_limits).__name__}")
        limits = dict(user_limits or {})
        for user, value in limits.items():
            if not isinstance(user, str):
                raise TypeError(f"user_limits keys must be user ids (str), got {user!r}")
            _limit(f"user_limits[{user!r}]", value)
        if self.max_cost is None and self.per_user is None and not limits:
            raise ValueError("CostLimiter needs a budget: max_cost=..., per_user=... or user_limits={...}")
        self.on_unknown_price = check_choice("on_unknown_price", on_unknown_price, ("allow", "block"))
        self.default_max_tokens: int = check_int("default_max_tokens", default_max_tokens, minimum=0)
        if isinstance(estimate, (int, float)) and not isinstance(estimate, bool):
            check_number("estimate", estimate, minimum=0)
        else:
            check_callable("estimate (USD, or a function of the start event)", estimate, allow_none=True)
        has_prices = bool(prices) or genai_prices_available()
        if not has_prices and estimate is None:
            raise missing_prices_error("CostLimiter")
        self.user_limits = limits
        self._estimate = estimate
        self.pricer = Pricer(prices) if has_prices else None  # checks the table
        self._lock = threading.Lock()
        self._spent = 0.0
        self._reserved = 0.0
        self._estimated = 0.0
        self._user_spent: dict[str, float] = {}
        self._user_reserved: dict[str, float] = {}
        self._inflight: dict[str, _Hold] = {}

    # what a call may cost

    def estimate(self, event: LLMStartEvent) -> float | None:
        """The cost reserved for the call ``event`` starts (USD), or None if it cannot be priced.

        A user ``estimate=`` that returns NaN, a negative number or a non-number counts as
        unknown (logged), so the ``on_unknown_price`` policy decides.
        """
        return reserved_cost(self, event)

    def _limit_for(self, user_id: str | None) -> float | None:
        if user_id is None:
            return None
        return self.user_limits.get(user_id, self.per_user)

    # handler

    def on_llm_start(self, event: LLMStartEvent) -> None:
        """Reserve the call's estimated cost, or raise ``BudgetExceeded`` if it does not fit."""
        try:
            amount = self.estimate(event)
        except Exception:  # a failing estimate= is an unknown price: the policy decides, not isolation
            logger.warning(
                "CostLimiter: estimate failed for %s/%s", event.provider, event.model, exc_info=True
            )
            amount = None
        if amount is None:
            if self.pricer is not None:
                self.pricer.warn_unknown(event.provider, event.model, event.timestamp)
            if self.on_unknown_price == "block":
                raise BudgetExceeded(
                    f"cost of a {event.provider}/{event.model} call is unknown and on_unknown_price='block'; "
                    "add its price with prices={...} or pass estimate=",
                    limit=self.max_cost,
                    spent=self._spent + self._reserved,
                    user_id=event.user_id,
                )
            amount = 0.0
        # a stream's prompt is what it is charged for if it fails part-way (see on_llm_error)
        prompt_tokens = estimate_prompt_tokens(event) if event.streaming else 0
        user = event.user_id
        user_limit = self._limit_for(user)
        with self._lock:
            committed = self._spent + self._reserved
            if self.max_cost is not None and committed + amount > self.max_cost + _EPS:
                raise self._refusal(self.max_cost, committed, amount, None)
            if user_limit is not None and user is not None:
                user_committed = self._user_spent.get(user, 0.0) + self._user_reserved.get(user, 0.0)
                if user_committed + amount > user_limit + _EPS:
                    raise self._refusal(user_limit, user_committed, amount, user)
                self._user_reserved[user] = self._user_reserved.get(user, 0.0) + amount
            self._reserved += amount
            self._inflight[event.run_id] = _Hold(
                user if user_limit is not None else None, amount, event, prompt_tokens
            )

    def on_llm_token(self, event: LLMTokenEvent) -> None:
        """Count what a stream produced, to charge a stream that fails part-way for it."""
        hold = self._inflight.get(event.run_id)
        if hold is not None:  # one producer per run: no lock needed for its own counters
            hold.chars += len(event.token)
            hold.deltas = event.index + 1

    def on_llm_end(self, event: LLMEndEvent) -> None:
        """Replace the call's reservation with its real cost."""
        hold = self._inflight.get(event.run_id)
        if hold is None:
            return
        cost = event.cost
        if cost is not None and not (cost.__class__ is float and 0.0 <= cost <= MAX_USD):
            cost = usd(cost, self, "cost")  # NaN would disable the budget for good
        if cost is None and self.pricer is not None:
            i, o, _t, c, r = usage(event, self)
            ai, ao = audio_usage(event, self)
            priced = self.pricer.cost(
                event.provider,
                event.model,
                i,
                o,
                c,
                count(event.cache_write_input_tokens, self, "cache_write_input_tokens"),
                r,
                event.timestamp,
                ai,
                ao,
            )
            cost = None if priced is None else priced.usd
        if cost is None and hold.streaming and hold.deltas:
            self._settle(event.run_id, self._stream_charge(hold, "ended without usage"), estimated=True)
            return
        self._settle(event.run_id, cost)

    def on_llm_error(self, event: LLMErrorEvent) -> None:
        """Release the reservation of a failed call; charge a failed stream what it produced.

        A stream that fails or is cancelled after some output has usually been billed for its
        prompt and that output, and the error carries no counts: it is charged an estimate
        of both (prompt and streamed text at about three characters per token, priced from
        the table; the whole reservation if the model has no price), at most its reservation,
        and the charge is logged. A call that produced nothing (streamed or not) is charged
        nothing. Calls this limiter refused were never reserved: nothing to do.
        """
        hold = self._inflight.get(event.run_id)
        if hold is None:
            return
        if hold.streaming and hold.deltas:
            self._settle(event.run_id, self._stream_charge(hold, "failed"), estimated=True)
        else:
            self._settle(event.run_id, 0.0)

    def _stream_charge(self, hold: _Hold, what: str) -> float:
        produced = max(hold.deltas, -(-hold.chars // CHARS_PER_TOKEN))
        charge = hold.amount
        priced = None
        if self.pricer is not None:
            priced = self.pricer.cost(hold.provider, hold.model, hold.prompt_tokens, produced)
        if priced is not None:
            charge = min(priced.usd, hold.amount) if hold.amount > 0 else priced.usd
        logger.info(
            "CostLimiter: a %s stream %s after %d streamed tokens; charged $%.6f, an estimate (%s)",
            f"{hold.provider}/{hold.model}" if hold.provider else hold.model,
            what,
            produced,
            charge,
            "prompt and streamed text priced from the table" if priced is not None else "its reservation",
        )
        return charge

    def _settle(self, run_id: str, cost: float | None, *, estimated: bool = False) -> None:
        with self._lock:
            hold = self._inflight.pop(run_id, None)
            if hold is None:
                return
            user, amount = hold.user, hold.amount
            if cost is None:  # unknown real cost: keep the reservation
                spent, estimated = amount, True
            else:
                spent = cost
            self._reserved = max(0.0, self._reserved - amount)
            self._spent += spent
            if estimated:
                self._estimated += spent
            if user is not None:
                left = self._user_reserved.get(user, 0.0) - amount
                if left > 1e-15:
                    self._user_reserved[user] = left
                else:
                    self._user_reserved.pop(user, None)
                self._user_spent[user] = self._user_spent.get(user, 0.0) + spent

    def _refusal(self, limit: float, committed: float, amount: float, user: str | None) -> BudgetExceeded:
        who = f"user {user!r}" if user is not None else "the"
        return BudgetExceeded(
            f"{who} budget of ${limit:.4f} would be exceeded: ${committed:.4f} spent or in flight "
            f"+ ${amount:.4f} estimated for this call",
            limit=limit,
            spent=committed,
            user_id=user,
        )

    # state

    @property
    def spent(self) -> float:
        """USD spent by finished calls."""
        return self._spent

    @property
    def estimated_spent(self) -> float:
        """The part of ``spent`` that is an estimate: calls that ended or failed without a known cost."""
        return self._estimated

    @property
    def reserved(self) -> float:
        """USD reserved by calls in flight."""
        return self._reserved

    @property
    def in_flight(self) -> int:
        """Calls admitted and not finished yet."""
        return len(self._inflight)

    @property
    def remaining(self) -> float | None:
        """What is left of ``max_cost`` after spending and reservations (None: no global budget)."""
        if self.max_cost is None:
            return None
        return max(0.0, self.max_cost - self._spent - self._reserved)

    def spent_by(self, user_id: str) -> float:
        """USD spent by ``user_id``'s finished calls (users with a budget only)."""
        return self._user_spent.get(user_id, 0.0)

    def remaining_for(self, user_id: str) -> float | None:
        """What is left of ``user_id``'s budget (None: that user has none)."""
        limit = self._limit_for(user_id)
        if limit is None:
            return None
        with self._lock:
            used = self._user_spent.get(user_id, 0.0) + self._user_reserved.get(user_id, 0.0)
        return max(0.0, limit - used)

    def reset(self) -> None:
        """Forget spending (calls in flight keep their reservations)."""
        with self._lock:
            self._spent = 0.0
            self._estimated = 0.0
            self._user_spent.clear()
