"""Tables keyed by names that come from outside (models, tools, servers), in bounded memory.

A program that sees a new model name per call (fine-tune ids, a typo in a loop, a proxy
that appends a date) must not grow a handler without end. A table holds at most ``limit``
names; every further name is counted in one row under ``OTHER``, so totals stay exact::

    row = bounded_row(self._models, event.model, self.max_models, new_row)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["OTHER", "bounded_row"]

OTHER = "(other)"

K = TypeVar("K")
V = TypeVar("V")


def bounded_row(table: dict[K, V], key: K, limit: int, new: Callable[[], V], other: K) -> V:
    """The row of ``key``; a new one while ``table`` has fewer than ``limit`` names, else ``other``'s.

    Not locked: the caller holds its own lock. The ``other`` row may take the table to
    ``limit + 1`` rows.
    """
    row = table.get(key)
    if row is None:
        if len(table) >= limit:
            key = other
            row = table.get(key)
        if row is None:
            row = table[key] = new()
    return row
