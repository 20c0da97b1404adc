"""``EventManager`` habits of vision-agents' programs: merge, silent, module registration, dicts,
``await shutdown()``, and the exceptions their ``except`` clauses expect."""

from __future__ import annotations

import asyncio
import logging
import threading
import types
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

import llmhooks.events
from llmhooks import (
    EventManager,
    LLMEndEvent,
    LLMStartEvent,
    RealtimeAudioOutputEvent,
    RealtimeConnectedEvent,
    callbacks_context,
    llm_run,
)
from llmhooks.bus import (
    HandlerErrorEvent,
    InvalidEventClassError,
    InvalidSubscriberError,
    Shutdown,
    UnregisteredEventError,
)
from llmhooks.errors import InvalidHandlerError
from llmhooks.events import Event, LLMRequestStartedEvent


@dataclass(slots=True, kw_only=True)
class Ping(Event):
    type: ClassVar[str] = "test.habits.ping"
    n: int = 0


@dataclass(slots=True, kw_only=True)
class Pong(Event):
    type: ClassVar[str] = "test.habits.pong"
    n: int = 0


def collector(got: list[Any]) -> Any:
    def on_ping(event: Ping) -> None:
        got.append(event.n)

    return on_ping


# -- merge -----------------------------------------------------------------------------------------


async def test_merge_makes_the_child_a_handle_on_the_parent() -> None:
    """After ``parent.merge(child)`` the child's subscribers, registrations and sends live in the parent."""
    parent, child = EventManager(strict=True), EventManager()
    parent.register(Ping)
    child.register(Pong)
    from_parent: list[Any] = []
    from_child: list[Any] = []
    parent.subscribe(collector(from_parent))
    child.subscribe(lambda e: from_child.append(("pong", e.n)), types=Pong)
    parent.merge(child)
    assert set(parent.registered) == {Ping, Pong} and child.registered == parent.registered
    child.send(Ping(n=1), Pong(n=2))
    parent.send(Pong(n=3))
    late: list[Any] = []
    child.subscribe(collector(late))  # subscribing on the handle subscribes on the parent
    parent.send(Ping(n=4))
    assert await child.wait() and await parent.wait()
    assert from_parent == [1, 4] and late == [4]
    assert from_child == [("pong", 2), ("pong", 3)]
    assert len(parent.subscribers) == 3 and child.subscribers == parent.subscribers
    with pytest.raises(UnregisteredEventError):  # the parent's strictness applies to the handle
        child.send(LLMEndEvent())


async def test_shutting_down_a_merged_child_leaves_the_parent_alone() -> None:
    """vision-agents' bug: a merged child's shutdown cleared the parent. Here the parent goes on."""
    parent, child = EventManager(), EventManager()
    got: list[Any] = []
    parent.subscribe(collector(got))
    parent.merge(child)
    parent.send(Ping(n=1))
    assert await child.shutdown()
    child.send(Ping(n=2))  # the shut-down handle no longer forwards
    parent.send(Ping(n=3))
    assert await parent.wait()
    assert got == [1, 3] and parent.subscribers and parent.stats()["dropped"] == 0


def test_events_queued_before_a_merge_are_still_delivered() -> None:
    """What the child had queued reaches its subscribers in order; a failure among them is reported
    where the subscribers now are. (Events sent after the merge are not ordered against them.)"""
    child = EventManager()
    got: list[Any] = []
    reports: list[HandlerErrorEvent] = []
    gate = threading.Event()

    def hold(event: Ping) -> None:  # keeps the child's events queued until the merge is done
        gate.wait(5)

    def fails(event: Pong) -> None:
        raise RuntimeError("boom")

    child.subscribe(hold)
    child.subscribe(collector(got))
    child.subscribe(fails)
    for n in range(50):
        child.send(Ping(n=n))
    child.send(Pong(n=0))
    parent = EventManager()
    parent.subscribe(lambda e: reports.append(e), types=HandlerErrorEvent)
    parent.merge(child)
    child.send(Ping(n=50))
    gate.set()
    assert child.flush(timeout=5) and parent.flush(timeout=5)
    assert [n for n in got if n < 50] == list(range(50)) and 50 in got
    assert [r.handler for r in reports] == [fails.__qualname__]
    parent.shutdown()
    child.shutdown()


async def test_merges_chain_and_refuse_loops() -> None:
    """Merging a manager that has handles moves the handles too; merging into itself or twice is refused."""
    a, b, z = EventManager(), EventManager(), EventManager()
    a.merge(b)
    z.merge(a)
    got: list[Any] = []
    z.subscribe(collector(got))
    b.send(Ping(n=1))
    a.send(Ping(n=2))
    assert await b.wait() and await z.wait() and got == [1, 2]
    with pytest.raises(ValueError, match="itself"):
        z.merge(b)
    with pytest.raises(ValueError, match="already merged"):
        EventManager().merge(b)
    with pytest.raises(TypeError):
        z.merge(object())  # type: ignore[arg-type]


def test_a_merged_child_inside_a_callback_manager_routes_by_the_parents_subscribers() -> None:
    """Producers' events given to the handle reach the parent's subscribers, subscribed before or after."""
    parent, child = EventManager(), EventManager()
    parent.merge(child)
    ends: list[Any] = []
    with callbacks_context([child]):
        with llm_run(model="m") as run:
            run.finish(response="before")
        parent.subscribe(lambda e: ends.append(e.response), types=LLMEndEvent)
        with llm_run(model="m") as run:
            run.finish(response="after")
    assert parent.flush(timeout=5) and ends == ["after"]
    parent.shutdown()


# -- silent ------------------------------------------------------------------------------------------


async def test_silent_class_failures_are_not_logged_but_still_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``silent(cls)``: a failing subscriber of that class logs nothing, yet is counted and reported."""
    manager = EventManager()
    reports: list[str] = []

    def fails(event: Ping | Pong) -> None:
        raise ValueError(f"bad {event.type}")

    manager.subscribe(fails)
    manager.subscribe(lambda e: reports.append(e.event_type), types=HandlerErrorEvent)
    manager.silent(Ping)
    assert "test.habits.ping" in manager.silenced
    with caplog.at_level(logging.ERROR, logger="llmhooks"):
        manager.send(Ping(), Pong())
        assert await manager.wait()
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1 and "test.habits.pong" in logged[0]
    assert reports == ["test.habits.ping", "test.habits.pong"] and manager.failures == 2
    with pytest.raises(InvalidEventClassError):
        manager.silent("test.habits.ping")  # type: ignore[arg-type]


# -- registering a module ----------------------------------------------------------------------------


def test_register_events_from_module_with_a_prefix() -> None:
    """Every ``...Event`` class of the module whose ``type`` starts with the prefix is registered."""
    manager = EventManager(strict=True)
    found = manager.register_events_from_module(llmhooks.events, prefix="realtime.")
    assert RealtimeConnectedEvent in found and RealtimeAudioOutputEvent in found
    assert all(cls.type.startswith("realtime.") for cls in found)  # type: ignore[attr-defined]
    assert set(manager.registered) == set(found)
    manager.send(RealtimeConnectedEvent(session_id="s"))  # registered: accepted
    with pytest.raises(UnregisteredEventError):
        manager.send(LLMStartEvent())
    manager.shutdown()


def test_register_events_from_module_skips_or_refuses_non_events() -> None:
    """A name ending in ``Event`` that is not an event class is skipped, or refused when asked."""
    module = types.ModuleType("plugin_events")
    module.PingEvent = Ping  # type: ignore[attr-defined]
    module.SomethingEvent = object()  # type: ignore[attr-defined]
    module.Helper = Pong  # type: ignore[attr-defined]  # not named ...Event: not registered
    manager = EventManager()
    assert manager.register_events_from_module(module) == (Ping,)
    with pytest.raises(InvalidEventClassError, match=r"plugin_events\.SomethingEvent"):
        manager.register_events_from_module(module, ignore_not_compatible=False)


# -- sending dicts -----------------------------------------------------------------------------------


async def test_send_a_dict_with_a_type() -> None:
    """A dict with a ``type`` becomes that event class; unknown keys go to ``metadata``."""
    manager = EventManager()
    got: list[Any] = []
    manager.subscribe(lambda e: got.append(e), types=LLMEndEvent | Ping)
    manager.send({"type": "llm.end", "model": "m", "input_tokens": 3, "origin": "web"})
    manager.send({"type": "test.habits.ping", "n": 7})
    assert await manager.wait()
    end, ping = got
    assert isinstance(end, LLMEndEvent) and (end.model, end.input_tokens) == ("m", 3)
    assert end.metadata == {"origin": "web"}
    assert isinstance(ping, Ping) and ping.n == 7


async def test_send_a_dict_in_seed_004s_words() -> None:
    """vision-agents' own ``type`` string and field names build the llmhooks event they stand for."""
    manager = EventManager()
    got: list[Any] = []

    @manager.subscribe
    async def on_request(event: LLMRequestStartedEvent) -> None:
        got.append(event)

    manager.send(
        {
            "type": "plugin.llm_request_started",
            "plugin_name": "openai",
            "request_id": "req-1",
            "model": "gpt-4",
        }
    )
    assert await manager.wait()
    [event] = got
    assert type(event) is LLMStartEvent and (event.run_id, event.provider, event.model) == (
        "req-1",
        "openai",
        "gpt-4",
    )
    assert (event.request_id, event.plugin_name, event.metadata) == ("req-1", "openai", {})


async def test_send_a_dict_of_a_registered_class_outside_the_event_tree() -> None:
    """A registered class that is not an llmhooks ``Event`` is found by its ``type`` too."""

    @dataclass
    class Custom:
        type: ClassVar[str] = "custom.thing"
        size: int = 0

    manager = EventManager()
    manager.register(Custom)
    got: list[Any] = []
    manager.subscribe(lambda e: got.append(e.size), types=Custom)
    manager.send({"type": "custom.thing", "size": 5})
    assert await manager.wait() and got == [5]


def test_send_a_dict_whose_type_names_nothing() -> None:
    """An unknown or missing ``type`` is a clear error, catchable as vision-agents' users do."""
    manager = EventManager()
    with pytest.raises(UnregisteredEventError, match=r"'plugin\.nope'"):
        manager.send({"type": "plugin.nope"})
    with pytest.raises(RuntimeError):
        manager.send({"n": 1})
    manager.register(Ping)
    with pytest.raises(UnregisteredEventError) as raised:
        manager.send({"type": "plugin.llm_request_start"})
    message = str(raised.value)
    # the type given, the near misses, the registered types, and where every accepted type is listed
    assert "'plugin.llm_request_start'" in message and "'plugin.llm_request_started'" in message
    assert "'test.habits.ping'" in message and "event_types()" in message
    assert manager.dropped == 0 and manager.stats()["sent"] == 0  # refused, never queued


# -- shutdown ------------------------------------------------------------------------------------------


async def test_await_shutdown_delivers_then_stops() -> None:
    """``await manager.shutdown()``: what was queued is delivered, later sends are refused."""
    manager = EventManager()
    got: list[Any] = []

    async def slow(event: Ping) -> None:
        await asyncio.sleep(0)
        got.append(event.n)

    manager.subscribe(slow)
    manager.send(Ping(n=1), Ping(n=2))
    result = manager.shutdown()
    assert isinstance(result, Shutdown) and await result is True
    assert got == [1, 2]
    manager.send(Ping(n=3))
    assert manager.dropped == 1


async def test_shutdown_not_awaited_still_refuses_new_events() -> None:
    """In async code ``shutdown()`` closes the bus at once; queued events are still delivered."""
    manager = EventManager()
    got: list[Any] = []
    manager.subscribe(collector(got))
    manager.send(Ping(n=1))
    manager.shutdown()
    manager.send(Ping(n=2))
    assert not await manager.wait()  # False: an event was refused
    assert got == [1] and manager.dropped == 1


def test_sync_shutdown_is_a_true_value() -> None:
    """In sync code ``shutdown()`` finishes before it returns and is true when all was delivered."""
    manager = EventManager()
    got: list[Any] = []
    manager.subscribe(collector(got))
    manager.send(Ping(n=1))
    result = manager.shutdown(timeout=5)
    assert result and result == True  # noqa: E712
    assert got == [1] and repr(result) == "<Shutdown delivered=True>"


# -- errors a migrating program expects ----------------------------------------------------------------


def test_errors_are_also_the_builtins_vision_agents_raises() -> None:
    """``except RuntimeError`` / ``except ValueError`` clauses written for vision-agents still catch ours."""
    strict = EventManager(ignore_unknown_events=False)
    assert strict.strict
    with pytest.raises(RuntimeError):  # vision-agents: RuntimeError("Event not registered ...")
        strict.send(Ping())
    with pytest.raises(ValueError):  # and what llmhooks raised before
        strict.send(Ping())
    with pytest.raises(ValueError):  # vision-agents: ValueError for an incompatible class
        strict.register("Ping")  # type: ignore[arg-type]
    strict.register("Ping", Ping, ignore_not_compatible=True)  # type: ignore[arg-type]
    assert strict.registered == (Ping,)

    def two_events(a: Ping, b: Pong) -> None:
        pass

    with pytest.raises(RuntimeError, match=r"A \| B"):  # vision-agents: RuntimeError, "use Union instead"
        strict.subscribe(two_events)
    with pytest.raises(InvalidHandlerError):
        strict.subscribe(lambda e: None)


def test_a_subscriber_needing_two_arguments_is_refused_when_subscribing() -> None:
    """Issue 9: a handler that needs a second positional argument would fail on every delivery."""
    manager = EventManager()

    def needs_two(event: Ping, context: dict[str, Any]) -> None:
        pass

    def needs_keyword(event: Ping, *, context: dict[str, Any]) -> None:
        pass

    with pytest.raises(InvalidSubscriberError, match=r"needs 2 arguments.*'context'") as raised:
        manager.subscribe(needs_two)
    assert raised.value.handler is needs_two
    with pytest.raises(InvalidSubscriberError, match="'context'"):
        manager.subscribe(needs_keyword)

    class Handler:
        def on_ping(self, event: Ping, extra: int) -> None:
            pass

    with pytest.raises(InvalidSubscriberError, match="'extra'"):
        manager.subscribe(Handler().on_ping)
    with pytest.raises(InvalidSubscriberError, match="'extra'"):
        manager.subscribe(lambda e, extra: None, types=Ping)

    def optional(event: Ping, context: dict[str, Any] | None = None, *rest: Any, **more: Any) -> None:
        pass

    manager.subscribe(optional)  # defaults, *args and **kwargs are fine
    assert manager.subscribers == (optional,)


def test_register_events_from_module_with_seed_004s_prefixes() -> None:
    """vision-agents' own prefixes (``plugin.llm``, ``plugin.realtime``) pick the llmhooks classes they name.

    ``llmhooks.events`` holds some classes under two names (``LLMRequestStartedEvent`` is
    ``LLMStartEvent``): each is registered once.
    """
    from llmhooks.events import LLMErrorEvent, LLMTokenEvent, RealtimeErrorEvent, ToolEndEvent, ToolStartEvent

    manager = EventManager(strict=True)
    found = manager.register_events_from_module(llmhooks.events, prefix="plugin.llm")
    assert set(found) == {
        LLMStartEvent,
        LLMTokenEvent,
        LLMEndEvent,
        LLMErrorEvent,
        ToolStartEvent,
        ToolEndEvent,
    }
    assert len(found) == len(set(found)) and len(manager.registered) == len(found)
    realtime = manager.register_events_from_module(llmhooks.events, prefix="plugin.realtime")
    assert RealtimeConnectedEvent in realtime and RealtimeErrorEvent in realtime
    assert len(manager.registered) == len(set(manager.registered)) == len(found) + len(realtime)
    everything = manager.register_events_from_module(llmhooks.events)
    assert len(everything) == len(set(everything))
    manager.send({"type": "plugin.llm_request_started", "request_id": "r"})  # registered: accepted
    manager.shutdown()


async def test_plugin_name_on_every_seed_004_event() -> None:
    """Every seed 004 event takes and reads ``plugin_name`` (its ``PluginBaseEvent`` field), as an
    object and in a dict sent with seed 004's ``type`` string."""
    from llmhooks.events import lookup_type, type_aliases

    seed_types = [t for t in type_aliases() if t.startswith("plugin.")]
    assert len(seed_types) == 17
    manager = EventManager()
    got: list[Any] = []
    manager.subscribe(lambda e: got.append(e), types=Event)
    for kind in seed_types:
        cls = lookup_type(kind)
        assert cls is not None and cls(plugin_name="acme").plugin_name == "acme", kind
        manager.send({"type": kind, "plugin_name": "acme"})
    assert await manager.wait()
    assert [type(e) for e in got] == [lookup_type(t) for t in seed_types]
    assert {e.plugin_name for e in got} == {"acme"}
    manager.shutdown()


async def test_events_sent_to_a_shut_down_handle_are_counted_as_dropped() -> None:
    """A merged child after its shutdown forwards nothing; what it is sent is counted, not lost unseen."""
    parent, child = EventManager(), EventManager()
    got: list[Any] = []
    parent.subscribe(collector(got))
    parent.merge(child)
    assert await child.shutdown()
    child.send(Ping(n=1), Ping(n=2))
    assert child.dropped == 2 and not await child.wait()  # wait() says events were lost
    assert await parent.wait() and got == [] and parent.dropped == 0
    parent.shutdown()
