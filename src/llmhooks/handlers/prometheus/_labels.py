"""Label values with a bound: each label keeps at most ``limit`` distinct values.

Every label value is one more time series per metric, kept forever by Prometheus. Model,
tool, node and server names are normally few, but a bug or a user-chosen name can make
them many; past the bound, new values are counted under ``OTHER``, so the number of
series stays fixed whatever the input.
"""

from __future__ import annotations

import threading

__all__ = ["OTHER", "UNKNOWN", "Bounded"]

OTHER = "__other__"
UNKNOWN = "unknown"
MAX_LENGTH = 128  # a longer value is not a name; it is cut, not refused


class Bounded:
    """Distinct values seen per label name, up to ``limit`` each; thread-safe."""

    __slots__ = ("_lock", "_seen", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, label: str, value: object) -> str:
        """``value`` as a label value of ``label``: itself, ``UNKNOWN`` for None, or ``OTHER``."""
        if value is None or value == "":
            return UNKNOWN
        text = value if isinstance(value, str) else str(value)
        if len(text) > MAX_LENGTH:
            text = text[:MAX_LENGTH]
        seen = self._seen.get(label)
        if seen is not None and text in seen:  # the common case: no lock
            return text
        with self._lock:
            seen = self._seen.setdefault(label, set())
            if text in seen:
                return text
            if len(seen) >= self.limit:
                return OTHER
            seen.add(text)
        return text
