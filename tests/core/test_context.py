"""Where handlers come from, and how the run tree follows the code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import llmhooks
from llmhooks import (
    ContextExecutor,
    agent_run,
    callbacks_context,
    llm_run,
    set_global_callbacks,
    to_thread,
    tool_run,
)
from llmhooks.core.generators import aisolated, isolated
from llmhooks.testing import RecordingCallbacks


def test_global_scoped_and_call_handlers_combine_without_duplicates() -> None:
    """A handler present globally, scoped and per call gets each event once."""
    shared, scoped_only, call_only = RecordingCallbacks(), RecordingCallbacks(), RecordingCallbacks()
    set_global_callbacks([shared])
    with callbacks_context([shared, scoped_only]), llm_run(model="m", callbacks=[call_only, shared]):
        pass
    for rec in (shared, scoped_only, call_only):
        assert rec.types() == ["llm.start", "llm.end"]


def test_scoped_handlers_end_with_their_block() -> None:
    """Handlers added with callbacks_context stop receiving events after the block."""
    rec = RecordingCallbacks()
    with callbacks_context(rec), llm_run(model="m"):
        pass
    with llm_run(model="m"):
        pass
    assert rec.types() == ["llm.start", "llm.end"]


def test_global_handlers_set_later_are_seen() -> None:
    """Setting global handlers after a producer exists still takes effect on its next call."""

    def producer() -> None:
        with tool_run("t"):
            pass

    producer()
    rec = RecordingCallbacks()
    set_global_callbacks([rec])
    producer()
    assert rec.types() == ["tool.start", "tool.end"]
    assert llmhooks.get_global_callbacks() == [rec]


async def test_parent_links_across_await_and_gather() -> None:
    """Runs started in gathered coroutines are children of the run that gathered them."""
    rec = RecordingCallbacks()

    async def tool(i: int) -> None:
        await asyncio.sleep(0.001 * (3 - i))
        async with tool_run(f"t{i}", callbacks=rec):
            await asyncio.sleep(0)

    async with agent_run(goal="g", callbacks=rec) as agent:
        await asyncio.gather(*(tool(i) for i in range(3)))
        await asyncio.create_task(tool(9))
    tool_starts = [e for e in rec.events if e.type == "tool.start"]
    assert len(tool_starts) == 4
    assert all(e.parent_run_id == agent.run_id and e.trace_id == agent.trace_id for e in tool_starts)


async def test_parent_links_across_threads_with_our_helpers() -> None:
    """to_thread and ContextExecutor carry the current run into the thread."""
    rec = RecordingCallbacks()

    def blocking(name: str) -> str:
        with tool_run(name, callbacks=rec):
            return threading.current_thread().name

    async with agent_run(goal="g", callbacks=rec) as agent:
        await to_thread(blocking, "in-to-thread")
        with ContextExecutor(max_workers=2) as pool:
            names = [pool.submit(blocking, f"pool{i}").result() for i in range(2)]
    assert all(n != threading.current_thread().name for n in names)
    starts = [e for e in rec.events if e.type == "tool.start"]
    assert [e.parent_run_id for e in starts] == [agent.run_id] * 3


def test_parent_links_in_generator_resumed_elsewhere() -> None:
    """An isolated generator started in one run and resumed under another keeps its tree right."""
    rec = RecordingCallbacks()

    def gen() -> Iterator[str]:
        with llm_run(model="m", streaming=True, callbacks=rec) as run:
            for i in range(3):
                with tool_run(f"inner{i}", callbacks=rec):
                    pass
                run.token(str(i))
                yield str(i)

    with agent_run(goal="a", callbacks=rec) as a:
        g = isolated(gen())
        next(g)
    with agent_run(goal="b", callbacks=rec) as b:
        rest = list(g)
        with tool_run("after", callbacks=rec):
            pass
    assert rest == ["1", "2"]
    llm_start = next(e for e in rec.events if e.type == "llm.start")
    inner = [e for e in rec.events if e.type == "tool.start" and e.tool_name.startswith("inner")]
    assert [e.parent_run_id for e in inner] == [llm_start.run_id] * 3
    after = next(e for e in rec.events if e.type == "tool.start" and e.tool_name == "after")
    assert after.parent_run_id == b.run_id  # the generator did not leak its run into b's context
    assert llm_start.parent_run_id == a.run_id
    rec.assert_terminated()


async def test_parent_links_in_async_generator_resumed_elsewhere() -> None:
    """The same holds for an isolated async generator consumed under another run."""
    rec = RecordingCallbacks()

    async def agen() -> AsyncIterator[int]:
        async with llm_run(model="m", streaming=True, callbacks=rec) as run:
            for i in range(3):
                await asyncio.sleep(0)
                async with tool_run(f"inner{i}", callbacks=rec):
                    pass
                await run.atoken(str(i))
                yield i

    async with agent_run(goal="a", callbacks=rec):
        g = aisolated(agen())
        await g.__anext__()
    async with agent_run(goal="b", callbacks=rec) as b:
        rest = [i async for i in g]
        async with tool_run("after", callbacks=rec):
            pass
    assert rest == [1, 2]
    llm_start = next(e for e in rec.events if e.type == "llm.start")
    inner = [e for e in rec.events if e.type == "tool.start" and e.tool_name.startswith("inner")]
    assert [e.parent_run_id for e in inner] == [llm_start.run_id] * 3
    after = next(e for e in rec.events if e.type == "tool.start" and e.tool_name == "after")
    assert after.parent_run_id == b.run_id


def test_isolated_generator_closed_early_ends_its_run() -> None:
    """Closing an isolated generator early ends its LLM run with incomplete=True."""
    rec = RecordingCallbacks()

    def gen() -> Iterator[str]:
        with llm_run(model="m", streaming=True, callbacks=rec) as run:
            for w in "abc":
                run.token(w)
                yield w

    g = isolated(gen())
    assert next(g) == "a"
    g.close()
    assert rec.types() == ["llm.start", "llm.token", "llm.end"] and rec.events[-1].incomplete
    assert llmhooks.current_run() is None


def test_nested_runs_share_the_trace() -> None:
    """A child run inherits the trace id; a top-level run starts a new one."""
    rec = RecordingCallbacks()
    with agent_run(callbacks=rec) as a, tool_run("t", callbacks=rec) as t:
        pass
    with agent_run(callbacks=rec) as b:
        pass
    assert t.parent_run_id == a.run_id and t.trace_id == a.trace_id
    assert a.parent_run_id is None and b.trace_id != a.trace_id
    assert llmhooks.current_run() is None


def test_suppress_instrumentation_silences_runs() -> None:
    """Inside suppress_instrumentation no run emits anything."""
    rec = RecordingCallbacks()
    set_global_callbacks([rec])
    with llmhooks.suppress_instrumentation(), llm_run(model="m", callbacks=rec):
        pass
    assert rec.events == []
