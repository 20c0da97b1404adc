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

What is not yet flushed is flushed ``flush_interval`` seconds (1.0) after the first of
it arrived, even if no further event comes, and at interpreter exit if the recorder was
never closed (from then on each event is flushed at once). Text that UTF-8 cannot
encode (a lone surrogate from a broken decode) is written escaped (``"\\ud800"``), which
reads back to the same string: no event is refused for its content. ``background=True``
moves the serialisation and the write off the caller's thread. Events are already
redacted when built, so recordings are too.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from llmhooks._validate import check_bool, check_int, check_number, check_writable_path
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import Event
from llmhooks.handlers import _cadence
from llmhooks.handlers._replay import (
    Format,
    ReplayResult,
    areplay,
    format_for,
    read_events,
    replay,
)

__all__ = ["EventRecorder", "ReplayResult", "areplay", "read_events", "replay"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, "
    "run_id TEXT, trace_id TEXT, timestamp REAL, data TEXT NOT NULL)"
)
logger = logging.getLogger("llmhooks")
_EXIT_LOCK_WAIT_S = 2.0
_INSERT = "INSERT INTO events (type, run_id, trace_id, timestamp, data) VALUES (?, ?, ?, ?, ?)"


def _json(event: Event) -> str:
    """``event`` as one line of JSON text that UTF-8 can encode."""
    data = event.to_dict()
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escape it rather than lose the event
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text


def _line(event: Event) -> bytes:
    """``event`` as one UTF-8 line of JSON (encoded once, outside any lock)."""
    data = event.to_dict()
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escape it rather than lose the event
        return (json.dumps(data, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def _text(value: str | None) -> str | None:
    """A column value SQLite can store (surrogates escaped as in JSON)."""
    if value is None or value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("ascii")
    return value


class EventRecorder(Callbacks):
    """Records every event it receives to a JSONL or SQLite file; thread- and task-safe.

    With ``background=True`` it has a queue and a writer thread of its own; a full queue
    makes producers wait rather than lose events (``background_overflow = "block"``): a
    recording is what users trust to be complete.

    Args:
        path: file to write; created with its parent directories, appended to if it exists.
        format: ``"jsonl"`` or ``"sqlite"``; by default from the suffix.
        flush_every: flush (JSONL) or commit (SQLite) after this many events.
        flush_interval: seconds after which events not yet flushed are flushed anyway
            (None: only by ``flush_every``, ``flush()``, ``close()`` and at exit).
        background: write from the background worker instead of the caller's thread.
        fsync: survive power loss, not only a crash: ``os.fsync`` JSONL on each flush, and
            SQLite's ``synchronous=FULL`` instead of ``NORMAL`` (slower).

    Raises:
        TypeError, ValueError: an argument of the wrong kind or out of range, an unknown
            ``format``, a ``path`` under a file or naming a directory.
        OSError: the file cannot be opened.
    """

    background_overflow = "block"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        format: Format | None = None,
        flush_every: int = 1,
        flush_interval: float | None = 1.0,
        background: bool = False,
        fsync: bool = False,
    ) -> None:
        self.path = Path(check_writable_path("path", path))
        self.format: Format = format_for(self.path, format)
        self.flush_every: int = check_int("flush_every", flush_every, minimum=1)
        self.flush_interval: float | None = check_number(
            "flush_interval", flush_interval, minimum=0, exclusive_minimum=True, allow_none=True
        )
        self.background = check_bool("background", background)
        self.fsync = check_bool("fsync", fsync)
        self.recorded = 0
        self._late = 0  # events received after close()
        self._pending = 0
        # reentrant: the exit flush may run in a signal handler, in a thread that holds it
        self._lock = threading.RLock()
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "sqlite":
            import sqlite3

            self._db: Any = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives the program crashing, as a flushed JSONL line does;
            # FULL (fsync=True) also survives power loss, at a disk sync per commit
            self._db.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
            self._db.execute(_SCHEMA)
            self._file = None
        else:
            self._db = None
            self._file = open(self.path, "ab")  # noqa: SIM115 (closed by close())
        _cadence.track(self)

    def on_event(self, event: Event) -> None:
        """Write ``event`` (every event type comes here)."""
        if self._db is not None:
            # serialised outside the lock: that is most of the cost
            row = (event.type, _text(event.run_id), _text(event.trace_id), event.timestamp, _json(event))
            with self._lock:
                if self._closed:
                    self._late += 1
                    return
                db = self._db
                if not db.in_transaction:  # never BEGIN inside a transaction a failed INSERT left open
                    db.execute("BEGIN")
                db.execute(_INSERT, row)
                self.recorded += 1
                self._pending += 1
                first = self._pending == 1
                if self._pending >= self.flush_every:
                    self._flush_locked()
                    first = False
        else:
            line = _line(event)
            with self._lock:
                if self._closed:
                    self._late += 1
                    return
                assert self._file is not None
                self._file.write(line)
                self.recorded += 1
                self._pending += 1
                first = self._pending == 1
                if self._pending >= self.flush_every:
                    self._flush_locked()
                    first = False
        if first and self.flush_interval is not None:
            _cadence.due(self, self.flush_interval)

    def _flush_locked(self) -> None:
        self._pending = 0
        if self._file is not None:
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
        elif self._db is not None and self._db.in_transaction:
            self._db.execute("COMMIT")

    @property
    def dropped(self) -> int:
        """Events lost, each counted once: discarded by a full background queue (never with the
        default ``background_overflow = "block"``), received after ``close()``, or still queued
        when ``close()`` gave up waiting (those are refused when they arrive, and counted then
        no more). Events merely queued while the recorder is open are not lost: ``flush``
        says whether they were written in time."""
        from llmhooks.core.stats import stats_for

        lost = self._late + stats_for(self).dropped
        worker = getattr(self, "_llmhooks_queue", None) if self._closed else None
        if worker is not None:
            # still queued after close: each is refused (and counted in _late) when it arrives;
            # undelivered() stops counting it as soon as the write of the one before returned
            lost += worker.undelivered()
        return lost

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Write out everything recorded so far (waits for its background queue if used).

        Returns:
            True if every event handed to the recorder is written; False if its background
            queue did not drain within ``timeout`` (a warning says how many are still queued;
            they are written later, unless ``close()`` comes first).
        """
        done = True
        worker = getattr(self, "_llmhooks_queue", None) if self.background else None
        if worker is not None:
            done = worker.flush(timeout)
            if not done:
                logger.warning(
                    "llmhooks EventRecorder(%s): %d event(s) still queued after %ss",
                    self.path, worker.undelivered(), timeout,
                )  # fmt: skip
        with self._lock:
            if not self._closed:
                self._flush_locked()
        return done

    def flush_due(self) -> None:
        """Flush what has waited ``flush_interval`` (called by the flush thread)."""
        with self._lock:
            if not self._closed and self._pending:
                self._flush_locked()

    def flush_at_exit(self) -> None:
        """At exit (queues already delivered): flush, then flush each later event at once."""
        self.flush_every = 1
        if not self._lock.acquire(timeout=_EXIT_LOCK_WAIT_S):  # a thread stuck holding it: never hang
            return
        try:
            if not self._closed:
                self._flush_locked()
        finally:
            self._lock.release()

    def close(self, timeout: float | None = 10.0) -> None:
        """Flush (waiting up to ``timeout`` seconds for the background queue) and close the file.

        Events lost by then (see ``dropped``) are logged as a WARNING with their number; events
        that arrive later are refused and counted in ``dropped``. Idempotent.
        """
        if self._closed:
            return
        check_number("timeout", timeout, minimum=0, allow_none=True)
        self.flush(timeout)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._file is not None:
                self._file.close()
            if self._db is not None:
                self._db.close()
        _cadence.untrack(self)
        lost = self.dropped
        if lost:
            logger.warning(
                "llmhooks EventRecorder(%s): %d event(s) not written (discarded by a full queue, or "
                "still queued when close() gave up after %ss); see recorder.dropped",
                self.path, lost, timeout,
            )  # fmt: skip

    def __enter__(self) -> EventRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventRecorder({str(self.path)!r}, format={self.format!r}, recorded={self.recorded})"
