"""StreamingProgress: chunks and completion to sync or async callables, per streamed call."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from llmhooks import LLMEndEvent, StreamingProgress, llm_run

from .calls import allm_call, in_tasks, in_threads, llm_call


def test_chunks_then_complete_in_sync_code() -> None:
    """Each token goes to on_chunk as it arrives; on_complete runs once at the end."""
    chunks: list[str] = []
    done: list[int] = []
    progress = StreamingProgress(on_chunk=chunks.append, on_complete=lambda: done.append(1))
    llm_call(progress, tokens=["Once", " upon", " a time"])
    assert chunks == ["Once", " upon", " a time"]
    assert done == [1]


async def test_async_callables_are_awaited_in_async_code() -> None:
    """async def callbacks are awaited in order, between tokens."""
    log: list[str] = []

    async def on_chunk(chunk: str) -> None:
        await asyncio.sleep(0)
        log.append(chunk)

    async def on_complete() -> None:
        log.append("<done>")

    await allm_call(StreamingProgress(on_chunk=on_chunk, on_complete=on_complete), tokens=["a", "b"])
    assert log == ["a", "b", "<done>"]


def test_async_callables_also_run_from_sync_code() -> None:
    """An async on_chunk still runs when the stream is consumed in sync code."""
    log: list[str] = []

    async def on_chunk(chunk: str) -> None:
        log.append(chunk)

    llm_call(StreamingProgress(on_chunk=on_chunk), tokens=["x", "y"])
    assert log == ["x", "y"]


def test_callbacks_may_take_the_event() -> None:
    """on_chunk(chunk, event) and on_complete(event) receive the event too."""
    seen: list[Any] = []
    progress = StreamingProgress(
        on_chunk=lambda chunk, event: seen.append((chunk, event.index)),
        on_complete=lambda event: seen.append(event.response),
    )
    llm_call(progress, tokens=["a", "b"])
    assert seen == [("a", 0), ("b", 1), "ab"]


def test_complete_not_called_for_a_call_that_does_not_stream() -> None:
    """A non-streamed call does not trigger on_complete."""
    done: list[int] = []
    llm_call(StreamingProgress(on_complete=lambda: done.append(1)))
    assert done == []


def test_on_error_for_a_failed_stream() -> None:
    """A stream that fails calls on_error with the error, not on_complete."""
    errors: list[BaseException] = []
    done: list[int] = []
    progress = StreamingProgress(on_complete=lambda: done.append(1), on_error=errors.append)
    with (
        pytest.raises(ConnectionError),
        llm_run(provider="p", model="m", streaming=True, callbacks=progress) as run,
    ):
        run.token("partial")
        raise ConnectionError("dropped")
    assert [str(e) for e in errors] == ["dropped"]
    assert done == []
    assert progress.active_streams == 0


def test_stream_closed_early_still_completes() -> None:
    """A consumer that stops a stream (GeneratorExit) gets on_complete with the partial text."""
    texts: list[str] = []
    progress = StreamingProgress(on_complete=lambda event: texts.append(event.response))

    def stream() -> Any:
        with llm_run(provider="p", model="m", streaming=True, callbacks=progress) as run:
            for token in ["a", "b", "c"]:
                run.token(token)
                yield token

    gen = stream()
    next(gen)
    gen.close()
    assert texts == ["a"]


def test_bad_callbacks_raise_at_construction() -> None:
    """A non-callable, or one that cannot take the arguments, is refused with a TypeError."""
    with pytest.raises(TypeError, match="on_chunk must be callable"):
        StreamingProgress(on_chunk="print")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_complete must take"):
        StreamingProgress(on_complete=lambda a, b, c: None)


def test_builtin_print_works_as_in_seed_001(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's example: on_chunk prints inline, on_complete prints Done."""
    progress = StreamingProgress(
        on_chunk=lambda chunk: print(chunk, end="", flush=True),
        on_complete=lambda: print("\nDone!"),
    )
    llm_call(progress, tokens=["Hel", "lo"])
    assert capsys.readouterr().out == "Hello\nDone!\n"


def test_50_concurrent_streams_in_threads() -> None:
    """50 streams at once in threads: each gets its own chunks and one completion."""
    chunks: dict[str, list[str]] = {}
    completed: list[str] = []
    lock = threading.Lock()

    def on_chunk(chunk: str, event: Any) -> None:
        with lock:
            chunks.setdefault(event.run_id, []).append(chunk)

    def on_complete(event: LLMEndEvent) -> None:
        with lock:
            completed.append(event.run_id)

    progress = StreamingProgress(on_chunk=on_chunk, on_complete=on_complete)
    run_ids = in_threads(50, lambda i: llm_call(progress, tokens=[f"{i}-a", f"{i}-b"]))
    assert sorted(completed) == sorted(run_ids)  # type: ignore[type-var]
    assert all(len(chunks[r]) == 2 for r in run_ids)  # type: ignore[index]
    assert progress.active_streams == 0


async def test_50_concurrent_streams_in_tasks() -> None:
    """50 streams at once as tasks: each gets its own chunks and one completion."""
    chunks: dict[str, list[str]] = {}
    completed: list[str] = []

    async def on_chunk(chunk: str, event: Any) -> None:
        await asyncio.sleep(0)
        chunks.setdefault(event.run_id, []).append(chunk)

    progress = StreamingProgress(on_chunk=on_chunk, on_complete=lambda e: completed.append(e.run_id))
    run_ids = await in_tasks(50, lambda i: allm_call(progress, tokens=[str(i), "!"]))
    assert sorted(completed) == sorted(run_ids)  # type: ignore[type-var]
    assert all(chunks[r][1] == "!" for r in run_ids)  # type: ignore[index]
