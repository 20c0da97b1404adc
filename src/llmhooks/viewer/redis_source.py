"""``RedisSource``: the events a ``RedisStreamShipper`` put in a Redis Stream, read without consuming them.

    source = RedisSource("redis://127.0.0.1:6379/0", stream="llmhooks:events")
    recording = load(source)            # or: llmhooks view redis://127.0.0.1:6379/0

It reads with ``XRANGE`` (in pages), never as a consumer group: viewing takes nothing
from the collectors that share the stream, and acknowledges nothing. An event the shipper
sent twice (a batch resent after a timeout) carries the same ``event_id`` and is shown
once, as a collector would handle it once. Entries that are not llmhooks events are
skipped and counted, as ``read_events`` does for a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from llmhooks.events import Event, event_from_dict
from llmhooks.handlers.record import ReplayResult
from llmhooks.viewer.source import Source

__all__ = ["DEFAULT_STREAM", "REDIS_SCHEMES", "RedisSource", "is_redis_url", "shown_url"]

DEFAULT_STREAM = "llmhooks:events"  # RedisStreamShipper's default (kept in step with it)
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_PAGE = 5000


def is_redis_url(path: object) -> bool:
    """Whether ``path`` names a Redis server rather than a file."""
    return isinstance(path, str) and path.lower().startswith(REDIS_SCHEMES)


def shown_url(url: str) -> str:
    """``url`` with its password masked, for headings and reports (``redis://:***@host:6379/0``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisSource(Source):
    """The Redis Stream ``stream`` at ``url``, as shipped by ``RedisStreamShipper``.

    Args:
        url: ``redis://host:port/db`` (or ``rediss://``, ``unix://``).
        stream: the stream's key (``RedisStreamShipper``'s ``stream``).
        timeout: seconds to wait for each reply.

    Raises:
        MissingExtraError: redis-py is not installed (``pip install 'llmhooks[redis]'``).
    """

    def __init__(self, url: str, *, stream: str = DEFAULT_STREAM, timeout: float = 5.0) -> None:
        if not is_redis_url(url):
            raise ValueError(f"url must start with one of {', '.join(REDIS_SCHEMES)}; got {url!r}")
        if not isinstance(stream, str) or not stream:
            raise ValueError(f"stream must be a non-empty string, got {stream!r}")
        from llmhooks.handlers.redis._connection import RedisConnection

        self.url = url
        self.stream = stream
        self.name = f"{shown_url(url)} {stream}"
        self.connection = RedisConnection(url, timeout=timeout)
        self._last = "-"  # poll: the last entry id read ("-": none yet)
        self._seen: set[str] = set()

    @property
    def short_name(self) -> str:
        """The stream's key."""
        return self.stream

    def _range(self, start: str, count: int) -> list[tuple[Any, dict[Any, Any]]]:
        def page(r: Any) -> Any:
            return r.xrange(self.stream, min=start, max="+", count=count)

        return list(self.connection.run(page) or [])

    def _event(self, fields: dict[Any, Any], result: ReplayResult | None) -> Event | None:
        raw = fields.get(b"e", fields.get("e"))
        try:
            if raw is None:
                raise ValueError("no 'e' field")
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            event_id = data.pop("event_id", None)
            if isinstance(event_id, str):
                if event_id in self._seen:
                    return None  # sent twice by the shipper: shown once
                self._seen.add(event_id)
            return event_from_dict(data)
        except (ValueError, TypeError):  # not JSON, not an event this version knows
            if result is not None:
                result.skipped += 1
            return None

    def _after(self, start: str, result: ReplayResult | None) -> Iterator[Event]:
        while True:
            rows = self._range(start, _PAGE)
            for entry_id, fields in rows:
                self._last = _text(entry_id)
                event = self._event(fields, result)
                if event is not None:
                    yield event
            if len(rows) < _PAGE:
                return
            start = "(" + self._last

    def read(self, result: ReplayResult | None = None) -> Iterator[Event]:
        if not self.connection.run(lambda r: r.exists(self.stream)):
            raise FileNotFoundError(f"no stream {self.stream!r} at {shown_url(self.url)}")
        self._seen.clear()
        return self._after("-", result)

    def count(self) -> int | None:
        return int(self.connection.run(lambda r: r.xlen(self.stream)))

    def poll(self, result: ReplayResult | None = None) -> list[Event]:
        start = "-" if self._last == "-" else "(" + self._last
        events = []
        for entry_id, fields in self._range(start, _PAGE * 2):
            self._last = _text(entry_id)
            event = self._event(fields, result)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> None:
        """Release the connection."""
        self.connection.close()
