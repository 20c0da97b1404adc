"""Billing cycles: the cycle a call belongs to, as a short id used in Redis keys.

    cycle_of("monthly")(ts)          # "2026-12"     calendar month (UTC) of the call
    cycle_of("daily")(ts)            # "2026-12-03"
    cycle_of("2024-01-01")(ts)       # "2024-01-01"  seed 002: the caller names the cycle
    cycle_of(monthly_cycle(15))(ts)  # "2026-11-15"  months starting on the 15th
    cycle_of(lambda ts: "q4")(ts)    # any function of the call's timestamp

A call is counted in the cycle of its own timestamp (the event's, not the time the
write reaches Redis), so a call that ends just after midnight on the last day counts
in the cycle it was made in, whichever process or collector writes it and however late.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Callable

__all__ = ["Cycle", "CycleFunction", "cycle_of", "monthly_cycle"]

CycleFunction = Callable[[float], str]
Cycle = str | _dt.date | CycleFunction
"""``"monthly"``, ``"daily"``, ``"all"``, a cycle start date, or a function of the timestamp."""


def _utc(ts: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC)


def _monthly(ts: float) -> str:
    return _utc(ts).strftime("%Y-%m")


def _daily(ts: float) -> str:
    return _utc(ts).strftime("%Y-%m-%d")


def _all(ts: float) -> str:
    return "all"


def _parse_date(name: str, text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{name} must be 'monthly', 'daily', 'all', a date 'YYYY-MM-DD' or a function of the "
            f"timestamp, got {text!r}"
        ) from None


def cycle_of(cycle: Cycle, name: str = "cycle") -> CycleFunction:
    """The function mapping a call's timestamp to its cycle id.

    Raises:
        ValueError: an unknown name or a malformed date.
        TypeError: neither a string, a date nor a callable.
    """
    if isinstance(cycle, str):
        if cycle == "monthly":
            return _monthly
        if cycle == "daily":
            return _daily
        if cycle == "all":
            return _all
        fixed = _parse_date(name, cycle).isoformat()
        return lambda ts: fixed
    if isinstance(cycle, _dt.date):
        fixed = cycle.isoformat()
        return lambda ts: fixed
    if callable(cycle):
        return _checked(cycle, name)
    raise TypeError(f"{name} must be a string, a date or a function of the timestamp, got {cycle!r}")


def _checked(fn: CycleFunction, name: str) -> CycleFunction:
    def cycle_id(ts: float) -> str:
        value = fn(ts)
        if not isinstance(value, str) or not value:
            raise TypeError(f"{name} function must return a non-empty string, got {value!r}")
        return value

    return cycle_id


def monthly_cycle(start: int | str | _dt.date) -> CycleFunction:
    """Monthly cycles that start on a day of the month (``15``, or the day of ``"2024-01-15"``).

    The id is the cycle's start date (``"2026-11-15"``). A start day past the end of a
    short month starts that month's cycle on its last day (31 -> 30 April, 28/29 February).

    Raises:
        ValueError: a day outside 1..31 or a malformed date.
    """
    if isinstance(start, str):
        day = _parse_date("start", start).day
    elif isinstance(start, _dt.date):
        day = start.day
    elif isinstance(start, int) and not isinstance(start, bool) and 1 <= start <= 31:
        day = start
    else:
        raise ValueError(f"start must be a day 1..31 or a date, got {start!r}")

    def starts_in(year: int, month: int) -> _dt.date:
        return _dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))

    def cycle_id(ts: float) -> str:
        today = _utc(ts).date()
        begin = starts_in(today.year, today.month)
        if today < begin:
            year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
            begin = starts_in(year, month)
        return begin.isoformat()

    return cycle_id
