"""``Collector``: events shipped by other processes, rebuilt and fed to handlers here.

    consumer = RedisStreamConsumer("redis://redis:6379/0", group="metrics")
    collector = Collector(consumer, [MetricsCallbacks(), EventRecorder("events.jsonl")])
    collector.run(stop=stop_event)        # what ``llmhooks collect`` runs

Each step reads a batch (``EventConsumer.read``), or now and then takes over entries a
dead collector left unacknowledged (``claim_stale``); claims their event ids (``begin``:
``"new"``, ``"seen"`` for an id already handled or carried by another entry, ``"busy"`` for
an entry a live collector is still handling); rebuilds the new ones (``event_from_dict``)
and dispatches them through a ``CallbackManager`` (handler failures isolated and counted
there; a handler with ``on_batch``, such as ``RedisTokenLedger``, gets the batch's events
in one call), extending its claims (``touch``) while a batch takes long; waits for
background handlers to finish (``llmhooks.flush``); and only then marks the handled ids
done and acknowledges everything but the busy entries (``complete``). A collector killed
before ``complete`` leaves its batch pending, claimed for ``claim_idle`` seconds, then taken
over by another and handled once.

A batch handler that writes elsewhere (the ledger, a forwarding shipper) is called
through ``write_batch`` when it has one, which raises when the write did not happen. A
failure of that kind (``OSError``: ``RedisUnavailable``, a timeout) leaves the batch
unacknowledged: the collector keeps it, backs off, extends its claims and hands the same
events to the handlers that failed (and only to them) until they take it, so the events
are neither lost nor counted twice. Any other exception of a handler is a bug that
redelivery would not cure: it is logged, counted in ``handler_errors``, and the batch is
acknowledged. Handlers fed one event at a time are isolated by the ``CallbackManager``.
Give such a handler a short retry of its own (``RedisTokenLedger(..., retry_for=0)``, as
``llmhooks collect`` does): the collector's retries extend its claims, the handler's do not.

Entries that cannot be read back (not JSON, unknown event type) are counted as
``malformed``, logged, and acknowledged, so one bad entry cannot stall the group.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from llmhooks._validate import check_int, check_methods, check_number
from llmhooks.core.background import flush
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.manager import CallbackManager
from llmhooks.errors import Abort
from llmhooks.events import Event
from llmhooks.events.serialize import event_from_dict
from llmhooks.handlers._backoff import Backoff
from llmhooks.handlers._percentiles import LogHistogram

__all__ = ["Claim", "Collector", "CollectorStats", "Delivery", "EventConsumer", "HandlerUnavailable"]

logger = logging.getLogger("llmhooks.collect")


@dataclass(slots=True)
class Delivery:
    """One entry read from the stream: its id, and the event's fields (None: unreadable)."""

    entry_id: str
    data: dict[str, Any] | None
    event_id: str | None = None


Claim = Literal["new", "seen", "busy"]
"""What ``begin`` says of a delivery: handle it, acknowledge it unhandled, or leave it alone."""


class EventConsumer(Protocol):
    """A group reader of shipped events: one implementation per engine."""

    name: str
    claim_idle: float
    """Seconds a claim lasts unless touched; entries idle this long are taken over."""
    retryable: tuple[type[BaseException], ...]

    def read(self, count: int, block: float) -> list[Delivery]:
        """Up to ``count`` entries never delivered to the group, waiting up to ``block`` seconds."""

    def claim_stale(self, count: int) -> list[Delivery]:
        """Up to ``count`` entries other consumers of the group left unacknowledged too long."""

    def begin(self, deliveries: Sequence[Delivery]) -> list[Claim]:
        """Claim each delivery's event id: ``"new"`` (this consumer handles it), ``"seen"`` (the
        id was handled, or another entry carries it), ``"busy"`` (a live consumer is handling
        this very entry)."""

    def touch(self, deliveries: Sequence[Delivery]) -> None:
        """Extend this consumer's claims on ``deliveries`` (a batch that takes long)."""

    def complete(self, acknowledge: Sequence[Delivery], handled: Sequence[Delivery]) -> None:
        """Record ``handled`` event ids as done and acknowledge ``acknowledge``, atomically."""

    def backlog(self) -> Mapping[str, int | None]:
        """``pending`` (delivered, unacknowledged) and ``lag`` (not yet delivered) entries."""

    def close(self) -> None:
        """Release connections."""


@dataclass
class CollectorStats:
    """What a collector did: counts, per type, and end-to-end lag (event time to handled)."""

    handled: int = 0
    duplicates: int = 0
    busy: int = 0
    malformed: int = 0
    claimed: int = 0
    trimmed: int = 0
    errors: int = 0
    handler_errors: int = 0
    last_handled: float | None = None
    by_type: Counter[str] = field(default_factory=Counter)
    lag_ms: LogHistogram = field(default_factory=LogHistogram)
    started: float = field(default_factory=time.monotonic)
    backlog: dict[str, int | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe totals, lag percentiles and the last backlog seen."""
        return {
            "handled": self.handled,
            "duplicates": self.duplicates,
            "busy": self.busy,
            "malformed": self.malformed,
            "claimed": self.claimed,
            "trimmed": self.trimmed,
            "errors": self.errors,
            "handler_errors": self.handler_errors,
            "last_handled": self.last_handled,
            "by_type": dict(sorted(self.by_type.items())),
            "lag_ms": self.lag_ms.summary(),
            "seconds": time.monotonic() - self.started,
            "backlog": dict(self.backlog),
        }

    def line(self, name: str, rate: float) -> str:
        """A one-line progress report."""
        lag = self.lag_ms
        p50, p99 = lag.percentile(0.5), lag.percentile(0.99)
        e2e = "" if p50 is None or p99 is None else f" | event to handled p50 {p50:.1f} ms p99 {p99:.1f} ms"
        pending, behind = self.backlog.get("pending"), self.backlog.get("lag")
        return (
            f"collect[{name}]: {self.handled} events (+{rate:.0f}/s), {self.duplicates} duplicates, "
            f"{self.malformed} malformed, {self.claimed} claimed, {self.trimmed} trimmed unread "
            f"| pending {_n(pending)}, "
            f"not yet read {_n(behind)}{e2e}"
        )


@dataclass(slots=True)
class _Batch:
    """A batch being handled, and how far it got."""

    deliveries: list[Delivery]
    claims: dict[int, Claim] | None = None  # by id() of the delivery
    handled: list[Delivery] | None = None
    events: list[Event] = field(default_factory=list)  # rebuilt from ``handled``
    todo: list[Callbacks] = field(default_factory=list)  # batch handlers that have not taken it yet
    retrying: bool = False
    flushed: bool = False


class HandlerUnavailable(ConnectionError):
    """A batch handler could not take a batch (its server away): the batch stays pending."""


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


class Collector:
    """Reads shipped events through an ``EventConsumer`` and feeds them to handlers.

    Args:
        consumer: the group reader (``RedisStreamConsumer``).
        handlers: the handlers to feed (any ``Callbacks``, or a ``CallbackManager``).
        batch_size: entries read at most per step.
        block: seconds a read waits for new entries.
        claim_every: seconds between two looks for entries a dead collector left.
        flush_timeout: seconds to wait for background handlers before acknowledging.
    """

    def __init__(
        self,
        consumer: EventConsumer,
        handlers: Iterable[Callbacks] | CallbackManager,
        *,
        batch_size: int = 256,
        block: float = 1.0,
        claim_every: float = 5.0,
        flush_timeout: float = 30.0,
    ) -> None:
        self.consumer = check_methods(
            "consumer",
            consumer,
            ("read", "claim_stale", "begin", "touch", "complete", "close"),
            "an EventConsumer (RedisStreamConsumer...)",
        )
        if isinstance(handlers, (str, bytes, Mapping)) or not isinstance(
            handlers, (Iterable, CallbackManager)
        ):
            raise TypeError(
                "handlers must be a list of handlers or a CallbackManager, "
                f"got {handlers!r} ({type(handlers).__name__})"
            )
        if isinstance(handlers, CallbackManager):
            self.batch_handlers: list[Callbacks] = []
            self.manager = handlers
        else:
            given = list(handlers)
            # handlers with on_batch (the shipper, the Redis ledger) take each batch in one call
            self.batch_handlers = [h for h in given if callable(getattr(h, "on_batch", None))]
            self.manager = CallbackManager([h for h in given if h not in self.batch_handlers])
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.block = float(check_number("block", block, minimum=0))
        self.claim_every = float(check_number("claim_every", claim_every, minimum=0))
        self.flush_timeout = float(check_number("flush_timeout", flush_timeout, minimum=0))
        self.stats = CollectorStats()
        self._next_claim = 0.0
        self._backoff = Backoff(0.1, 5.0)
        self._holding: _Batch | None = None

    # one step

    def step(self) -> int:
        """Read (or claim) one batch, handle it, acknowledge it; the number of entries taken.

        A batch whose ``begin`` or ``complete`` failed (the engine away) is kept and taken
        up again by the next step at the stage that failed: its events are never
        dispatched twice by this collector, and nothing new is read until it is done.
        """
        if self._holding is not None:
            self._finish(self._holding)
            return 0
        now = time.monotonic()
        batch: list[Delivery] = []
        if now >= self._next_claim:
            self._next_claim = now + self.claim_every
            batch = self.consumer.claim_stale(self.batch_size)
            self.stats.claimed += len(batch)
        if not batch:
            batch = self.consumer.read(self.batch_size, self.block)
        self._count_trimmed()
        if batch:
            self._holding = _Batch(batch)
            self._finish(self._holding)
        return len(batch)

    def _count_trimmed(self) -> None:
        """Take up the consumer's count of entries trimmed before they were handled, and say so."""
        trimmed = int(getattr(self.consumer, "trimmed", 0))
        if trimmed > self.stats.trimmed:
            logger.warning(
                "collect: %d entries were trimmed from the stream before they were collected (%d in all): "
                "their events are lost; raise the shipper's maxlen or add collectors",
                trimmed - self.stats.trimmed,
                trimmed,
            )
            self.stats.trimmed = trimmed

    def handle(self, batch: Sequence[Delivery]) -> None:
        """Handle the new events of ``batch``, then acknowledge all of it."""
        self._holding = _Batch(list(batch))
        self._finish(self._holding)

    def _finish(self, held: _Batch) -> None:
        batch = held.deliveries
        consumer = self.consumer
        if held.claims is None:
            readable = [d for d in batch if d.data is not None and d.event_id]
            claims = consumer.begin(readable)
            held.claims = {id(d): c for d, c in zip(readable, claims, strict=True)}
        touch_every = max(0.05, getattr(consumer, "claim_idle", 30.0) / 3)
        if held.handled is None:
            held.handled, held.events = self._dispatch_all(batch, held.claims, touch_every)
            held.todo = list(self.batch_handlers) if held.events else []
        if held.todo:
            self._write_batches(held)
        if not held.flushed:
            if held.events:
                now = time.time()
                self.stats.last_handled = now
                for event in held.events:
                    self.stats.lag_ms.add((now - event.timestamp) * 1000)
                held.events = []  # measured once, even if the flush below is retried
            if any(getattr(h, "background", False) for h in self.manager.handlers):
                self._flush_background(held.handled, touch_every)
            held.flushed = True
        acknowledge = [d for d in batch if held.claims.get(id(d)) != "busy"]  # busy: its owner acks it
        consumer.complete(acknowledge, held.handled)
        self._holding = None

    def _flush_background(self, claimed: list[Delivery], touch_every: float) -> None:
        deadline = time.monotonic() + self.flush_timeout
        while not flush(min(touch_every, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                # not acknowledged: the batch stays pending, to be taken again
                raise TimeoutError(f"background handlers did not finish within {self.flush_timeout}s")
            self.consumer.touch(claimed)

    def _dispatch_all(
        self, batch: Sequence[Delivery], claims: dict[int, Claim], touch_every: float
    ) -> tuple[list[Delivery], list[Event]]:
        handled: list[Delivery] = []
        stats = self.stats
        seen_here: set[str] = set()
        events: list[Event] = []
        claimed = [d for d in batch if claims.get(id(d)) == "new"]
        touched = time.monotonic()
        for delivery in batch:
            claim = claims.get(id(delivery))
            if claim is None:
                stats.malformed += 1
                logger.warning("collect: entry %s is not an llmhooks event; acknowledged", delivery.entry_id)
            elif claim == "busy":
                stats.busy += 1
            elif claim == "seen" or delivery.event_id in seen_here:
                stats.duplicates += 1
            else:
                seen_here.add(delivery.event_id or "")
                event = self._dispatch(delivery)
                if event is not None:
                    handled.append(delivery)
                    events.append(event)
                if time.monotonic() - touched > touch_every:  # a slow batch keeps all its claims
                    self.consumer.touch(claimed)
                    touched = time.monotonic()
        return handled, events

    def _write_batches(self, held: _Batch) -> None:
        """Hand the batch's events to each batch handler that has not taken them yet."""
        stats = self.stats
        if held.retrying:  # a retry after a failure: our claims must outlive the wait
            self.consumer.touch([d for d in held.deliveries if (held.claims or {}).get(id(d)) == "new"])
        events = held.events
        for handler in list(held.todo):
            write = getattr(handler, "write_batch", None) or handler.on_batch  # type: ignore[attr-defined]
            try:
                write(events)
            except OSError as exc:  # not written (its server away): keep the batch, try again
                held.retrying = True
                raise HandlerUnavailable(f"{handler!r} could not take {len(events)} events: {exc}") from exc
            except Exception:  # a bug: redelivery would not cure it
                stats.handler_errors += 1
                logger.exception("collect: %r failed on a batch of %d events", handler, len(events))
            held.todo.remove(handler)

    def _dispatch(self, delivery: Delivery) -> Event | None:
        assert delivery.data is not None
        try:
            event = event_from_dict(delivery.data)
        except (ValueError, TypeError) as exc:
            self.stats.malformed += 1
            logger.warning("collect: entry %s cannot be rebuilt (%s); acknowledged", delivery.entry_id, exc)
            return None
        try:
            self.manager.emit(event)
        except Abort:  # a limiter refusing: the call happened long ago, there is nothing to stop
            logger.debug("collect: a handler raised Abort on %s", event.type, exc_info=True)
        self.stats.handled += 1
        self.stats.by_type[event.type] += 1
        return event

    # the loop

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        idle_exit: float | None = None,
        max_events: int | None = None,
        progress: Callable[[Collector], None] | None = None,
        progress_every: float = 5.0,
    ) -> CollectorStats:
        """Collect until ``stop`` is set, ``idle_exit`` seconds pass with nothing read and
        nothing pending in the group, or ``max_events`` entries were taken.

        While the engine is unreachable it retries with backoff (logged), so a collector
        outlives a restart of the server.

        Returns:
            the collector's statistics.
        """
        stop = stop or threading.Event()
        last_entry = time.monotonic()
        next_report = time.monotonic() + progress_every
        taken = 0
        # TimeoutError: background handlers too slow; the batch was not acknowledged
        # HandlerUnavailable: a batch handler's server away; the batch was not acknowledged
        retryable = (*getattr(self.consumer, "retryable", (OSError,)), TimeoutError, HandlerUnavailable)
        while not stop.is_set():
            try:
                n = self.step()
                self._backoff.reset()
            except retryable as exc:
                self.stats.errors += 1
                delay = self._backoff.next()
                logger.warning("collect: %s; retrying in %.1fs", exc, delay)
                stop.wait(delay)
                last_entry = time.monotonic()  # an outage is not idleness: wait for what it held back
                continue
            now = time.monotonic()
            taken += n
            if n:
                last_entry = now
            if progress is not None and now >= next_report:
                next_report = now + progress_every
                self.refresh_backlog()
                progress(self)
            if max_events is not None and taken >= max_events:
                break
            if idle_exit is not None and now - last_entry >= idle_exit:
                self.refresh_backlog()
                if not self.stats.backlog.get("pending"):
                    break
                # entries still pending in the group (a dead collector's): claim them first
                last_entry = now - idle_exit / 2
        self.refresh_backlog()
        return self.stats

    def refresh_backlog(self) -> None:
        """Ask the consumer for the group's backlog (kept in ``stats.backlog``)."""
        try:
            self.stats.backlog = dict(self.consumer.backlog())
        except Exception:  # a progress report must never stop collection
            logger.debug("collect: backlog unavailable", exc_info=True)
