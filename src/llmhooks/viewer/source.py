"""Where recorded events come from: one small class per kind of store.

    source = open_source("session.jsonl")       # or "session.db", or "redis://127.0.0.1:6379/0"
    source.count()                              # records there now (for a progress bar)
    for event in source.read(): ...             # everything recorded, in order
    new = source.poll()                         # --follow: what was written since the last poll

Each store is one subclass of ``Source`` with these three methods (the Redis Stream a
``RedisStreamShipper`` writes: ``redis_source.RedisSource``). For files ``read`` goes
through ``llmhooks.handlers.record.read_events``, so a viewer reads exactly what
``replay`` would (unreadable records skipped and counted in ``result``). ``poll`` reads
incrementally from where the last poll stopped; it never returns a JSONL line that is
still being written.
"""

from __future__ import annotations

import json
import os
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from llmhooks.events import Event, event_from_dict
from llmhooks.handlers.record import ReplayResult, read_events

__all__ = ["JsonlSource", "Source", "SqliteSource", "open_source"]

# the suffixes EventRecorder writes SQLite for (its own rule, kept in step with it)
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_CHUNK = 1 << 20


class Source(ABC):
    """A recording to read whole, count, and poll for what was added."""

    name: str
    """How the source is called in headings and reports (a path, a stream key)."""

    @property
    def short_name(self) -> str:
        """The name cut to its last part (a file's name), for progress bars."""
        return Path(self.name).name or self.name

    @abstractmethod
    def read(self, result: ReplayResult | None = None) -> Iterator[Event]:
        """Every event recorded so far, in order; unreadable records are counted in ``result.skipped``."""

    @abstractmethod
    def count(self) -> int | None:
        """How many records there are now (cheaply), or ``None`` when that is not known."""

    @abstractmethod
    def poll(self, result: ReplayResult | None = None) -> list[Event]:
        """The events recorded since the last call (the first call: from the beginning)."""


def _parse(text: str | bytes, result: ReplayResult | None) -> Event | None:
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return event_from_dict(data)
    except (ValueError, TypeError):  # as read_events: a type this version does not know, a torn line
        if result is not None:
            result.skipped += 1
        return None


class JsonlSource(Source):
    """A JSONL recording (one event per line), as ``EventRecorder`` writes by default."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self._offset = 0
        self._partial = b""
        self._inode: int | None = None

    def read(self, result: ReplayResult | None = None) -> Iterator[Event]:
        _must_exist(self.path)
        return read_events(self.path, result=result)

    def count(self) -> int | None:
        lines = 0
        with open(self.path, "rb") as f:
            while chunk := f.read(_CHUNK):
                lines += chunk.count(b"\n")
        return lines

    def poll(self, result: ReplayResult | None = None) -> list[Event]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return []
        if stat.st_ino != self._inode or stat.st_size < self._offset:  # replaced or truncated: start over
            self._inode, self._offset, self._partial = stat.st_ino, 0, b""
        if stat.st_size == self._offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read(stat.st_size - self._offset)
        self._offset += len(data)
        data = self._partial + data
        complete, _, self._partial = data.rpartition(b"\n")  # keep a line still being written
        events = []
        for line in complete.split(b"\n"):
            if line.strip():
                event = _parse(line, result)
                if event is not None:
                    events.append(event)
        return events


class SqliteSource(Source):
    """A SQLite recording (table ``events``), as ``EventRecorder`` writes for ``.db`` paths."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self._seq = 0

    def read(self, result: ReplayResult | None = None) -> Iterator[Event]:
        _must_exist(self.path)
        return read_events(self.path, result=result)

    def count(self) -> int | None:
        (total,) = self._query("SELECT COUNT(*) FROM events", ())[0]
        return int(cast(int, total))

    def poll(self, result: ReplayResult | None = None) -> list[Event]:
        if not self.path.exists():
            return []
        try:
            rows = self._query(
                "SELECT seq, data FROM events WHERE seq > ? ORDER BY seq LIMIT 10000", (self._seq,)
            )
        except sqlite3.OperationalError:  # the recorder has not created its table yet
            return []
        events = []
        for seq, data in rows:
            self._seq = cast(int, seq)
            event = _parse(cast(str, data), result)
            if event is not None:
                events.append(event)
        return events

    def _query(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        db = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()


def _must_exist(path: Path) -> None:
    # before read_events: sqlite3.connect would create an empty database in its place
    if not path.is_file():
        raise FileNotFoundError(f"no recording at {str(path)!r}")


def open_source(path: str | os.PathLike[str], *, stream: str | None = None) -> Source:
    """The ``Source`` for a recording: a ``redis://`` URL (``RedisSource``, ``stream`` its key), or a
    file, by its suffix as ``EventRecorder`` chose the format."""
    from llmhooks.viewer.redis_source import DEFAULT_STREAM, RedisSource, is_redis_url

    if is_redis_url(path):
        return RedisSource(str(path), stream=stream or DEFAULT_STREAM)
    p = Path(path)
    if p.suffix.lower() in SQLITE_SUFFIXES:
        return SqliteSource(p)
    return JsonlSource(p)
