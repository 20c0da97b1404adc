"""``EventShipper``: every event, as JSON, to another process through an ``EventExporter``.

    shipper = EventShipper(RedisStreamExporter("redis://redis:6379/0"))
    set_global_callbacks([shipper])       # every event of this process goes to the stream

The shipper is a background handler: the caller only queues the event (a bounded queue
per handler, oldest dropped first and counted when full); the worker hands it batches
(``on_batch``, up to ``background_batch_size`` events), which it encodes (``to_dict()``,
already redacted, plus an ``event_id``) and exports in one call. While the exporter fails
with one of its ``retryable`` errors (the server is away), the batch is retried with
backoff for ``retry_for`` seconds, then counted as ``failed`` and logged; meanwhile new
events wait in the queue. Events queued at exit are flushed by the core. ``stats()`` has
``dropped``, ``failed`` and ``lost`` beside ``shipped``, and a warning sums them up at
``close()`` and when the process exits (``report``), so no loss goes unnoticed.

``event_id`` is ``"<process id>-<sequence>"``: 16 random hex digits drawn once per process
(again after ``fork``) and a counter, so it is unique across processes and the same for
every copy of one shipped event, which is what consumers deduplicate on (a batch resent
after a timeout that had in fact been applied arrives twice).

An exporter is anything with ``export(payloads)`` (raising one of ``retryable`` when it
could not deliver) and ``close()``: ``RedisStreamExporter`` is one; another engine (NATS
JetStream, Kafka) is another class, and producers do not change.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import secrets
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol

from llmhooks._validate import check_choice, check_int, check_names, check_number
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.exits import add_exit_flush
from llmhooks.core.handler_queues import queue_counts
from llmhooks.events import Event
from llmhooks.handlers._backoff import retry

__all__ = ["EventExporter", "EventShipper", "encode_event"]

logger = logging.getLogger("llmhooks.ship")

_LOG_EVERY = 10.0


class EventExporter(Protocol):
    """Where shipped events go: one implementation per engine."""

    retryable: tuple[type[BaseException], ...]
    """Failures that mean "not delivered, try again" (the server is away or timed out)."""

    def export(self, payloads: Sequence[str]) -> None:
        """Deliver encoded events (JSON strings) in order, or raise."""

    def close(self) -> None:
        """Release connections."""


class _Ids:
    """``<process id>-<n>`` event ids; the process id is drawn again in a forked child."""

    def __init__(self) -> None:
        self._pid = -1
        self._lock = threading.Lock()
        self._prefix = ""
        self._counter = itertools.count()

    def next(self) -> str:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._prefix = secrets.token_hex(8)
                    self._counter = itertools.count()
                    self._pid = os.getpid()
        return f"{self._prefix}-{next(self._counter)}"


_ids = _Ids()


def encode_event(event: Event, event_id: str | None = None) -> str:
    """An event as shipped: its ``to_dict()`` JSON with an ``event_id``."""
    data = event.to_dict()
    data["event_id"] = event_id or _ids.next()
    return json.dumps(data, separators=(",", ":"), default=str)


class EventShipper(Callbacks):
    """A background handler exporting every event (or those of ``types``) in batches.

    Args:
        exporter: where the events go (``RedisStreamExporter``, or your own engine's).
        types: event types to ship (``{"llm.end", "tool.end"}``); None ships every event.
        retry_for: seconds a batch is retried while the exporter fails.
        queue_size: events waiting at most (the core's per-handler queue).
        overflow: what a full queue does: ``"drop_oldest"``, ``"drop_newest"`` or ``"block"``.
        batch_size: events handed to ``on_batch`` at most at once.

    Raises:
        ValueError, TypeError: a malformed argument.
    """

    background = True
    background_queue_size: int | None = 10_000
    background_overflow: str = "drop_oldest"
    background_batch_size: int = 512

    def __init__(
        self,
        exporter: EventExporter,
        *,
        types: Iterable[str] | None = None,
        retry_for: float = 30.0,
        queue_size: int = 10_000,
        overflow: Literal["drop_oldest", "drop_newest", "block"] = "drop_oldest",
        batch_size: int = 512,
    ) -> None:
        if not callable(getattr(exporter, "export", None)):
            raise TypeError(f"exporter must have an export(payloads) method, got {exporter!r}")
        self.exporter = exporter
        named = check_names("types", types, allow_none=True)
        self.types = None if named is None else frozenset(named)
        self.retry_for = float(check_number("retry_for", retry_for, minimum=0))
        self.background_queue_size = check_int("queue_size", queue_size, minimum=1)
        self.background_overflow = check_choice("overflow", overflow, ("drop_oldest", "drop_newest", "block"))
        self.background_batch_size = check_int("batch_size", batch_size, minimum=1)
        self._retryable: tuple[type[BaseException], ...] = tuple(getattr(exporter, "retryable", (OSError,)))
        self._lock = threading.Lock()
        self._stats = {"shipped": 0, "batches": 0, "retries": 0, "failed": 0}
        self._logged_at = -_LOG_EVERY
        self._failing = False
        self._reported: dict[str, int] = {}
        ref = weakref.ref(self)
        add_exit_flush(lambda: (lambda s: s is not None and s.report("exit"))(ref()))

    def __repr__(self) -> str:
        return f"EventShipper({self.exporter!r})"

    def wants(self, event_cls: type[Event]) -> bool:
        """Every event type, or those of ``types``: others are never queued."""
        return self.types is None or event_cls.type in self.types

    def on_event(self, event: Event) -> None:
        """One event (delivered inline, ``background = False``): shipped as a batch of one."""
        self.on_batch([event])

    def on_batch(self, events: Sequence[Event]) -> None:
        """Encode and export a batch, retrying while the exporter is away."""
        payloads = self._encode(events)
        if payloads:
            self.send(payloads)

    def write_batch(self, events: Sequence[Event]) -> int:
        """Export a batch, raising the exporter's error if it could not (the caller keeps it).

        What a ``Collector`` forwarding events calls: it acknowledges their entries only
        once this returned. Returns the events exported.
        """
        payloads = self._encode(events)
        if payloads:
            self._export(payloads)
        return len(payloads)

    def _encode(self, events: Sequence[Event]) -> list[str]:
        types = self.types
        return [encode_event(e) for e in events if types is None or e.type in types]

    def send(self, payloads: Sequence[str]) -> bool:
        """Export already encoded events with retries; False if they were given up."""
        try:
            self._export(payloads)
        except self._retryable as exc:
            with self._lock:
                self._stats["failed"] += len(payloads)
                failed, now = self._stats["failed"], time.monotonic()
                log = now - self._logged_at >= _LOG_EVERY
                if log:
                    self._logged_at = now
            if log:
                logger.error(
                    "EventShipper: events not delivered after retrying for %gs (%d so far): %s",
                    self.retry_for,
                    failed,
                    exc,
                )
            return False
        return True

    def _export(self, payloads: Sequence[str]) -> None:
        retry(
            lambda: self.exporter.export(payloads),
            retryable=self._retryable,
            retry_for=self.retry_for,
            on_retry=self._on_retry,
        )
        with self._lock:
            self._stats["shipped"] += len(payloads)
            self._stats["batches"] += 1
        if self._failing:
            self._failing = False
            logger.warning("EventShipper: %r delivers again", self.exporter)

    def _on_retry(self, exc: BaseException) -> None:
        with self._lock:
            self._stats["retries"] += 1
        if not self._failing:
            self._failing = True
            logger.warning("EventShipper: retrying while the exporter fails: %s", exc)

    def stats(self) -> dict[str, Any]:
        """``shipped`` events, ``batches``, ``retries``, ``failed`` events (given up after
        retrying), and from the core's queue of this handler: ``queued`` (waiting),
        ``dropped`` (the queue was full) and ``lost`` (still queued when the process exited)."""
        with self._lock:
            out: dict[str, Any] = dict(self._stats)
        out.update(queue_counts(self))
        return out

    def report(self, when: str = "close") -> bool:
        """Log a warning if events were dropped, given up or lost since the last report; True if so.

        Called by ``close()`` and when the process exits (after the exit flush).
        """
        stats = self.stats()
        new = {k: stats[k] - self._reported.get(k, 0) for k in ("dropped", "failed", "lost")}
        if not any(v > 0 for v in new.values()):
            return False
        self._reported = {k: stats[k] for k in new}
        logger.warning(
            "EventShipper %r at %s: %d event(s) not shipped: %d dropped (queue full), "
            "%d given up (exporter failing for %gs), %d lost (queued at exit); %d shipped",
            self.exporter,
            when,
            sum(new.values()),
            new["dropped"],
            new["failed"],
            self.retry_for,
            new["lost"],
            stats["shipped"],
        )
        return True

    def close(self) -> None:
        """Report what was not shipped (``report``) and close the exporter (queued events are
        flushed by the core first: ``llmhooks.flush()``)."""
        self.report("close")
        self.exporter.close()
