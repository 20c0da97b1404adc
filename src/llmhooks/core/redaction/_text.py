"""Secret shapes in text: where they are, within a time budget; and which strings were clean.

    spans, cut = find_secrets(text, budget)   # matches of SECRETS, and where checking stopped

The anchors run over the lowercased text (the same positions: ``str.lower`` keeps the
length of everything but U+0130, replaced first); the secret patterns are tried only in the few
characters before each anchor. The result is the same as ``rules().secrets.finditer(text)``
(tests compare both) at a fraction of the cost, because the full patterns, several of
which begin with a look-behind, would otherwise be tried at every position.
"""

from __future__ import annotations

import re
import time
from typing import Protocol

from llmhooks.core.redaction._rules import ANCHOR_BACK, ANCHOR_LONGEST, rules

__all__ = ["BIG", "Budget", "CleanStrings", "Clock", "find_secrets"]

BIG = 65_536  # longer strings are remembered by fingerprint, and their scan is split
_CHUNK = 65_536  # characters of anchor scan between two looks at the clock
_LOOK_EVERY = 256  # candidate positions between two looks at the clock


class Budget(Protocol):
    """What a scan asks of the walk it is part of."""

    def expired(self) -> bool:
        """True once the event's time budget is spent."""
        ...


def _lowered(text: str) -> str:
    # "İ" is the one character that lowers to two: replaced first, positions stay aligned
    return text.replace("\u0130", "i").lower()


def find_secrets(text: str, budget: Budget | None) -> tuple[list[re.Match[str]], int | None]:
    """Matches of the built-in patterns in ``text``, and the position from which it was not
    checked because ``budget`` ran out (None when all of it was)."""
    compiled = rules()
    low = text.lower()
    n = len(text)
    if len(low) != n:
        low = _lowered(text)
    search = compiled.anchors.search
    cased = compiled.cased_anchors.search
    first = cased_first = None
    if n <= _CHUNK:  # the usual text: nothing to find, said by two searches
        first = search(low)
        cased_first = cased(text)
        if first is None and cased_first is None:
            return [], None
    # windows [lo, hi] where a match may start, in the order their anchors were met
    windows: list[tuple[int, int]] = []
    back = ANCHOR_BACK
    cut: int | None = None
    pos = 0
    look_at = _LOOK_EVERY
    while pos < n:
        # pieces overlap by the longest anchor, so none is lost at a boundary
        stop = min(n, pos + _CHUNK)
        end = min(n, stop + ANCHOR_LONGEST)
        m = first if pos == 0 and n <= _CHUNK else search(low, pos, end)
        while m is not None:
            p = m.start()
            if p >= stop:
                break
            windows.append((max(0, p - back[m.lastgroup]), p))  # type: ignore[index]
            if len(windows) > look_at:
                look_at += _LOOK_EVERY
                if budget is not None and budget.expired():
                    cut = p
                    break
            m = search(low, p + 1, end)
        if cut is not None:
            break
        pos = stop
        if pos < n and budget is not None and budget.expired():
            cut = pos
    limit = n if cut is None else cut
    m = cased_first if n <= _CHUNK else cased(text, 0, limit)
    while m is not None:
        windows.append((m.start(), m.start()))
        m = cased(text, m.start() + 1, limit)
    found: list[re.Match[str]] = []
    if not windows:
        return found, cut
    # positions in increasing order, as a left-to-right scan would try them
    positions = [q for lo, hi in windows for q in range(lo, hi + 1)]
    if len(windows) > 1:
        positions = sorted(set(positions))
    match = compiled.secrets.match
    last = 0
    tried = 0
    for q in positions:
        if q >= limit:
            break
        if q < last:
            continue
        tried += 1
        if tried % _LOOK_EVERY == 0 and budget is not None and budget.expired():
            return found, q
        hit = match(text, q)
        if hit is not None:
            found.append(hit)
            last = hit.end()
    return found, cut


class CleanStrings:
    """Strings found clean, so that histories and system prompts are scanned once.

    Up to ``BIG`` characters a string is kept itself (4096 strings, 4 M characters at
    most); a longer one by its length and ``hash`` (SipHash, keyed per process, so an
    input cannot be made to collide on purpose), 1024 of them. Races between threads
    only cost a scan.
    """

    __slots__ = ("big", "chars", "small")

    MAX_SMALL = 4096
    MAX_CHARS = 4_000_000
    MAX_BIG = 1024

    def __init__(self) -> None:
        self.small: dict[str, None] = {}
        self.big: dict[tuple[int, int], None] = {}
        self.chars = 0

    def __contains__(self, text: str) -> bool:
        n = len(text)
        if n <= BIG:
            return text in self.small
        return (n, hash(text)) in self.big

    def add(self, text: str) -> None:
        """Remember ``text`` as clean, forgetting everything when a bound is reached."""
        n = len(text)
        if n <= BIG:
            small = self.small
            if len(small) >= self.MAX_SMALL or self.chars + n > self.MAX_CHARS:
                small.clear()
                self.chars = 0
            small[text] = None
            self.chars += n
        else:
            big = self.big
            if len(big) >= self.MAX_BIG:
                big.clear()
            big[(n, hash(text))] = None


class Clock:
    """A per-event CPU-time budget, started lazily: reading the thread's CPU clock costs
    about a microsecond, so small walks never read it."""

    __slots__ = ("deadline", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = 0.0

    def expired(self) -> bool:
        """True once ``seconds`` of this thread's CPU time passed since the first call."""
        now = time.thread_time()
        if not self.deadline:
            self.deadline = now + self.seconds
            return False
        return now >= self.deadline
