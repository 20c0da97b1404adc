"""Runs ended by the garbage collector: delivered after the collection, never inside it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import llmhooks
from llmhooks import Callbacks, chain_run, current_run, llm_run
from llmhooks.events import LLMEndEvent


class _Locking(Callbacks):
    """A handler with a non-reentrant lock that a collection can start under (an allocation
    inside its ``with lock:`` block): calling it from inside that collection deadlocks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ends: list[LLMEndEvent] = []
        self.ended_in: list[str] = []

    def on_llm_end(self, event: LLMEndEvent) -> None:
        with self.lock:
            self.ends.append(event)
            self.ended_in.append(threading.current_thread().name)

    def on_chain_start(self, event: Any) -> None:
        with self.lock:
            gc.collect()  # stands for any allocation that starts a collection here


def _abandoned_in_a_cycle(handler: Callbacks) -> None:
    """A half-read generator holding an open LLM run, reachable only through a cycle."""

    def story() -> Iterator[str]:
        with llm_run(model="m", streaming=True, callbacks=handler) as run:
            for word in ("once", "upon"):
                run.token(word)
                yield word

    gen = story()
    next(gen)
    cycle: list[Any] = [gen]
    cycle.append(cycle)


def test_a_run_in_a_collected_generator_ends_after_the_collection_without_deadlock() -> None:
    handler = _Locking()
    gc.collect()
    gc.disable()  # the cycle must be collected by the handler's own collection, not earlier
    try:
        seen: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            with chain_run("outer", callbacks=handler) as outer:  # collects holding the lock
                seen["current"] = current_run()
                seen["outer"] = outer
            done.set()

        _abandoned_in_a_cycle(handler)
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        assert done.wait(30), "the collector called a handler that held its own lock: deadlock"
    finally:
        gc.enable()
    assert llmhooks.flush(10)
    assert [(e.incomplete, e.response) for e in handler.ends] == [(True, "once")]
    assert handler.ended_in == ["llmhooks-finalizers"]
    # the finalized generator did not reset what was current in the thread that collected
    assert seen["current"] is seen["outer"]


def test_a_run_freed_outside_a_collection_ends_inline() -> None:
    handler = _Locking()

    def story() -> Iterator[str]:
        with llm_run(model="m", streaming=True, callbacks=handler) as run:
            run.token("once")
            yield "once"

    gen = story()
    next(gen)
    del gen  # freed by reference counting: no collection, delivered right here
    assert [(e.incomplete, e.response) for e in handler.ends] == [(True, "once")]
    assert handler.ended_in == [threading.current_thread().name]
