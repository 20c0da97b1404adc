"""Runs: start and exactly one terminal event, whatever happens."""

from __future__ import annotations

import asyncio
import inspect
import random
import threading

import pytest

import llmhooks
from llmhooks import (
    BudgetExceeded,
    Callbacks,
    LLMEndEvent,
    LLMErrorEvent,
    LLMStartEvent,
    LLMTokenEvent,
    agent_run,
    chain_run,
    llm_run,
    node_run,
    retrieval_run,
    tool_run,
)
from llmhooks.core.runs import LLMRun
from llmhooks.testing import RecordingCallbacks


def test_llm_run_stream_gives_start_tokens_end() -> None:
    """Tokens are indexed from 0, the first carries TTFT, the end carries text and totals."""
    rec = RecordingCallbacks()
    with llm_run(
        provider="openai",
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        streaming=True,
        callbacks=rec,
    ) as run:
        for t in ["Hel", "lo", "!"]:
            run.token(t)
        run.finish(input_tokens=5, output_tokens=3)
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.token", "llm.end"]
    tokens = rec.of_type(LLMTokenEvent)
    assert [t.index for t in tokens] == [0, 1, 2]
    assert [t.is_first for t in tokens] == [True, False, False]
    assert tokens[0].time_to_first_token_ms is not None and tokens[1].time_to_first_token_ms is None
    end = rec.of_type(LLMEndEvent)[0]
    assert end.response == "Hello!" and end.total_tokens == 8
    assert end.time_to_first_token_ms == tokens[0].time_to_first_token_ms
    assert end.latency_ms is not None and end.latency_ms >= end.time_to_first_token_ms
    assert {e.run_id for e in rec.events} == {run.run_id}
    assert all(e.provider == "openai" and e.model == "gpt-4o" for e in rec.events)


def test_exception_gives_error_event_with_latency_and_is_reraised() -> None:
    """An exception in the block gives one error event and reaches the caller unchanged."""
    rec = RecordingCallbacks()
    err = ConnectionError("reset")
    with pytest.raises(ConnectionError) as info, llm_run(model="m", callbacks=rec):
        raise err
    assert info.value is err
    assert rec.types() == ["llm.start", "llm.error"]
    ev = rec.of_type(LLMErrorEvent)[0]
    assert ev.error is err and ev.error_type == "ConnectionError"
    assert ev.is_recoverable and not ev.cancelled and ev.latency_ms is not None


def test_http_status_sets_error_code_and_recoverability() -> None:
    """An exception carrying status_code 429 is recoverable with that code; 400 is not."""

    class APIError(Exception):
        def __init__(self, status_code: int) -> None:
            super().__init__(f"status {status_code}")
            self.status_code = status_code

    rec = RecordingCallbacks()
    for status in (429, 503, 400):
        with pytest.raises(APIError), llm_run(model="m", callbacks=rec):
            raise APIError(status)
    errors = rec.of_type(LLMErrorEvent)
    assert [(e.error_code, e.is_recoverable) for e in errors] == [
        ("429", True),
        ("503", True),
        ("400", False),
    ]


async def test_cancellation_gives_error_event_with_cancelled() -> None:
    """A cancelled task's run ends with an error event marked cancelled."""
    rec = RecordingCallbacks()
    entered = asyncio.Event()

    async def call() -> None:
        async with llm_run(model="m", callbacks=rec):
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(call())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rec.types() == ["llm.start", "llm.error"]
    assert rec.events[-1].cancelled is True


def test_run_never_finished_still_gets_an_end_event() -> None:
    """Leaving the block without finish() emits the end event with what is known."""
    rec = RecordingCallbacks()
    with llm_run(model="m", callbacks=rec) as run:
        run.token("partial")
    assert rec.types() == ["llm.start", "llm.token", "llm.end"]
    assert rec.events[-1].response == "partial"


def test_finish_twice_is_refused() -> None:
    """A second terminal call raises; still exactly one terminal event."""
    rec = RecordingCallbacks()
    with pytest.raises(RuntimeError, match="already emitted"), llm_run(model="m", callbacks=rec) as run:
        run.finish(response="a")
        run.finish(response="b")
    assert rec.types() == ["llm.start", "llm.end"]


def test_abort_in_start_handler_stops_the_call_and_closes_the_run() -> None:
    """A handler raising BudgetExceeded on start: the body never runs; the run still terminates."""

    class Budget(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise BudgetExceeded("no money")

    rec = RecordingCallbacks()
    body_ran = False
    with pytest.raises(BudgetExceeded), llm_run(model="m", callbacks=[rec, Budget()]):
        body_ran = True
    assert not body_ran
    assert rec.types() == ["llm.start", "llm.error"]
    assert rec.events[-1].error_type == "BudgetExceeded" and not rec.events[-1].cancelled


def test_generator_closed_early_gives_incomplete_end() -> None:
    """A stream generator closed by its consumer ends the run with incomplete=True."""
    rec = RecordingCallbacks()

    def stream() -> object:
        with llm_run(model="m", streaming=True, callbacks=rec) as run:
            for word in ["a", "b", "c", "d"]:
                run.token(word)
                yield word

    gen = stream()
    assert next(gen) == "a" and next(gen) == "b"
    gen.close()  # type: ignore[attr-defined]
    assert rec.types() == ["llm.start", "llm.token", "llm.token", "llm.end"]
    end = rec.events[-1]
    assert end.incomplete is True and end.response == "ab"


@pytest.mark.parametrize(
    ("factory", "types"),
    [
        (
            lambda cb: tool_run("search", arguments={"q": 1}, tool_call_id="c1", callbacks=cb),
            ("tool.start", "tool.end", "tool.error"),
        ),
        (lambda cb: agent_run(goal="g", callbacks=cb), ("agent.start", "agent.end", "agent.error")),
        (
            lambda cb: node_run("n1", step=1, callbacks=cb),
            ("graph.node_start", "graph.node_end", "graph.node_error"),
        ),
        (lambda cb: chain_run("c", inputs={}, callbacks=cb), ("chain.start", "chain.end", "chain.error")),
        (
            lambda cb: retrieval_run(query="q", callbacks=cb),
            ("retrieval.start", "retrieval.end", "retrieval.error"),
        ),
    ],
)
def test_every_run_kind_has_start_end_and_error(factory: object, types: tuple[str, str, str]) -> None:
    """Each run factory gives start/end, and start/error on an exception."""
    rec = RecordingCallbacks()
    with factory(rec):  # type: ignore[operator]
        pass
    with pytest.raises(ValueError), factory(rec):  # type: ignore[operator]
        raise ValueError("x")
    assert rec.types() == [types[0], types[1], types[0], types[2]]


def test_tool_run_carries_its_identity_on_every_event() -> None:
    """tool_name, tool_call_id and server_name are on start and end."""
    rec = RecordingCallbacks()
    with tool_run("add", arguments={"a": 1}, tool_call_id="call_1", server_name="math", callbacks=rec) as run:
        run.finish(result=3)
    start, end = rec.events
    assert (start.tool_name, start.tool_call_id, start.server_name, start.arguments) == (
        "add",
        "call_1",
        "math",
        {"a": 1},
    )
    assert (end.tool_name, end.tool_call_id, end.result, end.success) == ("add", "call_1", 3, True)


def test_agent_steps_are_numbered() -> None:
    """run.step() numbers steps from 1 and the end event counts them."""
    rec = RecordingCallbacks()
    with agent_run(goal="g", callbacks=rec) as run:
        run.step(action="search")
        run.step(action="answer")
        run.finish(result="done")
    steps = rec.of_type(llmhooks.AgentStepEvent)
    assert [(s.step, s.action) for s in steps] == [(1, "search"), (2, "answer")]
    assert rec.events[-1].steps == 2


def test_no_handler_run_is_a_noop_that_keeps_the_tree() -> None:
    """With nobody listening the run records nothing, yet a child with handlers gets it as parent."""
    rec = RecordingCallbacks()
    with agent_run(goal="g") as outer:
        assert not outer.is_recording
        outer.step(action="x")
        outer.finish(result="r")
        with tool_run("t", callbacks=rec):
            pass
    start = rec.events[0]
    assert start.parent_run_id == outer.run_id and start.trace_id == outer.trace_id


async def test_async_with_awaits_async_handlers() -> None:
    """async with + atoken/afinish await async handlers in order."""
    seen: list[str] = []

    class A(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            await asyncio.sleep(0)
            seen.append("start")

        async def on_llm_token_async(self, event: LLMTokenEvent) -> None:
            seen.append("token:" + event.token)

        async def on_llm_end(self, event: LLMEndEvent) -> None:
            await asyncio.sleep(0)
            seen.append("end")

    async with llm_run(model="m", callbacks=A()) as run:
        assert seen == ["start"]
        await run.atoken("x")
        await run.afinish(response="x")
    assert seen == ["start", "token:x", "end"]


def test_run_context_adds_user_tags_metadata() -> None:
    """Every event inside run_context carries its user_id, tags and metadata; nesting merges."""
    rec = RecordingCallbacks()
    with (
        llmhooks.run_context(user_id="u1", tags=["a"], metadata={"team": "x"}),
        llmhooks.run_context(tags=["b"], metadata={"env": "test"}),
        llm_run(model="m", tags=["own"], metadata={"k": 1}, callbacks=rec) as run,
    ):
        run.token("t")
    for ev in rec.events:
        assert ev.user_id == "u1"
        assert ev.tags == ["a", "b", "own"]
        assert ev.metadata == {"team": "x", "env": "test", "k": 1}


def test_thousand_runs_with_random_raising_hanging_sleeping_handlers() -> None:
    """No call breaks and every start gets exactly one terminal event, in threads and tasks."""
    rng = random.Random(7)

    class Chaos(Callbacks):
        timeout = 0.01

        def on_event(self, event: object) -> None:
            r = rng.random()
            if r < 0.2:
                raise RuntimeError("chaos")
            if r < 0.25:
                threading.Event().wait(0.001)

        async def on_llm_token_async(self, event: LLMTokenEvent) -> None:
            r = rng.random()
            if r < 0.2:
                raise RuntimeError("chaos")
            if r < 0.3:
                await asyncio.sleep(1)  # hangs past the timeout

    rec = RecordingCallbacks()
    handlers = [Chaos(), rec, Chaos()]

    def sync_call(i: int) -> None:
        with llm_run(model="m", callbacks=handlers) as run:
            run.token("a")
            if i % 7 == 0:
                raise ValueError("producer failed")
            run.finish(response="a")

    failures = 0

    def worker(ids: range) -> None:
        nonlocal failures
        for i in ids:
            try:
                sync_call(i)
            except ValueError:
                failures += 1

    threads = [threading.Thread(target=worker, args=(range(k, 600, 4),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def async_call(i: int) -> None:
        async with llm_run(model="m", callbacks=handlers) as run:
            await run.atoken("a")
            await run.afinish(response="a")

    async def many() -> None:
        await asyncio.gather(*(async_call(i) for i in range(400)))

    asyncio.run(many())
    assert failures == len([i for i in range(600) if i % 7 == 0])
    rec.assert_terminated()
    starts = rec.of_type(LLMStartEvent)
    assert len(starts) == 1000
    assert len(rec.of_type(LLMEndEvent)) + len(rec.of_type(LLMErrorEvent)) == 1000


def test_failing_error_handler_does_not_loop() -> None:
    """A handler that raises inside on_llm_error is isolated: one error event, no more."""

    class BadOnError(Callbacks):
        def __init__(self) -> None:
            self.calls = 0

        def on_llm_error(self, event: LLMErrorEvent) -> None:
            self.calls += 1
            raise RuntimeError("error handler broke")

    bad, rec = BadOnError(), RecordingCallbacks()
    with pytest.raises(ValueError), llm_run(model="m", callbacks=[bad, rec]):
        raise ValueError("call failed")
    assert bad.calls == 1
    assert rec.types() == ["llm.start", "llm.error"]


async def test_async_handler_failure_scheduled_from_sync_code_is_counted() -> None:
    """An async-only handler scheduled from sync code inside a loop: its failure is counted."""

    class AsyncBad(Callbacks):
        async def on_llm_start(self, event: LLMStartEvent) -> None:
            raise RuntimeError("late failure")

    mgr = llmhooks.CallbackManager([AsyncBad()])
    with llm_run(model="m", callbacks=mgr):
        pass
    for _ in range(5):
        await asyncio.sleep(0)
    assert mgr.stats()["AsyncBad"]["failures"] == 1


def test_token_fast_path_sets_every_field_of_the_token_event() -> None:
    """The field-by-field token builder covers exactly LLMTokenEvent's fields."""
    import dataclasses

    from llmhooks.core.runs import TOKEN_EVENT_FIELDS

    assert set(TOKEN_EVENT_FIELDS) == {f.name for f in dataclasses.fields(LLMTokenEvent)}
    rec = RecordingCallbacks()
    with llmhooks.run_context(user_id="u"), llm_run(provider="p", model="m", callbacks=rec) as run:
        run.token("a")
    token = rec.of_type(LLMTokenEvent)[0]
    rebuilt = LLMTokenEvent(**{f: getattr(token, f) for f in TOKEN_EVENT_FIELDS})
    assert token == rebuilt and token.user_id == "u" and token.provider == "p"


def test_finish_that_fails_to_build_still_closes_the_run() -> None:
    """A finish() with a bad field raises to the producer, and the run still gets its error event."""
    rec = RecordingCallbacks()
    with pytest.raises(TypeError), llm_run(model="m", callbacks=rec) as run:
        run.finish(response="x", no_such_field=1)
    assert rec.types() == ["llm.start", "llm.error"]
    assert rec.events[-1].error_type == "TypeError"


def test_finish_may_correct_the_model_name() -> None:
    """A producer can report the model the provider resolved on the end event."""
    rec = RecordingCallbacks()
    with llm_run(provider="openai", model="gpt-4o", callbacks=rec) as run:
        run.finish(response="x", model="gpt-4o-2024-08-06")
    assert rec.of_type(LLMEndEvent)[0].model == "gpt-4o-2024-08-06"


def test_broken_redaction_rule_neither_breaks_the_call_nor_leaks() -> None:
    """A user redact function that raises hides the value; the call and its events go on."""
    from llmhooks.core.redaction import configure_redaction

    def broken(text: str) -> str:
        raise RuntimeError("rule bug")

    configure_redaction(redact=broken)
    rec = RecordingCallbacks()
    with llm_run(model="m", messages=[{"role": "user", "content": "my secret plan"}], callbacks=rec) as run:
        run.finish(response="ok")
    assert rec.types() == ["llm.start", "llm.end"]
    assert "my secret plan" not in str(rec.events[0].messages)
    assert llmhooks.current_run() is None


def test_noop_run_keeps_explicit_ids_for_its_children() -> None:
    """Ids given to a run nobody listens to are the ones its recorded children point to."""
    rec = RecordingCallbacks()
    trace = "ab" * 16
    with agent_run(run_id="a" * 16, trace_id=trace), tool_run("t", callbacks=rec):
        pass
    assert rec.events[0].parent_run_id == "a" * 16 and rec.events[0].trace_id == trace


def test_tool_error_repeats_arguments_and_node_events_carry_type_and_step() -> None:
    """Seed 000's fields: a tool error names its arguments; node end and error name type and step."""
    rec = RecordingCallbacks()
    with pytest.raises(KeyError), tool_run("lookup", arguments={"q": "x"}, callbacks=rec):
        raise KeyError("q")
    assert rec.events[-1].arguments == {"q": "x"}
    with node_run("plan", node_type="llm", step=3, callbacks=rec) as run:
        run.finish(outputs={"ok": True})
    with pytest.raises(ValueError), node_run("act", node_type="tool", step=4, callbacks=rec):
        raise ValueError("boom")
    end, error = rec.events[-3], rec.events[-1]
    assert (end.type, end.node_type, end.step) == ("graph.node_end", "llm", 3)
    assert (error.type, error.node_type, error.step) == ("graph.node_error", "tool", 4)


def test_token_and_step_after_the_terminal_event_are_refused() -> None:
    """A finished run takes no more tokens or steps: they would follow its terminal event."""
    rec = RecordingCallbacks()
    with llm_run(model="m", streaming=True, callbacks=rec) as run:
        run.token("a")
        run.finish()
        with pytest.raises(RuntimeError, match="already emitted its terminal event"):
            run.token("b")
    with agent_run(agent_name="a", callbacks=rec) as agent:
        agent.step(action="look")
        agent.finish(result="done")
        with pytest.raises(RuntimeError, match="already emitted its terminal event"):
            agent.step(action="again")
    assert rec.types() == ["llm.start", "llm.token", "llm.end", "agent.start", "agent.step", "agent.end"]


def test_a_none_token_is_skipped_and_the_run_still_ends() -> None:
    """SDK streams send empty deltas as None: no token event, no failure at block exit."""
    rec = RecordingCallbacks()
    with llm_run(model="m", streaming=True, callbacks=rec) as run:
        run.token(None)
        run.token("hi")
        run.token(None)
    assert rec.types() == ["llm.start", "llm.token", "llm.end"]
    token = rec.of_type(LLMTokenEvent)[0]
    assert (token.token, token.index, token.is_first) == ("hi", 0, True)
    assert rec.of_type(LLMEndEvent)[0].response == "hi"


@pytest.mark.parametrize("callbacks", ["listening", "nobody"])
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tags": [1, 2]}, r"tags must hold strings only, got 1 in \[1, 2\]"),
        ({"tags": {"a": 1}}, r"tags must be a string or a list of strings, got \{'a': 1\} \(dict\)"),
        ({"metadata": 123}, "metadata must be a dict with string keys, got 123"),
        ({"metadata": {1: "x"}}, r"metadata keys must be strings, got 1 in \{1: 'x'\}"),
    ],
)
def test_bad_tags_or_metadata_are_refused_when_the_run_is_made(
    callbacks: str, kwargs: dict[str, object], message: str
) -> None:
    """Refused whether or not a handler listens: a mistake must not wait for one to show."""
    cb = RecordingCallbacks() if callbacks == "listening" else None
    for factory in (
        lambda: llm_run(model="m", callbacks=cb, **kwargs),
        lambda: tool_run("t", callbacks=cb, **kwargs),
    ):  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=message):
            factory()


class _Index:
    """An integer of another library (numpy's int64 behaves so)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def test_finish_takes_integers_and_numbers_of_other_libraries() -> None:
    """Token counts of any integer kind and costs of any number kind, stored as int and float."""
    from decimal import Decimal

    rec = RecordingCallbacks()
    with llm_run(model="m", callbacks=rec) as run:
        run.finish(input_tokens=_Index(12), output_tokens=_Index(30), cost=Decimal("0.25"))  # type: ignore[arg-type]
    end = rec.of_type(LLMEndEvent)[0]
    assert (end.input_tokens, end.output_tokens, end.total_tokens, end.cost) == (12, 30, 42, 0.25)
    assert type(end.input_tokens) is int and type(end.cost) is float


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"input_tokens": "12", "output_tokens": 3},
            "input_tokens must be an int token count or None, got str: '12'",
        ),
        ({"output_tokens": 1.5}, "output_tokens must be an int token count or None, got float: 1.5"),
        ({"reasoning_tokens": True}, "reasoning_tokens must be an int token count or None, got bool: True"),
        ({"cost": "0.1"}, "cost must be a number or None, got str: '0.1'"),
    ],
)
def test_finish_refuses_what_is_not_a_count_and_the_run_still_ends(
    fields: dict[str, object], message: str
) -> None:
    """A clear error naming the field; the run is not left open (its error event is emitted)."""
    rec = RecordingCallbacks()
    with pytest.raises(TypeError, match=message), llm_run(model="m", callbacks=rec) as run:
        run.finish(**fields)  # type: ignore[arg-type]
    assert rec.types() == ["llm.start", "llm.error"]
    assert rec.of_type(LLMErrorEvent)[0].error_type == "TypeError"


def test_a_hand_built_error_event_is_classified_like_a_runs() -> None:
    """LLMErrorEvent(error=exc) says whether the failure is worth a retry, as runs do."""
    assert LLMErrorEvent(error=TimeoutError("slow")).is_recoverable is True
    assert LLMErrorEvent(error=ValueError("bad")).is_recoverable is False
    given = LLMErrorEvent(error=TimeoutError("slow"), error_code="mine", is_recoverable=False)
    assert (given.error_code, given.is_recoverable) == ("mine", False)


def test_llm_run_finish_and_afinish_take_the_same_fields() -> None:
    """``afinish`` is ``finish`` for async code: the same keywords, the same defaults."""
    assert inspect.signature(LLMRun.afinish) == inspect.signature(LLMRun.finish)
