"""``EventManager``: a bus whose subscribers pick events by type (seed 004).

    manager = EventManager()

    @manager.subscribe
    async def on_chunk(event: LLMTokenEvent) -> None:
        print(event.token, end="")

    manager.send(event)                      # never blocks
    await manager.wait()                     # True when everything was delivered
    callbacks_context([manager])             # or: every event producers fire

Delivery (``_delivery.py``): ``send`` appends to one bounded queue and, if no
delivery is under way, starts one consumer: a single task on the event loop the
manager is bound to (the loop of the first ``send``/``wait`` made from async
code), or a single worker thread when no loop is running (async subscribers
then run on that thread's own loop). No task is created per subscriber or per
event; each subscriber gets events in the order they were sent. Overflow
policy: when ``maxsize`` events are waiting, the oldest waiting event is
dropped and counted in ``dropped``. Deliveries run with instrumentation
suppressed, so calls a subscriber makes do not feed events back into the bus.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar, overload

from llmhooks.bus._delivery import Delivery
from llmhooks.bus._subscription import Subscription, resolve_types
from llmhooks.bus.events import HandlerErrorEvent
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.redaction import get_redactor

__all__ = ["EventManager"]

F = TypeVar("F", bound=Callable[..., Any])


class EventManager(Delivery, Callbacks):
    """A typed publish/subscribe bus; also a handler, so it can join a ``CallbackManager``.

    Args:
        maxsize: most events waiting for delivery; beyond it the oldest is dropped.
        strict: if True, ``send`` raises for event classes not ``register``-ed
            (subscribing never requires registering).

    Thread-safe: ``send``, ``subscribe`` and ``unsubscribe`` may be called from
    any thread and from async code at the same time. Waiting and stopping:
    ``await wait()``, ``flush()``, ``shutdown()``, ``await ashutdown()``; counts:
    ``dropped``, ``delivered``, ``pending``, ``failures``, ``stats()``.
    """

    def __init__(self, *, maxsize: int = 10_000, strict: bool = False) -> None:
        Delivery.__init__(self, maxsize)
        self.strict = strict
        self._subs: tuple[Subscription, ...] = ()
        self._routes: dict[type, tuple[Subscription, ...]] = {}
        self._registered: tuple[type, ...] = ()
        # CallbackManagers this bus is in: they route to it only what it has subscribers for
        self._parents: weakref.WeakSet[Any] = weakref.WeakSet()

    # registration and subscription

    def register(self, *event_types: type) -> None:
        """Declare event classes this bus carries (checked by ``strict`` managers).

        Raises:
            TypeError: an argument is not a class.
        """
        for t in event_types:
            if not isinstance(t, type):
                raise TypeError(f"register() takes event classes, got {t!r}")
        with self._lock:
            self._registered = tuple(dict.fromkeys((*self._registered, *event_types)))
            self._routes = {}
        self._interest_changed()  # a strict bus now wants what it refused before

    @property
    def registered(self) -> tuple[type, ...]:
        """The classes passed to ``register``."""
        return self._registered

    @overload
    def subscribe(self, handler: F, /, *, types: Any = None) -> F: ...
    @overload
    def subscribe(self, handler: None = None, /, *, types: Any = None) -> Callable[[F], F]: ...

    def subscribe(self, handler: Any = None, /, *, types: Any = None) -> Any:
        """Subscribe ``handler`` (sync or async) to the event types of its annotation.

        Usable as ``@manager.subscribe``, ``@manager.subscribe(types=A)`` or
        ``manager.subscribe(fn)``. The first parameter's annotation gives the
        types (``A``, ``A | B``, ``Union[A, B]``; a base class takes its
        subclasses); ``types=`` overrides it. Subscribing a handler again
        replaces its types. Returns the handler unchanged.

        Raises:
            InvalidHandlerError: not callable, no annotation and no ``types``,
                or an annotation that names no class.
        """
        if handler is None:

            def decorator(fn: F) -> F:
                self._add(fn, resolve_types(fn, types, frame_depth=2))
                return fn

            return decorator
        self._add(handler, resolve_types(handler, types, frame_depth=2))
        return handler

    def _add(self, fn: Any, event_types: tuple[type, ...]) -> None:
        sub = Subscription(fn, event_types)
        with self._lock:
            kept = []
            for s in self._subs:
                if s.fn == fn:
                    s.active = False
                else:
                    kept.append(s)
            self._subs = (*kept, sub)
            self._routes = {}
        self._interest_changed()

    def unsubscribe(self, handler: Callable[..., Any]) -> bool:
        """Stop delivering to ``handler`` (queued events included); False if it was not subscribed."""
        with self._lock:
            kept = []
            found = False
            for s in self._subs:
                if s.fn == handler:
                    s.active = False
                    found = True
                else:
                    kept.append(s)
            if found:
                self._subs = tuple(kept)
                self._routes = {}
        if found:
            self._interest_changed()
        return found

    def _llmhooks_wants(self, event_type: type) -> bool:
        """The routing protocol of ``CallbackManager``: see ``wants``."""
        return self.wants(event_type)

    def wants(self, event_type: type) -> bool:
        """True if events of ``event_type`` sent by producers would reach a subscriber.

        A ``CallbackManager`` asks this to route to the bus only what it can use (so no
        token events are built for a bus nobody reads tokens from).
        """
        try:
            return self.has_subscribers(event_type)
        except ValueError:  # strict and not registered: producers' events of it skip the bus
            return False

    def _interest_changed(self) -> None:
        from llmhooks.core.routing import interest_changed

        interest_changed(self)

    def has_subscribers(self, event_type: type) -> bool:
        """True if an event of class ``event_type`` would reach some subscriber."""
        return bool(self._route(event_type))

    @property
    def subscribers(self) -> tuple[Callable[..., Any], ...]:
        """The subscribed handlers, in subscription order."""
        return tuple(s.fn for s in self._subs)

    def _route(self, cls: type) -> tuple[Subscription, ...]:
        routes = self._routes
        subs = routes.get(cls)
        if subs is None:
            if self.strict and not issubclass(cls, (*self._registered, HandlerErrorEvent)):
                raise ValueError(
                    f"{cls.__name__} is not registered with this EventManager; "
                    f"call register({cls.__name__}) or create the manager with strict=False"
                )
            subs = tuple(s for s in self._subs if s.takes(cls))
            routes[cls] = subs
        return subs

    # sending

    def send(self, *events: Any) -> None:
        """Queue ``events`` for their subscribers and return at once.

        Works from sync code, async code and any thread. Events nobody
        subscribed to are discarded here. When the queue is full the oldest
        waiting event is dropped (counted in ``dropped``); after ``shutdown``
        events are dropped and counted too.

        Raises:
            ValueError: ``strict`` is set and an event's class was not registered.
        """
        routes = self._routes
        for event in events:
            subs = routes.get(event.__class__)
            if subs is None:
                subs = self._route(event.__class__)
            if subs:
                ticket = self._accept(event, subs)
                if ticket:
                    self._kick(ticket)

    def on_event(self, event: Any) -> None:
        """As a handler in a ``CallbackManager``: forward every event to ``send``."""
        self.send(event)

    # hooks of Delivery

    def _has_async_subscribers(self) -> bool:
        return any(s.is_async for s in self._subs)

    def _report(self, sub: Subscription, event: Any, exc: Exception) -> None:
        if isinstance(event, HandlerErrorEvent):
            return  # a failure while reporting a failure is logged only: no loops
        subs = self._route(HandlerErrorEvent)
        if not subs:
            return
        report = HandlerErrorEvent(
            run_id=getattr(event, "run_id", "") or "",
            trace_id=getattr(event, "trace_id", "") or "",
            handler=sub.name,
            event_type=str(getattr(event, "type", None) or type(event).__name__),
            error=get_redactor().exception(exc),
            error_type=type(exc).__name__,
            event=event,
        )
        self._queue_report(report, subs)

    def stats(self) -> dict[str, int]:
        """``sent``, ``delivered``, ``dropped``, ``pending``, ``failures``, ``subscribers``."""
        out = Delivery.stats(self)
        out["subscribers"] = len(self._subs)
        return out

    def __repr__(self) -> str:
        return (
            f"<EventManager subscribers={len(self._subs)} pending={len(self._queue)} dropped={self._dropped}>"
        )
