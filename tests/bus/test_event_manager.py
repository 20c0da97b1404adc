"""``EventManager``: subscribe by type, send from anywhere, ordered delivery, honest waits."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Union

import pytest

from llmhooks import (
    CallbackManager,
    Callbacks,
    EventManager,
    LLMEndEvent,
    LLMErrorEvent,
    LLMEvent,
    LLMStartEvent,
    LLMTokenEvent,
    ToolEndEvent,
    ToolStartEvent,
    VLMInferenceCompletedEvent,
    VLMInferenceStartEvent,
    callbacks_context,
    llm_run,
)
from llmhooks.bus import HandlerErrorEvent
from llmhooks.errors import Abort, InvalidHandlerError
from llmhooks.events import Event


@dataclass(slots=True, kw_only=True)
class Ping(Event):
    """A custom event, as users define them."""

    type: ClassVar[str] = "test.ping"
    n: int = 0


async def test_seed_complete_example() -> None:
    """Seed 004's complete example, with llmhooks names: register, subscribe, send, wait."""
    manager = EventManager()
    manager.register(
        LLMStartEvent, LLMTokenEvent, LLMEndEvent, LLMErrorEvent, ToolStartEvent, ToolEndEvent,
        VLMInferenceStartEvent, VLMInferenceCompletedEvent,
    )  # fmt: skip
    streaming_responses: dict[str, str] = {}
    log: list[str] = []

    @manager.subscribe
    async def handle_llm_request(event: LLMStartEvent) -> None:
        log.append(f"LLM request started: {event.run_id}")
        streaming_responses[event.run_id] = ""

    @manager.subscribe
    async def handle_response_chunk(event: LLMTokenEvent) -> None:
        if event.is_first:
            log.append("first token")
        streaming_responses[event.run_id] += event.token

    @manager.subscribe
    async def handle_response_completed(event: LLMEndEvent) -> None:
        log.append(f"completed {event.input_tokens} in, {event.output_tokens} out")

    @manager.subscribe
    async def handle_tool_execution(event: ToolStartEvent | ToolEndEvent) -> None:
        log.append(f"tool {event.type}")

    @manager.subscribe
    async def handle_vlm_inference(event: VLMInferenceStartEvent | VLMInferenceCompletedEvent) -> None:
        log.append(f"vlm {event.type}")

    manager.send(
        LLMStartEvent(run_id="req-123", model="gpt-4", streaming=True),
        LLMTokenEvent(run_id="req-123", token="Hi", is_first=True),
        LLMTokenEvent(run_id="req-123", token="!", index=1),
        LLMEndEvent(run_id="req-123", input_tokens=3, output_tokens=2),
        ToolStartEvent(tool_name="t"),
        ToolEndEvent(tool_name="t"),
        VLMInferenceCompletedEvent(text="cat"),
    )
    assert await manager.wait()
    assert streaming_responses == {"req-123": "Hi!"}
    assert log == [
        "LLM request started: req-123",
        "first token",
        "completed 3 in, 2 out",
        "tool tool.start",
        "tool tool.end",
        "vlm vlm.inference_completed",
    ]


async def test_annotation_forms_and_base_classes() -> None:
    """``A | B``, ``Union``, ``Optional``, a base class and explicit ``types=`` all subscribe."""
    manager = EventManager()
    got: dict[str, list[str]] = {k: [] for k in ("pipe", "union", "optional", "base", "all", "explicit")}

    @manager.subscribe
    def pipe(e: LLMStartEvent | LLMEndEvent) -> None:
        got["pipe"].append(e.type)

    @manager.subscribe
    def union(e: Union[LLMStartEvent, ToolEndEvent]) -> None:  # noqa: UP007 - the form under test
        got["union"].append(e.type)

    @manager.subscribe
    def optional(e: Optional[Ping]) -> None:  # noqa: UP045 - the form under test
        got["optional"].append(e.type)  # type: ignore[union-attr]

    @manager.subscribe
    async def base(e: LLMEvent) -> None:
        got["base"].append(e.type)

    @manager.subscribe
    def everything(e: Event) -> None:
        got["all"].append(e.type)

    @manager.subscribe(types=ToolEndEvent)
    def explicit(e: Any) -> None:
        got["explicit"].append(e.type)

    manager.send(LLMStartEvent(), LLMTokenEvent(), LLMEndEvent(), ToolEndEvent(), Ping())
    assert await manager.wait()
    assert got["pipe"] == ["llm.start", "llm.end"]
    assert got["union"] == ["llm.start", "tool.end"]
    assert got["optional"] == ["test.ping"]
    assert got["base"] == ["llm.start", "llm.token", "llm.end"]
    assert got["all"] == ["llm.start", "llm.token", "llm.end", "tool.end", "test.ping"]
    assert got["explicit"] == ["tool.end"]


def test_local_classes_in_string_annotations_resolve() -> None:
    """Under ``from __future__ import annotations``, a class local to the test still resolves."""

    @dataclass(slots=True, kw_only=True)
    class LocalEvent(Event):
        type: ClassVar[str] = "test.local"

    manager = EventManager()

    def handler(e: LocalEvent) -> None:
        pass

    manager.subscribe(handler)
    assert manager.has_subscribers(LocalEvent) and not manager.has_subscribers(Ping)
    manager.shutdown()


def test_bad_subscriptions_fail_when_subscribing() -> None:
    """No annotation, an annotation naming no class, or a non-callable are refused with the fix."""
    manager = EventManager()
    with pytest.raises(InvalidHandlerError, match="annotate the event parameter"):
        manager.subscribe(lambda e: None)
    with pytest.raises(InvalidHandlerError, match="cannot subscribe to"):

        @manager.subscribe
        def generic(e: list[int]) -> None:
            pass

    with pytest.raises(InvalidHandlerError, match="not callable"):
        manager.subscribe(42)
    with pytest.raises(InvalidHandlerError, match="cannot resolve"):

        @manager.subscribe
        def unknown(e: NoSuchEvent) -> None:  # type: ignore[name-defined]  # noqa: F821
            pass

    with pytest.raises(ValueError, match="maxsize"):
        EventManager(maxsize=0)


async def test_register_is_optional_unless_strict() -> None:
    """Subscribing never needs ``register``; a strict manager refuses unregistered sends."""
    loose = EventManager()
    got: list[int] = []
    loose.subscribe(lambda e: got.append(e.n), types=Ping)
    loose.send(Ping(n=1))
    assert await loose.wait() and got == [1]
    strict = EventManager(strict=True)
    strict.subscribe(lambda e: got.append(e.n), types=Ping)
    with pytest.raises(ValueError, match="not registered"):
        strict.send(Ping(n=2))
    strict.register(Ping)
    strict.send(Ping(n=3))
    assert await strict.wait() and got == [1, 3]
    assert strict.registered == (Ping,)


async def test_unsubscribe_stops_delivery_even_of_queued_events() -> None:
    """After ``unsubscribe`` a handler gets nothing more, not even events already queued."""
    manager = EventManager()
    got: list[int] = []

    def handler(e: Ping) -> None:
        got.append(e.n)

    manager.subscribe(handler)
    manager.send(Ping(n=1))
    assert manager.unsubscribe(handler) and not manager.unsubscribe(handler)
    manager.send(Ping(n=2))
    assert await manager.wait()
    assert got == [] and not manager.has_subscribers(Ping)


def test_sync_code_without_loop_delivers_on_a_worker() -> None:
    """From sync code with no loop, sync and async subscribers are served by the worker thread."""
    manager = EventManager()
    got: list[tuple[str, int]] = []

    def sync_handler(e: Ping) -> None:
        got.append(("sync", e.n))

    async def async_handler(e: Ping) -> None:
        await asyncio.sleep(0)
        got.append(("async", e.n))

    manager.subscribe(sync_handler)
    manager.subscribe(async_handler)
    for n in range(3):
        manager.send(Ping(n=n))
    assert manager.flush(timeout=5)
    assert got == [("sync", 0), ("async", 0), ("sync", 1), ("async", 1), ("sync", 2), ("async", 2)]
    assert manager.shutdown()


async def test_sends_from_threads_and_tasks_keep_per_sender_order() -> None:
    """Eight threads and eight tasks send at once; each sender's events arrive in order, none lost."""
    manager = EventManager(maxsize=100_000)
    seen: list[tuple[str, int]] = []
    seen_async: list[tuple[str, int]] = []

    @dataclass(slots=True, kw_only=True)
    class Numbered(Event):
        type: ClassVar[str] = "test.numbered"
        sender: str = ""
        n: int = 0

    @manager.subscribe
    def record(e: Numbered) -> None:
        seen.append((e.sender, e.n))

    @manager.subscribe
    async def record_async(e: Numbered) -> None:
        seen_async.append((e.sender, e.n))

    per_sender = 300

    def thread_sender(name: str) -> None:
        for n in range(per_sender):
            manager.send(Numbered(sender=name, n=n))

    async def task_sender(name: str) -> None:
        for n in range(per_sender):
            manager.send(Numbered(sender=name, n=n))
            if n % 50 == 0:
                await asyncio.sleep(0)

    threads = [threading.Thread(target=thread_sender, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    await asyncio.gather(*(task_sender(f"a{i}") for i in range(8)))
    for t in threads:
        await asyncio.to_thread(t.join)
    assert await manager.wait(timeout=20)
    assert len(seen) == 16 * per_sender and seen == seen_async
    for sender in {s for s, _ in seen}:
        assert [n for s, n in seen if s == sender] == list(range(per_sender))
    assert manager.stats()["dropped"] == 0


async def test_no_task_per_handler_per_event() -> None:
    """Five subscribers and 200 events are delivered by one task, not one per delivery."""
    loop = asyncio.get_running_loop()
    created: list[Any] = []
    default = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        created.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    manager = EventManager()
    calls = 0

    async def handler(e: Ping) -> None:
        nonlocal calls
        calls += 1

    for _ in range(5):
        manager.subscribe(_clone(handler))
    loop.set_task_factory(factory)
    try:
        for n in range(200):
            manager.send(Ping(n=n))
            if n % 20 == 0:
                await asyncio.sleep(0)
        assert await manager.wait()
    finally:
        loop.set_task_factory(default)
    assert calls == 1000
    assert len(created) <= 1


def _clone(fn: Any) -> Any:
    async def clone(e: Ping) -> None:
        await fn(e)

    return clone


async def test_overflow_drops_oldest_and_wait_says_so() -> None:
    """With ``maxsize=3`` a burst keeps the newest three; ``wait`` reports the loss once."""
    manager = EventManager(maxsize=3)
    got: list[int] = []
    manager.subscribe(lambda e: got.append(e.n), types=Ping)
    for n in range(10):
        manager.send(Ping(n=n))  # no await: the consumer cannot run yet
    assert await manager.wait() is False
    assert got == [7, 8, 9] and manager.dropped == 7
    manager.send(Ping(n=10))
    assert await manager.wait() is True and got[-1] == 10


async def test_wait_times_out_honestly() -> None:
    """A slow subscriber makes a short ``wait`` return False; a longer one then True."""
    manager = EventManager()
    release = asyncio.Event()

    async def slow(e: Ping) -> None:
        await release.wait()

    manager.subscribe(slow)
    manager.send(Ping())
    assert await manager.wait(timeout=0.05) is False
    release.set()
    assert await manager.wait(timeout=5) is True


async def test_failing_subscriber_is_isolated_and_reported_once() -> None:
    """A raising subscriber does not stop others; each failure gives one ``HandlerErrorEvent``."""
    manager = EventManager()
    good: list[int] = []
    reports: list[HandlerErrorEvent] = []

    @manager.subscribe
    def broken(e: Ping) -> None:
        raise RuntimeError(f"cannot take {e.n}")

    @manager.subscribe
    def fine(e: Ping) -> None:
        good.append(e.n)

    @manager.subscribe
    def on_error(e: HandlerErrorEvent) -> None:
        reports.append(e)

    @manager.subscribe
    def also_broken_on_reports(e: HandlerErrorEvent) -> None:
        raise RuntimeError("reporting fails too")

    manager.send(Ping(n=1), Ping(n=2))
    assert await manager.wait()
    assert good == [1, 2]
    assert [(r.handler.rsplit(".", 1)[-1], r.event_type, r.error_type) for r in reports] == [
        ("broken", "test.ping", "RuntimeError"),
        ("broken", "test.ping", "RuntimeError"),
    ]
    assert reports[0].event.n == 1 and reports[0].error_message == "cannot take 1"
    assert manager.failures == 4  # two pings, two reports; the report failures made no reports
    assert manager.stats()["pending"] == 0


async def test_catch_all_subscriber_failing_never_loops() -> None:
    """A subscriber to every event that always fails gets each report once, then nothing more."""
    manager = EventManager()
    calls: list[str] = []

    @manager.subscribe
    def always_fails(e: Event) -> None:
        calls.append(e.type)
        raise RuntimeError("no")

    manager.send(Ping())
    assert await manager.wait()
    assert calls == ["test.ping", "bus.handler_error"]


async def test_abort_in_a_subscriber_is_isolated() -> None:
    """The bus is decoupled from the sender: even ``Abort`` from a subscriber is only reported."""
    manager = EventManager()
    manager.subscribe(lambda e: (_ for _ in ()).throw(Abort("stop")), types=Ping)
    manager.send(Ping())
    assert await manager.wait() and manager.failures == 1


async def test_manager_in_callback_manager_gets_producer_events() -> None:
    """Added to a ``CallbackManager`` (or a scope), the bus receives every event producers fire."""
    bus = EventManager()
    got: list[str] = []
    bus.subscribe(lambda e: got.append(e.type), types=LLMEvent)
    async with llm_run(model="m", callbacks=CallbackManager([bus])) as run:
        await run.atoken("a")
        await run.afinish(response="a")
    with callbacks_context([bus]), llm_run(model="m") as run2:
        run2.finish(response="b")
    assert await bus.wait()
    assert got == ["llm.start", "llm.token", "llm.end", "llm.start", "llm.end"]


def test_subscribers_calls_are_not_instrumented() -> None:
    """A subscriber making an LLM call of its own does not feed events back into the bus."""
    bus = EventManager()
    got: list[str] = []

    def summarise(e: LLMEndEvent) -> None:
        got.append(e.type)
        with llm_run(model="inner", callbacks=bus) as run:
            run.finish(response="summary")

    bus.subscribe(summarise)
    with llm_run(model="outer", callbacks=bus) as run:
        run.finish(response="x")
    assert bus.flush(timeout=5)
    time.sleep(0.05)
    assert bus.flush(timeout=5) and got == ["llm.end"]
    bus.shutdown()


def test_shutdown_delivers_then_refuses() -> None:
    """``shutdown`` delivers what was queued, stops the worker, and counts later sends as dropped."""
    manager = EventManager()
    got: list[int] = []
    manager.subscribe(lambda e: got.append(e.n), types=Ping)
    for n in range(100):
        manager.send(Ping(n=n))
    assert manager.shutdown(timeout=5) == True  # noqa: E712 - a Shutdown, equal to the bool
    assert got == list(range(100))
    manager.send(Ping(n=100))
    assert manager.dropped == 1 and got[-1] == 99
    assert manager._worker is None or not manager._worker.is_alive()


def test_shutdown_that_times_out_accounts_for_every_event() -> None:
    """A shutdown giving up on a slow, failing subscriber: every event sent ends delivered or dropped.

    The failure report made after the shutdown cleared the queue (nobody is left to
    deliver it) is counted as dropped, not left pending for ever.
    """
    manager = EventManager()
    gate = threading.Event()
    reports: list[HandlerErrorEvent] = []

    def slow_failure(event: Ping) -> None:
        gate.wait(5)
        raise ValueError("boom")

    manager.subscribe(slow_failure)
    manager.subscribe(lambda e: reports.append(e), types=HandlerErrorEvent)
    manager.send(Ping(n=1), Ping(n=2))
    deadline = time.monotonic() + 5
    while manager.stats()["pending"] != 1 and time.monotonic() < deadline:  # the first is being delivered
        time.sleep(0.001)
    assert not manager.shutdown(timeout=0.05)  # the first is still in its subscriber; the second dropped
    gate.set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and manager.delivered + manager.dropped < 3:
        time.sleep(0.001)
    stats = manager.stats()
    assert stats["failures"] == 1 and stats["pending"] == 0
    assert stats["sent"] == stats["delivered"] + stats["dropped"] == 3
    assert (stats["delivered"], stats["dropped"], reports) == (1, 2, [])


async def test_ashutdown_in_async_code() -> None:
    """``await ashutdown()`` waits for this loop's deliveries before stopping."""
    manager = EventManager()
    got: list[int] = []

    async def handler(e: Ping) -> None:
        await asyncio.sleep(0)
        got.append(e.n)

    manager.subscribe(handler)
    manager.send(Ping(n=1), Ping(n=2))
    assert await manager.ashutdown(timeout=5) is True
    assert got == [1, 2]


def test_events_left_when_a_loop_ends_are_delivered_by_the_worker() -> None:
    """Events sent in ``asyncio.run`` and not waited for are still delivered after the loop ends."""
    manager = EventManager()
    got: list[int] = []
    manager.subscribe(lambda e: got.append(e.n), types=Ping)

    async def main() -> None:
        for n in range(5):
            manager.send(Ping(n=n))  # the loop ends before its consumer runs

    asyncio.run(main())
    assert manager.flush(timeout=5)
    assert got == [0, 1, 2, 3, 4]
    manager.shutdown()


def test_flush_on_the_delivering_loop_is_refused() -> None:
    """Blocking ``flush`` inside the loop that delivers would hang forever: it raises instead."""
    manager = EventManager()

    async def handler(e: Ping) -> None:
        await asyncio.sleep(0)

    manager.subscribe(handler)

    async def main() -> None:
        manager.send(Ping())
        with pytest.raises(RuntimeError, match=r"await manager\.wait"):
            manager.flush()
        assert await manager.wait()

    asyncio.run(main())


def test_handler_as_bound_method_and_callback_object() -> None:
    """Bound methods and async callable objects subscribe like functions."""

    class Collector(Callbacks):
        def __init__(self) -> None:
            self.got: list[int] = []

        def take(self, e: Ping) -> None:
            self.got.append(e.n)

    class AsyncCallable:
        def __init__(self) -> None:
            self.got: list[int] = []

        async def __call__(self, e: Ping) -> None:
            self.got.append(e.n)

    manager = EventManager()
    c, a = Collector(), AsyncCallable()
    manager.subscribe(c.take)
    manager.subscribe(a)
    manager.send(Ping(n=5))
    assert manager.flush(timeout=5)
    assert c.got == [5] and a.got == [5]
    assert manager.unsubscribe(c.take)
    manager.shutdown()


async def test_subscriber_waiting_for_its_own_manager_is_refused() -> None:
    """A subscriber calling ``wait``/``flush`` on its own manager gets an error, not a hang."""
    manager = EventManager()
    errors: list[str] = []

    async def impatient(e: Ping) -> None:
        try:
            await manager.wait()
        except RuntimeError as exc:
            errors.append(str(exc))

    manager.subscribe(impatient)
    manager.send(Ping())
    assert await manager.wait(timeout=5)
    assert errors and "cannot wait for its own" in errors[0]


def test_callback_manager_routes_to_the_bus_only_what_it_has_subscribers_for() -> None:
    """Producers build no token events for a bus with no token subscriber, until one subscribes."""
    from llmhooks import CallbackManager, LLMEndEvent, LLMTokenEvent, llm_run

    bus = EventManager()
    ends: list[str] = []

    @bus.subscribe
    def on_end(event: LLMEndEvent) -> None:
        ends.append(event.response)

    manager = CallbackManager([bus])
    assert manager.wants(LLMEndEvent) and not manager.wants(LLMTokenEvent)
    tokens: list[str] = []

    @bus.subscribe
    def on_token(event: LLMTokenEvent) -> None:
        tokens.append(event.token)

    assert manager.wants(LLMTokenEvent)
    with llm_run(model="m", callbacks=manager) as run:
        run.token("hi")
    assert bus.flush(5)
    assert tokens == ["hi"] and ends == ["hi"]
    bus.unsubscribe(on_token)
    assert not manager.wants(LLMTokenEvent)
    bus.shutdown()


def test_subscribing_while_managers_join_from_other_threads_never_fails() -> None:
    """subscribe/unsubscribe racing per-call managers that join the bus: no error, routes follow."""
    import threading

    from llmhooks import CallbackManager, LLMStartEvent

    bus = EventManager()
    keep = [CallbackManager([bus]) for _ in range(50)]
    stop = threading.Event()

    def joiner() -> None:
        extra: list[CallbackManager] = []
        while not stop.is_set():
            extra.append(CallbackManager([bus]))
            if len(extra) > 100:
                del extra[:]

    thread = threading.Thread(target=joiner)
    thread.start()
    try:

        def handler(event: LLMStartEvent) -> None:
            pass

        for _ in range(200):
            bus.subscribe(handler)
            bus.unsubscribe(handler)
        bus.subscribe(handler)
    finally:
        stop.set()
        thread.join()
    assert all(m.wants(LLMStartEvent) for m in keep)
    bus.shutdown()


def test_registering_on_a_strict_bus_reroutes_its_managers() -> None:
    """A strict bus refuses unregistered types; register() makes managers route them to it."""
    from llmhooks import CallbackManager, LLMStartEvent

    bus = EventManager(strict=True)
    got: list[str] = []

    @bus.subscribe
    def on_start(event: LLMStartEvent) -> None:
        got.append(event.run_id)

    manager = CallbackManager([bus])
    manager.emit(LLMStartEvent(run_id="1"))
    bus.register(LLMStartEvent)
    manager.emit(LLMStartEvent(run_id="2"))
    assert bus.flush(5)
    assert got == ["2"]
    bus.shutdown()
