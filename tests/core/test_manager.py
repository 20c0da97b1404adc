"""CallbackManager: dispatch rules, order, isolation, timeouts, thread safety, stats."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
import warnings

import pytest

from llmhooks import (
    Abort,
    BudgetExceeded,
    CallbackManager,
    Callbacks,
    InvalidHandlerError,
    LLMEndEvent,
    LLMStartEvent,
    LLMTokenEvent,
    ToolStartEvent,
)
from llmhooks.testing import RecordingCallbacks

START = LLMStartEvent(provider="p", model="m")
END = LLMEndEvent(provider="p", model="m", response="ok")


class Log(Callbacks):
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def on_llm_start(self, event: LLMStartEvent) -> None:
        self.log.append(f"{self.name}:start")


class AsyncOnly(Callbacks):
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.loops: list[object] = []

    async def on_llm_start(self, event: LLMStartEvent) -> None:
        await asyncio.sleep(0)
        self.loops.append(asyncio.get_running_loop())
        self.seen.append(event.type)


class Twin(Callbacks):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_llm_start(self, event: LLMStartEvent) -> None:
        self.calls.append("sync")

    async def on_llm_start_async(self, event: LLMStartEvent) -> None:
        self.calls.append("async")


class Failing(Callbacks):
    def on_llm_start(self, event: LLMStartEvent) -> None:
        raise RuntimeError("handler broke")


def test_one_handler_class_gets_events_from_sync_and_async_code() -> None:
    """The same handler instance receives events emitted from sync and from async code."""
    rec = RecordingCallbacks()
    mgr = CallbackManager([rec])
    mgr.emit(START)
    asyncio.run(mgr.aemit(END))
    assert rec.types() == ["llm.start", "llm.end"]


def test_sync_code_calls_sync_twin_async_code_awaits_async_twin() -> None:
    """With both forms defined, emit uses on_X and aemit uses on_X_async."""
    h = Twin()
    mgr = CallbackManager([h])
    mgr.emit(START)
    asyncio.run(mgr.aemit(START))
    assert h.calls == ["sync", "async"]


def test_async_only_method_runs_to_completion_from_sync_code_without_loop() -> None:
    """An async def method reached from plain sync code has finished when emit returns."""
    h = AsyncOnly()
    CallbackManager([h]).emit(START)
    assert h.seen == ["llm.start"]


async def test_async_only_method_from_sync_code_inside_running_loop_is_scheduled_on_that_loop() -> None:
    """Sync code called inside a running loop schedules the coroutine on that loop; it is not dropped."""
    h = AsyncOnly()
    CallbackManager([h]).emit(START)  # sync call, loop running
    for _ in range(10):
        await asyncio.sleep(0)
    assert h.seen == ["llm.start"]
    assert h.loops == [asyncio.get_running_loop()]


async def test_async_method_is_awaited_in_async_code() -> None:
    """aemit awaits an async def on_X before returning."""
    h = AsyncOnly()
    await CallbackManager([h]).aemit(START)
    assert h.seen == ["llm.start"]


def test_handler_that_ignores_an_event_is_not_in_its_route() -> None:
    """A handler overriding only on_llm_end costs nothing for tokens: it is absent from that route."""

    class EndOnly(Callbacks):
        def on_llm_end(self, event: LLMEndEvent) -> None:
            pass

    mgr = CallbackManager([EndOnly()])
    assert not mgr.wants(LLMTokenEvent)
    assert mgr._routes[LLMTokenEvent][0] == ()
    assert mgr.wants(LLMEndEvent)


def test_on_event_catches_everything_not_overridden() -> None:
    """on_event receives the events whose own method is not overridden."""

    class Mixed(Callbacks):
        def __init__(self) -> None:
            self.got: list[str] = []

        def on_llm_start(self, event: LLMStartEvent) -> None:
            self.got.append("own:" + event.type)

        def on_event(self, event: object) -> None:
            self.got.append("any:" + event.type)  # type: ignore[attr-defined]

    h = Mixed()
    mgr = CallbackManager([h])
    mgr.emit(START)
    mgr.emit(END)
    mgr.emit(ToolStartEvent(tool_name="t"))
    assert h.got == ["own:llm.start", "any:llm.end", "any:tool.start"]


def test_order_is_order_given_and_priority_moves_handlers() -> None:
    """Handlers run in registration order; a higher priority runs first."""
    log: list[str] = []
    a, b, c = Log("a", log), Log("b", log), Log("c", log)
    mgr = CallbackManager([a, b])
    mgr.add(c, priority=10)
    mgr.emit(START)
    assert log == ["c:start", "a:start", "b:start"]


def test_adding_twice_is_a_no_op_and_remove_works() -> None:
    """The same handler is registered once; remove takes it out."""
    log: list[str] = []
    a = Log("a", log)
    mgr = CallbackManager([a, a])
    mgr.add(a)
    mgr.emit(START)
    assert log == ["a:start"]
    assert mgr.remove(a) and not mgr.remove(a)
    mgr.emit(START)
    assert log == ["a:start"]


def test_handler_error_is_isolated(caplog: pytest.LogCaptureFixture) -> None:
    """A failing handler is logged with name, event type and traceback; the others still run."""
    rec = RecordingCallbacks()
    mgr = CallbackManager([Failing(), rec])
    with caplog.at_level(logging.ERROR, logger="llmhooks"):
        mgr.emit(START)
    assert rec.types() == ["llm.start"]
    [record] = [r for r in caplog.records if r.name == "llmhooks"]
    assert "Failing" in record.getMessage() and "llm.start" in record.getMessage()
    assert record.exc_info is not None and "handler broke" in str(record.exc_info[1])
    assert mgr.stats()["Failing"]["failures"] == 1


async def test_handler_error_is_isolated_async(caplog: pytest.LogCaptureFixture) -> None:
    """The same isolation holds in aemit."""

    class AsyncFailing(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            raise RuntimeError("async broke")

    rec = RecordingCallbacks()
    mgr = CallbackManager([AsyncFailing(), rec])
    with caplog.at_level(logging.ERROR, logger="llmhooks"):
        await mgr.aemit(START)
    assert rec.types() == ["llm.start"]
    assert any("AsyncFailing" in r.getMessage() for r in caplog.records)


def test_repeated_failures_are_counted_but_not_logged_in_a_flood(caplog: pytest.LogCaptureFixture) -> None:
    """A handler failing 100 times is counted 100 times and logged once."""
    mgr = CallbackManager([Failing()])
    with caplog.at_level(logging.ERROR, logger="llmhooks"):
        for _ in range(100):
            mgr.emit(START)
    assert mgr.stats()["Failing"]["failures"] == 100
    assert len([r for r in caplog.records if r.name == "llmhooks"]) == 1


def test_raise_errors_propagates() -> None:
    """raise_errors = True lets that handler's exception reach the caller."""

    class Strict(Failing):
        raise_errors = True

    with pytest.raises(RuntimeError, match="handler broke"):
        CallbackManager([Strict()]).emit(START)


def test_abort_always_propagates_and_stops_later_handlers() -> None:
    """Abort (and BudgetExceeded) propagate even without raise_errors."""

    class Stop(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise BudgetExceeded("over", limit=1.0, spent=2.0)

    rec = RecordingCallbacks()
    with pytest.raises(Abort) as info:
        CallbackManager([Stop(), rec]).emit(START)
    assert isinstance(info.value, BudgetExceeded) and info.value.limit == 1.0
    assert rec.events == []


def test_keyboard_interrupt_passes_through() -> None:
    """BaseExceptions are never swallowed by isolation."""

    class Interrupt(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        CallbackManager([Interrupt()]).emit(START)


async def test_timeout_abandons_a_hanging_async_handler() -> None:
    """A hanging async method is abandoned after its timeout; later handlers run; counted."""

    class Hang(Callbacks):
        timeout = 0.05

        async def on_llm_start(self, event: LLMStartEvent) -> None:
            await asyncio.sleep(30)

    rec = RecordingCallbacks()
    mgr = CallbackManager([Hang(), rec])
    t0 = time.monotonic()
    await mgr.aemit(START)
    assert time.monotonic() - t0 < 5
    assert rec.types() == ["llm.start"]
    assert mgr.stats()["Hang"]["timeouts"] == 1


def test_manager_default_timeout_bounds_async_handler_from_sync_code() -> None:
    """The manager's default timeout applies to async methods run from sync code too."""

    class Hang(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            await asyncio.sleep(30)

    mgr = CallbackManager([Hang()], timeout=0.05)
    mgr.emit(START)
    assert mgr.stats()["Hang"]["timeouts"] == 1


async def test_concurrent_gathers_async_handlers() -> None:
    """concurrent=True runs async handlers together: total time ~ the slowest, not the sum."""
    started: list[float] = []

    class Slow(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            started.append(time.monotonic())
            await asyncio.sleep(0.2)

    mgr = CallbackManager([Slow(), Slow(), Slow()], concurrent=True)
    await mgr.aemit(START)
    assert len(started) == 3
    assert max(started) - min(started) < 0.15  # all three started before the first finished


async def test_concurrent_abort_stops_the_dispatch_where_it_would_in_order() -> None:
    """A sync handler's Abort under concurrent=True: handlers before it get the event (their
    awaits finish), handlers after it never do, and the stats say so."""
    got: list[str] = []

    class Before(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            await asyncio.sleep(0)
            got.append("before")

    class Refuses(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise Abort("no")

    class After(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            got.append("after")

    mgr = CallbackManager([Before(), Refuses(), After()], concurrent=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a coroutine created and never awaited would warn
        with pytest.raises(Abort):
            await mgr.aemit(START)
        gc.collect()
    assert got == ["before"]
    stats = mgr.stats()
    assert (stats["Before"]["calls"], stats["Refuses"]["calls"], stats["After"]["calls"]) == (1, 1, 0)


def test_handler_added_during_dispatch_is_not_called_in_that_dispatch() -> None:
    """A handler added by a handler first sees the next event."""
    rec = RecordingCallbacks()

    class Adder(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            mgr.add(rec)

    mgr = CallbackManager([Adder()])
    mgr.emit(START)
    assert rec.events == []
    mgr.emit(START)
    assert rec.types() == ["llm.start"]


def test_add_and_remove_while_other_threads_dispatch() -> None:
    """Concurrent add/remove never breaks a dispatch and never loses the stable handler's events."""
    stable = RecordingCallbacks()
    mgr = CallbackManager([stable])
    stop = threading.Event()
    errors: list[BaseException] = []

    def dispatch() -> None:
        try:
            for _ in range(3000):
                mgr.emit(START)
        except BaseException as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    def churn() -> None:
        while not stop.is_set():
            h = RecordingCallbacks()
            mgr.add(h)
            mgr.remove(h)

    churner = threading.Thread(target=churn)
    churner.start()
    workers = [threading.Thread(target=dispatch) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    churner.join()
    assert errors == []
    assert len(stable.events) == 12000


def test_managers_nest() -> None:
    """A CallbackManager is a handler: an inner manager gets every event, and later additions too."""
    inner = CallbackManager()
    outer = CallbackManager([inner])
    rec = RecordingCallbacks()
    inner.add(rec)
    outer.emit(START)
    asyncio.run(outer.aemit(END))
    assert rec.types() == ["llm.start", "llm.end"]


def test_manager_methods_dispatch_like_seed_000() -> None:
    """manager.on_llm_start(event) dispatches to the handlers (seed 000's API)."""
    rec = RecordingCallbacks()
    CallbackManager([rec]).on_llm_start(START)
    assert rec.types() == ["llm.start"]


def test_invalid_handlers_are_refused_at_registration() -> None:
    """Misspelt methods, classes, non-handlers and bad signatures fail with a clear message."""

    class Typo(Callbacks):
        def on_llm_strat(self, event: object) -> None:
            pass

    with pytest.raises(InvalidHandlerError, match="did you mean 'on_llm_start'") as info:
        CallbackManager([Typo()])
    assert isinstance(info.value.handler, Typo)
    with pytest.raises(InvalidHandlerError, match=r"pass RecordingCallbacks\(\)"):
        CallbackManager([RecordingCallbacks])  # type: ignore[list-item]
    with pytest.raises(InvalidHandlerError, match="not a handler"):
        CallbackManager([object()])  # type: ignore[list-item]
    with pytest.raises(TypeError):  # InvalidHandlerError is a TypeError too

        class NoArg(Callbacks):
            def on_llm_start(self) -> None:  # type: ignore[override]
                pass

        CallbackManager([NoArg()])


def test_stats_report_calls_failures_and_latency() -> None:
    """stats() counts every call exactly and samples latency."""
    rec = RecordingCallbacks()
    mgr = CallbackManager([rec, Failing()])
    for _ in range(100):
        mgr.emit(START)
    stats = mgr.stats()
    assert stats["RecordingCallbacks"]["calls"] == 100
    assert stats["Failing"]["calls"] == 100 and stats["Failing"]["failures"] == 100
    assert stats["RecordingCallbacks"]["latency_samples"] > 0
    assert stats["RecordingCallbacks"]["latency_p95_us"] >= 0


def test_raise_errors_propagates_through_nested_managers() -> None:
    """A raise_errors handler inside a nested manager still reaches the caller, counted once."""

    class Strict(Failing):
        raise_errors = True

    strict = Strict()
    inner = CallbackManager([strict])
    with pytest.raises(RuntimeError, match="handler broke"):
        CallbackManager([inner]).emit(START)
    assert inner.stats()["Strict"]["failures"] == 1


def test_raise_errors_holds_when_global_and_call_handlers_combine() -> None:
    """A strict global handler keeps raising when a per-call handler is added to the call."""
    from llmhooks import llm_run, set_global_callbacks

    class Strict(Callbacks):
        raise_errors = True

        def on_llm_end(self, event: LLMEndEvent) -> None:
            raise RuntimeError("over budget")

    set_global_callbacks([Strict()])
    with pytest.raises(RuntimeError, match="over budget"), llm_run(model="m", callbacks=RecordingCallbacks()):
        pass


def test_nested_manager_is_routed_only_the_events_it_wants_and_follows_changes() -> None:
    """An outer manager skips an inner one for events it takes no interest in, until that changes."""
    inner = CallbackManager()
    outer = CallbackManager([inner])
    assert not outer.wants(LLMTokenEvent)
    rec = RecordingCallbacks()
    inner.add(rec)
    assert outer.wants(LLMTokenEvent)
    outer.emit(START)
    assert rec.types() == ["llm.start"]
    inner.remove(rec)
    assert not outer.wants(LLMStartEvent)


def test_stats_do_not_grow_with_managers_built_per_call() -> None:
    """Thousands of per-call managers leave the global handler's stats bounded and its count exact."""
    import gc

    from llmhooks import global_manager, llm_run, set_global_callbacks

    glob = RecordingCallbacks()
    set_global_callbacks([glob])
    for _ in range(2000):
        with llm_run(model="m", callbacks=RecordingCallbacks()):
            pass
    gc.collect()
    stats = glob._llmhooks_stats  # type: ignore[attr-defined]
    assert len(stats._counters) < 50
    assert global_manager().stats()["RecordingCallbacks"]["calls"] == 4000 == len(glob.events)


def test_a_handler_attribute_named_wants_is_just_an_attribute() -> None:
    """Only the bus's routing protocol is consulted: a user's `wants` attribute changes nothing."""

    class Filtered(RecordingCallbacks):
        def __init__(self) -> None:
            RecordingCallbacks.__init__(self)
            self.wants = {"email"}

    h = Filtered()
    CallbackManager([h]).emit(START)
    assert h.types() == ["llm.start"]


async def test_on_event_async_is_a_catch_all_like_on_event() -> None:
    """A handler overriding only ``on_event_async`` gets every event, from sync and async code."""

    class AsyncCatchAll(Callbacks):
        def __init__(self) -> None:
            self.seen: list[str] = []

        async def on_event_async(self, event: LLMStartEvent) -> None:
            self.seen.append(event.type)

    h = AsyncCatchAll()
    mgr = CallbackManager([h])
    await mgr.aemit(START)
    assert h.seen == ["llm.start"]
    assert mgr.wants(LLMEndEvent)
