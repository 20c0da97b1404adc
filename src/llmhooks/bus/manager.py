"""``EventManager``: a bus whose subscribers pick events by type (seed 004).

    manager = EventManager()

    @manager.subscribe
    async def on_chunk(event: LLMTokenEvent) -> None:
        print(event.token, end="")

    manager.send(event)                      # never blocks
    await manager.wait()                     # True when everything was delivered
    callbacks_context([manager])             # or: every event producers fire
    await manager.shutdown()                 # or manager.shutdown() in sync code

Delivery (``_delivery.py``): ``send`` appends to one bounded queue and, if no
delivery is under way, starts one consumer: a single task on the event loop the
manager is bound to (the loop of the first ``send``/``wait`` made from async
code), or a single worker thread when no loop is running (async subscribers
then run on that thread's own loop). No task is created per subscriber or per
event; each subscriber gets events in the order they were sent. Overflow
policy: when ``maxsize`` events are waiting, the oldest waiting event is
dropped and counted in ``dropped``. Deliveries run with instrumentation
suppressed, so calls a subscriber makes do not feed events back into the bus.

vision-agents' habits work too: ``merge(other)``, ``silent(cls)``,
``register_events_from_module(module, prefix=...)``, ``send({"type": ..., ...})``,
``await manager.shutdown()``, and its exception types (see ``llmhooks.errors``).
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import weakref
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, TypeVar, overload

from llmhooks.bus._delivery import Delivery
from llmhooks.bus._shutdown import Shutdown
from llmhooks.bus._subscription import Subscription, resolve_types
from llmhooks.bus.events import HandlerErrorEvent
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.redaction import get_redactor
from llmhooks.errors import InvalidEventClassError, UnregisteredEventError
from llmhooks.events import event_from_dict, event_types, lookup_type, type_aliases, type_names

__all__ = ["EventManager"]

logger = logging.getLogger("llmhooks")

F = TypeVar("F", bound=Callable[..., Any])


class EventManager(Delivery, Callbacks):
    """A typed publish/subscribe bus; also a handler, so it can join a ``CallbackManager``.

    Args:
        maxsize: most events waiting for delivery; beyond it the oldest is dropped.
        strict: if True, ``send`` raises for event classes not ``register``-ed
            (subscribing never requires registering).
        ignore_unknown_events: vision-agents' name for ``not strict``.

    Thread-safe: ``send``, ``subscribe`` and ``unsubscribe`` may be called from
    any thread and from async code at the same time. Waiting and stopping:
    ``await wait()``, ``flush()``, ``shutdown()`` (awaitable), ``await ashutdown()``;
    counts: ``dropped``, ``delivered``, ``pending``, ``failures``, ``stats()``.
    """

    def __init__(
        self, *, maxsize: int = 10_000, strict: bool = False, ignore_unknown_events: bool | None = None
    ) -> None:
        Delivery.__init__(self, maxsize)
        self.strict = strict if ignore_unknown_events is None else not ignore_unknown_events
        self._subs: tuple[Subscription, ...] = ()
        self._routes: dict[type, tuple[Subscription, ...]] = {}
        self._registered: tuple[type, ...] = ()
        self._silenced: frozenset[str] = frozenset()
        # CallbackManagers this bus is in: they route to it only what it has subscribers for
        self._parents: weakref.WeakSet[Any] = weakref.WeakSet()
        self._into: EventManager | None = None  # the manager this one was merged into
        self._merged: list[EventManager] = []  # managers merged into this one (all of them, flattened)

    def _root(self) -> EventManager:
        """The manager that does the work: this one, or the one it was merged into."""
        manager = self
        while manager._into is not None:
            manager = manager._into
        return manager

    # registration and subscription

    def register(self, *event_types: type, ignore_not_compatible: bool = False) -> None:
        """Declare event classes this bus carries (checked by ``strict`` managers).

        Raises:
            InvalidEventClassError: an argument is not a class (with
                ``ignore_not_compatible=True`` it is logged and skipped instead).
        """
        root = self._root()
        kept = []
        for t in event_types:
            if isinstance(t, type):
                kept.append(t)
            elif ignore_not_compatible:
                logger.warning("llmhooks EventManager.register() skipped %r: not an event class", t)
            else:
                raise InvalidEventClassError(f"register() takes event classes, got {t!r}")
        with root._lock:
            root._registered = tuple(dict.fromkeys((*root._registered, *kept)))
            root._routes = {}
        root._interest_changed()  # a strict bus now wants what it refused before

    def register_events_from_module(
        self, module: ModuleType, prefix: str = "", ignore_not_compatible: bool = True
    ) -> tuple[type, ...]:
        """Register every class named ``...Event`` in ``module`` whose ``type`` starts with ``prefix``.

        A class's ``type`` names include seed 004's for it, so vision-agents' prefixes
        work (``prefix="plugin.llm"`` takes ``LLMStartEvent``, whose seed name is
        ``"plugin.llm_request_started"``). Returns the classes registered, each once
        (a class the module holds under two names, such as ``LLMRequestStartedEvent``
        and ``LLMStartEvent``, is one class). Names ending in ``Event`` that are not
        event classes (no string ``type``) are skipped, or with
        ``ignore_not_compatible=False`` refused.

        Raises:
            InvalidEventClassError: ``ignore_not_compatible`` is False and a name
                ending in ``Event`` is not an event class.
        """
        found: list[type] = []
        for name, obj in vars(module).items():
            if not name.endswith("Event"):
                continue
            kind = getattr(obj, "type", None) if isinstance(obj, type) else None
            if not isinstance(kind, str):
                if not ignore_not_compatible:
                    raise InvalidEventClassError(
                        f"{module.__name__}.{name} is not an event class (a class with a string 'type')"
                    )
                continue
            if any(alias.startswith(prefix) for alias in type_names(kind)):
                found.append(obj)
        kept = tuple(dict.fromkeys(found))
        self.register(*kept)
        return kept

    @property
    def registered(self) -> tuple[type, ...]:
        """The classes passed to ``register``."""
        return self._root()._registered

    def silent(self, event_class: type) -> None:
        """Log nothing about deliveries of ``event_class`` (failures are still counted and reported).

        The bus logs only subscriber failures; for a silenced class not even those
        (a ``HandlerErrorEvent`` is still sent), which suits events that come by
        the thousand, such as audio chunks.

        Raises:
            InvalidEventClassError: ``event_class`` is not a class.
        """
        if not isinstance(event_class, type):
            raise InvalidEventClassError(f"silent() takes an event class, got {event_class!r}")
        name = getattr(event_class, "type", None)
        names = {name if isinstance(name, str) else event_class.__name__, event_class.__name__}
        for manager in {self, self._root()}:
            manager._silenced = manager._silenced | names

    @property
    def silenced(self) -> frozenset[str]:
        """The event types passed to ``silent``."""
        return self._root()._silenced

    def _log(self, name: str, event_type: str, exc: BaseException) -> None:
        if event_type not in self._silenced:
            Delivery._log(self, name, event_type, exc)

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
            InvalidSubscriberError: not callable, needs more arguments than the
                event, no annotation and no ``types``, or an annotation that names
                no class (also an ``InvalidHandlerError`` and a ``RuntimeError``).
        """
        if handler is None:

            def decorator(fn: F) -> F:
                self._root()._add(fn, resolve_types(fn, types, frame_depth=2))
                return fn

            return decorator
        self._root()._add(handler, resolve_types(handler, types, frame_depth=2))
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
        root = self._root()
        with root._lock:
            kept = []
            found = False
            for s in root._subs:
                if s.fn == handler:
                    s.active = False
                    found = True
                else:
                    kept.append(s)
            if found:
                root._subs = tuple(kept)
                root._routes = {}
        if found:
            root._interest_changed()
        return found

    # merging

    def merge(self, other: EventManager) -> None:
        """Make ``other`` a handle on this manager: one bus where there were two.

        This manager takes over ``other``'s registrations, subscriptions and silenced
        classes; from then on events sent to ``other`` are delivered here, and
        subscribing, registering or waiting on ``other`` acts here. Events ``other``
        had queued are still delivered to their subscribers, by ``other`` and in their
        order (not ordered against events sent after the merge). Shutting ``other`` down
        later stops only ``other`` (it no longer forwards); this manager, its
        subscriptions and its queue are left alone, unlike in vision-agents.

        Raises:
            TypeError: ``other`` is not an ``EventManager``.
            ValueError: ``other`` is this manager, or already merged into one.
        """
        if not isinstance(other, EventManager):
            raise TypeError(f"merge() takes an EventManager, got {type(other).__name__}")
        root = self._root()
        if other._root() is root:
            raise ValueError("cannot merge an EventManager into itself")
        if other._into is not None:
            raise ValueError(f"{other!r} is already merged into another EventManager")
        with other._lock:
            subs, other._subs, other._routes = other._subs, (), {}
            registered, silenced = other._registered, other._silenced
            handles, other._merged = [other, *other._merged], []
            other._into = root
        with root._lock:
            taken = {s.fn for s in root._subs}
            # the same Subscription objects: what other has queued still reaches them
            root._subs = (*root._subs, *(s for s in subs if s.fn not in taken))
            root._registered = tuple(dict.fromkeys((*root._registered, *registered)))
            root._silenced = root._silenced | silenced
            root._routes = {}
            for handle in handles:
                handle._into = root
                # an instance attribute, so an unmerged manager's send() has no branch for this
                handle.__dict__["send"] = root.send
            root._merged.extend(handles)
        root._interest_changed()

    def _detach(self) -> None:
        """A merged handle stops forwarding (its own shutdown)."""
        root = self._root()
        if root is self:
            return
        self.__dict__.pop("send", None)
        with root._lock:
            if self in root._merged:
                root._merged.remove(self)

    # routing

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

        for bus in (self, *self._merged):  # managers routing to a merged handle follow this one too
            interest_changed(bus)

    def has_subscribers(self, event_type: type) -> bool:
        """True if an event of class ``event_type`` would reach some subscriber."""
        return bool(self._root()._route(event_type))

    @property
    def subscribers(self) -> tuple[Callable[..., Any], ...]:
        """The subscribed handlers, in subscription order."""
        return tuple(s.fn for s in self._root()._subs)

    def _route(self, cls: type) -> tuple[Subscription, ...]:
        routes = self._routes
        subs = routes.get(cls)
        if subs is None:
            if self.strict and not issubclass(cls, (*self._registered, HandlerErrorEvent)):
                raise UnregisteredEventError(
                    f"{cls.__name__} is not registered with this EventManager; "
                    f"call register({cls.__name__}) or create the manager with strict=False"
                )
            subs = tuple(s for s in self._subs if s.takes(cls))
            routes[cls] = subs
        return subs

    # sending

    def send(self, *events: Any) -> None:
        """Queue ``events`` for their subscribers and return at once.

        Works from sync code, async code and any thread. An event may be a dict with a
        ``type`` (a registered class's ``type``, or any llmhooks event type): it is
        built into that class first. Events nobody subscribed to are discarded here.
        When the queue is full the oldest waiting event is dropped (counted in
        ``dropped``); after ``shutdown`` every event is dropped and counted, subscribed
        to or not (a merged handle's after its own shutdown too).

        Raises:
            UnregisteredEventError: ``strict`` is set and an event's class was not
                registered, or a dict's ``type`` names no known class (also a
                ``ValueError`` and a ``RuntimeError``).
        """
        routes = self._routes
        for event in events:
            subs = routes.get(event.__class__)
            if subs is None:
                if type(event) is dict:  # never cached as a route: dicts are built into events
                    event = self._from_dict(event)
                    subs = routes.get(event.__class__)
                if subs is None:
                    subs = self._route(event.__class__)
            if subs:
                ticket = self._accept(event, subs)
                if ticket:
                    self._kick(ticket)
            elif self._closed:  # a shut-down bus (a merged handle too) drops and counts every event
                self._refuse()

    def _from_dict(self, data: Mapping[str, Any]) -> Any:
        kind = data.get("type")
        cls = next((c for c in self._registered if getattr(c, "type", None) == kind), None)
        if cls is None and isinstance(kind, str):
            cls = lookup_type(kind)  # ours, or another system's name for one of ours (seed 004's)
        if cls is None:
            raise UnregisteredEventError(self._unknown_type(kind))
        aliases = getattr(cls, "aliases", None)
        if aliases:  # another system's field names for ours (seed 004's request_id, plugin_name...)
            data = {aliases.get(k, k): v for k, v in data.items()}
        if isinstance(kind, str) and lookup_type(kind) is cls:
            return event_from_dict(data)  # unknown keys go to metadata, as for replayed events
        return cls(**{k: v for k, v in data.items() if k != "type"})

    def _unknown_type(self, kind: Any) -> str:
        """The error for a dict whose ``type`` names no class: near misses, registered types, the list."""
        registered = [t for t in (getattr(c, "type", None) for c in self._registered) if isinstance(t, str)]
        known = [*registered, *event_types(), *type_aliases()]
        near = difflib.get_close_matches(kind, known, n=3) if isinstance(kind, str) else []
        hint = f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""
        allowed = ", ".join(map(repr, registered)) or "none"
        return (
            f"send() got a dict with type {kind!r}, which names no event class{hint}. "
            f"A dict's 'type' must be a registered class's type ({allowed}), "
            "an llmhooks event type or seed 004's name for one (llmhooks.events.event_types() lists them); "
            "register() the class whose 'type' it is, or send the event object"
        )

    def on_event(self, event: Any) -> None:
        """As a handler in a ``CallbackManager``: forward every event to ``send``."""
        self.send(event)

    # waiting and stopping

    async def wait(self, timeout: float | None = 10.0) -> bool:
        """Wait until every event sent before this call was delivered (see ``Delivery.wait``).

        On a merged manager: its own queued events, then the manager it was merged into.
        """
        ok = await Delivery.wait(self, timeout)
        root = self._root()
        if root is not self:
            ok = await root.wait(timeout) and ok
        return ok

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Sync ``wait`` (see ``Delivery.flush``); on a merged manager, also the one it was merged into."""
        ok = Delivery.flush(self, timeout)
        root = self._root()
        if root is not self:
            ok = root.flush(timeout) and ok
        return ok

    def shutdown(self, timeout: float | None = 5.0) -> Shutdown:  # type: ignore[override]
        """Stop: refuse new events, deliver what is queued (up to ``timeout``), end the worker.

        Returns a ``Shutdown``, true if everything sent was delivered. In sync code
        the work is done before it returns. With an event loop running in this
        thread, new events are refused at once and ``await manager.shutdown()``
        waits for the rest (``ashutdown``). A merged manager stops forwarding; the
        manager it was merged into is not touched.
        """
        self._detach()
        if _running_loop() is None:
            return Shutdown(Delivery.shutdown(self, timeout))
        with self._lock:
            self._closed = True
        return Shutdown(None, lambda: self.ashutdown(timeout))

    async def ashutdown(self, timeout: float | None = 5.0) -> bool:
        """Async ``shutdown``: waits for delivery on this loop, then stops."""
        self._detach()
        with self._lock:
            self._closed = True
        ok = await Delivery.wait(self, timeout)
        return Delivery.shutdown(self, timeout=0) and ok

    # hooks of Delivery

    def _has_async_subscribers(self) -> bool:
        return any(s.is_async for s in self._subs) or any(s.is_async for s in self._root()._subs)

    def _report(self, sub: Subscription, event: Any, exc: Exception) -> None:
        if isinstance(event, HandlerErrorEvent):
            return  # a failure while reporting a failure is logged only: no loops
        root = self._root()
        subs = root._route(HandlerErrorEvent)
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
        if root is self:
            self._queue_report(report, subs)
        else:  # an event queued before a merge failed: the report goes where the subscribers now are
            root.send(report)

    def stats(self) -> dict[str, int]:
        """``sent``, ``delivered``, ``dropped``, ``pending``, ``failures``, ``subscribers``."""
        out = Delivery.stats(self)
        out["subscribers"] = len(self._subs)
        return out

    def __repr__(self) -> str:
        merged = " merged" if self._into is not None else ""
        return (
            f"<EventManager{merged} subscribers={len(self._subs)} pending={len(self._queue)} "
            f"dropped={self._dropped}>"
        )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
