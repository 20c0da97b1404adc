"""Read a recording back: ``read_events`` yields its events, ``replay`` feeds them to handlers.

    metrics = MetricsCallbacks()
    result = replay("session.jsonl", [CostTracker(), metrics])   # same events, same order
    result.events, result.skipped, result.skipped_at

A recording may hold records that cannot be read: a truncated last line after a crash,
bytes that are not UTF-8, JSON nested too deeply to parse, an event type this version
does not know. Each is skipped and counted, the reading goes on with the next record,
and a WARNING on ``"llmhooks"`` says how many were skipped, where and why. Nothing after
a bad record is lost.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from llmhooks.core.callbacks import Callbacks
from llmhooks.core.manager import CallbackManager
from llmhooks.errors import Abort
from llmhooks.events import Event, event_types
from llmhooks.events.serialize import event_from_dict

__all__ = ["SQLITE_SUFFIXES", "ReplayResult", "areplay", "format_for", "read_events", "replay"]

logger = logging.getLogger("llmhooks")

Format = Literal["jsonl", "sqlite"]
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_KEEP_PLACES = 100  # skipped records whose place is kept (the count is always exact)


def format_for(path: Path, fmt: Format | None) -> Format:
    """``fmt`` if given (checked), else ``"sqlite"`` for a SQLite suffix and ``"jsonl"`` otherwise."""
    if fmt is not None:
        if fmt not in ("jsonl", "sqlite"):
            raise ValueError(f"format must be 'jsonl' or 'sqlite', got {fmt!r}")
        return fmt
    return "sqlite" if path.suffix.lower() in SQLITE_SUFFIXES else "jsonl"


@dataclass(slots=True)
class ReplayResult:
    """What a read or replay did.

    ``events`` delivered, unreadable records ``skipped`` (with ``skipped_at``: the line
    numbers, or SQLite ``seq``, of the first 100, and ``reasons`` by kind), events
    ``aborted`` by a handler.
    """

    events: int = 0
    skipped: int = 0
    aborted: int = 0
    skipped_at: list[int] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def _skip(self, place: int, reason: str) -> None:
        self.skipped += 1
        if len(self.skipped_at) < _KEEP_PLACES:
            self.skipped_at.append(place)
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def read_events(path: str | os.PathLike[str], *, result: ReplayResult | None = None) -> Iterator[Event]:
    """Yield the events recorded at ``path``, in order; unreadable records are skipped and counted.

    Raises:
        OSError: the file cannot be opened.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a file path (str or os.PathLike), got {path!r} ({type(path).__name__})"
        )
    p = Path(path)
    counts = result if result is not None else ReplayResult()
    try:
        if format_for(p, None) == "sqlite":
            yield from _sqlite(p, counts)
        else:
            yield from _jsonl(p, counts)
    finally:  # also when the caller stops early: say what was skipped so far
        if counts.skipped:
            kinds = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.reasons.items()))
            where = "seq" if format_for(p, None) == "sqlite" else "line"
            places = ", ".join(map(str, counts.skipped_at[:10]))
            more = ", ..." if counts.skipped > 10 else ""
            logger.warning(
                "llmhooks replay of %s: skipped %d unreadable record(s) (%s) at %s %s%s; "
                "the records after them were read",
                p,
                counts.skipped,
                kinds,
                where,
                places,
                more,
            )


def _jsonl(p: Path, counts: ReplayResult) -> Iterator[Event]:
    with open(p, "rb") as f:  # bytes: one line that is not UTF-8 must not end the reading
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                counts._skip(number, "not UTF-8")
                continue
            event = _parse(text, number, counts)
            if event is not None:
                yield event


def _sqlite(p: Path, counts: ReplayResult) -> Iterator[Event]:
    import sqlite3

    db = sqlite3.connect(p)
    db.text_factory = bytes  # decoded here, per row, so one bad row is skipped, not fatal
    try:
        for seq, data in db.execute("SELECT seq, data FROM events ORDER BY seq"):
            try:
                text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
            except UnicodeDecodeError:
                counts._skip(seq, "not UTF-8")
                continue
            event = _parse(text, seq, counts)
            if event is not None:
                yield event
    finally:
        db.close()


def _parse(text: str, place: int, counts: ReplayResult) -> Event | None:
    try:
        data = json.loads(text)
    except RecursionError:
        counts._skip(place, "nested too deeply")
        return None
    except ValueError:  # a truncated last line, or not JSON at all
        counts._skip(place, "not JSON")
        return None
    if not isinstance(data, dict):
        counts._skip(place, "not an event object")
        return None
    try:
        return event_from_dict(data)
    except Exception:  # a type this version does not know, or fields of the wrong kind
        kind = data.get("type")
        known = isinstance(kind, str) and kind in event_types()
        counts._skip(place, "not an event object" if known else "unknown event type")
    return None


def _manager(callbacks: Callbacks | Sequence[Callbacks]) -> CallbackManager:
    if isinstance(callbacks, CallbackManager):
        return callbacks
    if isinstance(callbacks, Callbacks):
        return CallbackManager([callbacks])
    if isinstance(callbacks, (str, bytes, Mapping)) or not isinstance(callbacks, Iterable):
        raise TypeError(
            "callbacks must be a handler, a list of handlers or a CallbackManager, "
            f"got {callbacks!r} ({type(callbacks).__name__})"
        )
    return CallbackManager(list(callbacks))


def replay(path: str | os.PathLike[str], callbacks: Callbacks | Sequence[Callbacks]) -> ReplayResult:
    """Feed the events recorded at ``path`` to ``callbacks`` (only those), in order, in sync code.

    Handlers' errors are isolated as in live dispatch; an ``Abort`` (a limiter
    refusing a recorded call) is counted in ``aborted`` and replay goes on.
    Unreadable records are skipped, counted in ``skipped`` and logged (see the module doc).
    """
    result = ReplayResult()
    emit = _manager(callbacks).emit
    for event in read_events(path, result=result):
        try:
            emit(event)
        except Abort:
            result.aborted += 1
        result.events += 1
    return result


async def areplay(path: str | os.PathLike[str], callbacks: Callbacks | Sequence[Callbacks]) -> ReplayResult:
    """``replay`` for async code: async handler methods are awaited."""
    result = ReplayResult()
    aemit = _manager(callbacks).aemit
    for event in read_events(path, result=result):
        try:
            await aemit(event)
        except Abort:
            result.aborted += 1
        result.events += 1
    return result
