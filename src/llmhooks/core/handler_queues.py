"""A background handler's own queue: one worker per handler, shared by every manager it is in,
so a slow handler never costs another its events (``core/background.py`` is the worker)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmhooks.core._forksafe import fork_safe_lock
from llmhooks.core._resolve import plan_for
from llmhooks.core.background import BackgroundWorker, default_settings
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.delivery import Slot
from llmhooks.core.isolation import report_failure, report_timeout
from llmhooks.core.stats import HandlerStats
from llmhooks.events.base import Event

__all__ = ["check_background", "from_sync", "queue_counts", "queue_of"]

_BATCH = 64  # events a background worker hands over at once (on_batch handlers: their own size)


class _BackgroundDelivery:
    """Feeds one background handler from its own worker: the events it takes, or batches of them."""

    __slots__ = ("calls", "handler", "name", "stats", "timeout")

    def __init__(self, handler: Callbacks, stats: HandlerStats, timeout: float | None) -> None:
        self.handler = handler
        self.name = type(handler).__name__
        self.stats = stats
        self.timeout = timeout
        self.calls: dict[type, Callable[[Event], object] | None] = {}

    def _call_for(self, event_cls: type[Event]) -> Callable[[Event], object] | None:
        call = self.calls.get(event_cls, _UNSET)
        if call is _UNSET:
            plan = plan_for(type(self.handler), event_cls)
            call = None
            if plan.sync_name is not None:
                method = getattr(self.handler, plan.sync_name)
                call = from_sync(method, self.timeout, self) if plan.sync_is_coro else method
            self.calls[event_cls] = call
        return call  # type: ignore[no-any-return]

    def each(self, batch: list[Event]) -> None:
        for event in batch:
            call = self._call_for(type(event))
            if call is None:
                continue
            try:
                call(event)
            except TimeoutError:
                report_timeout(self.name, self.stats, event, self.timeout)
            except Exception as exc:  # Abort too: nothing to stop once it is queued
                report_failure(self.name, self.stats, event, exc)

    def batches(self, batch: list[Event]) -> None:
        try:
            self.handler.on_batch(batch)  # type: ignore[attr-defined]
        except Exception as exc:
            report_failure(self.name, self.stats, batch[0] if batch else None, exc)

    def dropped(self, item: Any) -> None:
        self.stats.add_dropped()


_UNSET: Any = object()


def from_sync(
    method: Callable[[Event], Any], timeout: float | None, owner: _BackgroundDelivery | Slot
) -> Callable[[Event], None]:
    """An ``async def`` handler method made callable from sync code (see ``Callbacks``)."""
    from llmhooks.core._aio import run_coroutine_from_sync

    def call(event: Event) -> None:
        def on_error(exc: BaseException) -> None:
            if isinstance(exc, TimeoutError):
                report_timeout(owner.name, owner.stats, event, timeout)
            else:
                report_failure(owner.name, owner.stats, event, exc)

        try:
            run_coroutine_from_sync(method(event), timeout, on_error)
        except TimeoutError:  # ran inline on the thread's own loop and took too long
            report_timeout(owner.name, owner.stats, event, timeout)

    return call


_queue_lock = fork_safe_lock()


def queue_of(handler: Callbacks, stats: HandlerStats, timeout: float | None) -> BackgroundWorker:
    """The one background queue of ``handler``, shared by every manager it is in."""
    worker = getattr(handler, "_llmhooks_queue", None)
    if isinstance(worker, BackgroundWorker):
        return worker
    with _queue_lock:
        worker = getattr(handler, "_llmhooks_queue", None)
        if isinstance(worker, BackgroundWorker):
            return worker
        maxsize, policy = default_settings()
        size = getattr(handler, "background_queue_size", None)
        overflow = getattr(handler, "background_overflow", None)
        delivery = _BackgroundDelivery(handler, stats, timeout)
        batched = callable(getattr(type(handler), "on_batch", None))
        worker = BackgroundWorker(
            maxsize=size if size is not None else maxsize,
            policy=overflow if overflow is not None else policy,
            deliver=delivery.batches if batched else delivery.each,
            batch_size=getattr(handler, "background_batch_size", None) or (512 if batched else _BATCH),
            on_drop=delivery.dropped,
            label=delivery.name,
        )
        try:
            object.__setattr__(handler, "_llmhooks_queue", worker)
        except AttributeError:  # __slots__ without room for it: one queue per registration
            pass
    return worker


def queue_counts(handler: Callbacks) -> dict[str, int]:
    """``queued``, ``dropped`` (queue full) and ``lost`` (left at exit) of ``handler``'s queue;
    zeros while it has none (it was never fed from the background)."""
    worker = getattr(handler, "_llmhooks_queue", None)
    if not isinstance(worker, BackgroundWorker):
        return {"queued": 0, "dropped": 0, "lost": 0}
    return {"queued": worker.pending, "dropped": worker.dropped, "lost": worker.lost}


def check_background(handler: Callbacks) -> None:
    from llmhooks._validate import check_choice, check_int
    from llmhooks.core.background import POLICIES

    check_int(
        "background_queue_size", getattr(handler, "background_queue_size", None), minimum=1, allow_none=True
    )
    check_int(
        "background_batch_size", getattr(handler, "background_batch_size", None), minimum=1, allow_none=True
    )
    overflow = getattr(handler, "background_overflow", None)
    if overflow is not None:
        check_choice("background_overflow", overflow, POLICIES)
