"""``EventRecorder`` writes every event to a file as it happens; ``replay`` feeds one back.

    with EventRecorder("session.jsonl") as recorder:      # or "session.db" for SQLite
        with callbacks_context([recorder]):
            agent.run("...")

    metrics = MetricsCallbacks()
    result = replay("session.jsonl", [CostTracker(), metrics])   # same events, same order
    result.events, result.skipped

JSONL (default): one ``event.to_dict()`` per line, written whole under a lock and
flushed after every ``flush_every`` events (1: each one), so a crash loses at most
the unflushed lines and leaves at worst a truncated last line, which ``replay``
skips and counts. SQLite (path ending ``.db``, ``.sqlite`` or ``.sqlite3``): a table
``events(seq, type, run_id, trace_id, timestamp, data)``, committed every
``flush_every`` events, in WAL mode so it can be read while it is written.
``background=True`` moves the serialisation and the write off the caller's thread
(through the shared background worker). Events are already redacted when built,
so recordings are too.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from llmhooks.core.callbacks import Callbacks
from llmhooks.core.manager import CallbackManager
from llmhooks.errors import Abort
from llmhooks.events import Event
from llmhooks.events.serialize import event_from_dict

__all__ = ["EventRecorder", "ReplayResult", "areplay", "read_events", "replay"]

logger = logging.getLogger("llmhooks")

Format = Literal["jsonl", "sqlite"]
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, "
    "run_id TEXT, trace_id TEXT, timestamp REAL, data TEXT NOT NULL)"
)


def _format_for(path: Path, fmt: Format | None) -> Format:
    if fmt is not None:
        if fmt not in ("jsonl", "sqlite"):
            raise ValueError(f"format must be 'jsonl' or 'sqlite', got {fmt!r}")
        return fmt
    return "sqlite" if path.suffix.lower() in _SQLITE_SUFFIXES else "jsonl"


def _dumps(event: Event) -> str:
    return json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":"))


class EventRecorder(Callbacks):
    """Records every event it receives to a JSONL or SQLite file; thread- and task-safe.

    Args:
        path: file to write; created with its parent directories, appended to if it exists.
        format: ``"jsonl"`` or ``"sqlite"``; by default from the suffix.
        flush_every: flush (JSONL) or commit (SQLite) after this many events.
        background: write from the background worker instead of the caller's thread.
        fsync: also ``os.fsync`` JSONL on each flush (survives power loss; slower).

    Raises:
        ValueError: ``flush_every`` < 1 or an unknown ``format``.
        OSError: the file cannot be opened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        format: Format | None = None,
        flush_every: int = 1,
        background: bool = False,
        fsync: bool = False,
    ) -> None:
        if flush_every < 1:
            raise ValueError(f"flush_every must be >= 1, got {flush_every}")
        self.path = Path(path)
        self.format: Format = _format_for(self.path, format)
        self.flush_every = flush_every
        self.background = background
        self.fsync = fsync
        self.recorded = 0
        self.dropped = 0  # events received after close()
        self._pending = 0
        self._lock = threading.Lock()
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "sqlite":
            import sqlite3

            self._db: Any = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._file = None
        else:
            self._db = None
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def on_event(self, event: Event) -> None:
        """Write ``event`` (every event type comes here)."""
        if self._db is not None:
            row = (event.type, event.run_id, event.trace_id, event.timestamp, _dumps(event))
            with self._lock:
                if self._closed:
                    self.dropped += 1
                    return
                if self._pending == 0:
                    self._db.execute("BEGIN")
                self._db.execute(
                    "INSERT INTO events (type, run_id, trace_id, timestamp, data) VALUES (?, ?, ?, ?, ?)", row
                )
                self.recorded += 1
                self._pending += 1
                if self._pending >= self.flush_every:
                    self._db.execute("COMMIT")
                    self._pending = 0
            return
        line = _dumps(event) + "\n"
        with self._lock:
            if self._closed:
                self.dropped += 1
                return
            assert self._file is not None
            self._file.write(line)
            self.recorded += 1
            self._pending += 1
            if self._pending >= self.flush_every:
                self._flush_locked()

    def _flush_locked(self) -> None:
        self._pending = 0
        if self._file is not None:
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
        elif self._db is not None and self._db.in_transaction:
            self._db.execute("COMMIT")

    def flush(self) -> None:
        """Write out everything recorded so far (waits for the background worker if used)."""
        if self.background:
            from llmhooks.core.background import flush

            flush(timeout=10.0)
        with self._lock:
            if not self._closed:
                self._flush_locked()

    def close(self) -> None:
        """Flush and close the file; later events are counted in ``dropped``. Idempotent."""
        if self._closed:
            return
        self.flush()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._file is not None:
                self._file.close()
            if self._db is not None:
                self._db.close()

    def __enter__(self) -> EventRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventRecorder({str(self.path)!r}, format={self.format!r}, recorded={self.recorded})"


# reading back


@dataclass(slots=True)
class ReplayResult:
    """What a replay did: ``events`` delivered, unreadable lines ``skipped``, ``aborted`` by a handler."""

    events: int = 0
    skipped: int = 0
    aborted: int = 0


def read_events(path: str | os.PathLike[str], *, result: ReplayResult | None = None) -> Iterator[Event]:
    """Yield the events recorded at ``path``, in order; unreadable lines are skipped and counted."""
    p = Path(path)
    counts = result if result is not None else ReplayResult()
    if _format_for(p, None) == "sqlite":
        import sqlite3

        db = sqlite3.connect(p)
        try:
            rows = db.execute("SELECT data FROM events ORDER BY seq")
            for (data,) in rows:
                event = _parse(data, counts)
                if event is not None:
                    yield event
        finally:
            db.close()
    else:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                event = _parse(line, counts)
                if event is not None:
                    yield event
    if counts.skipped:
        logger.warning("llmhooks replay of %s: skipped %d unreadable record(s)", p, counts.skipped)


def _parse(text: str, counts: ReplayResult) -> Event | None:
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return event_from_dict(data)
    except (ValueError, TypeError):  # a truncated last line, or a type this version does not know
        counts.skipped += 1
        return None


def _manager(callbacks: Callbacks | Sequence[Callbacks]) -> CallbackManager:
    if isinstance(callbacks, CallbackManager):
        return callbacks
    if isinstance(callbacks, Callbacks):
        return CallbackManager([callbacks])
    return CallbackManager(list(callbacks))


def replay(path: str | os.PathLike[str], callbacks: Callbacks | Sequence[Callbacks]) -> ReplayResult:
    """Feed the events recorded at ``path`` to ``callbacks`` (only those), in order, in sync code.

    Handlers' errors are isolated as in live dispatch; an ``Abort`` (a limiter
    refusing a recorded call) is counted in ``aborted`` and replay goes on.
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
