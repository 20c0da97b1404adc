"""Seed 001's keyword-style handlers: its examples run as written, on the one dispatch path."""

from __future__ import annotations

import asyncio
import json
from time import time
from typing import Any

import pytest
from tests.seed_001 import examples

from llmhooks import (
    CallbackManager,
    MCPProgressEvent,
    agent_run,
    chain_run,
    llm_run,
    retrieval_run,
    set_global_callbacks,
    tool_run,
)
from llmhooks import KeywordCallbacks as Callbacks  # the seed's examples name the base "Callbacks"
from llmhooks.compat import KeywordResponse
from llmhooks.errors import InvalidHandlerError
from llmhooks.testing import RecordingCallbacks


async def _llm_call(prompt: str = "Hello", response: str = "Hi there", cost: float | None = 0.01) -> None:
    async with llm_run(provider="openai", model="gpt-4o", prompt=prompt) as run:
        await run.afinish(response=response, input_tokens=5, output_tokens=7, cost=cost)


# --- the seed's examples, verbatim apart from imports -------------------------------------


_seed = examples(Callbacks)
MyCallbacks = _seed.MyCallbacks
ContextAwareCallbacks = _seed.ContextAwareCallbacks
CostLimiter = _seed.CostLimiter
AuditCallback = _seed.AuditCallback
RateLimiter = _seed.RateLimiter
ProgressReporter = _seed.ProgressReporter


class _ExternalService:
    async def log(self, prompt: str) -> None:
        raise ConnectionError("log service down")


external_service = _ExternalService()


class SafeCallback(Callbacks):
    async def on_llm_start(self, prompt, **kwargs):
        try:
            # Do something that might fail
            await external_service.log(prompt)
        except Exception as e:
            # Don't let callback errors break the main flow
            print(f"Callback error: {e}")


# --- tests ----------------------------------------------------------------------------------


async def test_quick_start_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The quick start prints the prompt and ``response.token_count``."""
    set_global_callbacks([MyCallbacks()])
    await _llm_call("Hello")
    assert capsys.readouterr().out.splitlines() == [
        "Starting LLM call with prompt: Hello...",
        "LLM complete: 12 tokens",
    ]


async def test_quick_start_with_the_llm_facade(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's quick start as written: ``LLM(callbacks=[MyCallbacks()])`` then ``generate``."""
    LLM = pytest.importorskip("llmhooks.llm").LLM
    llm = LLM(provider="offline", callbacks=[MyCallbacks()])
    response = await llm.generate("Hello")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Starting LLM call with prompt: Hello..."
    assert out[1] == f"LLM complete: {response.usage.total_tokens} tokens"


async def test_context_example_gets_ids_cost_and_duration(capsys: pytest.CaptureFixture[str]) -> None:
    """Provider, model, request and trace ids, token count, cost and duration arrive as kwargs."""
    set_global_callbacks([ContextAwareCallbacks()])
    await _llm_call("What is 2+2?")
    first, second = capsys.readouterr().out.splitlines()
    assert first.endswith("] openai/gpt-4o: What is 2+2?...") and first.startswith("[")
    assert "ms, 12 tokens, $0.0100" in second


async def test_cost_limiter_stops_spending() -> None:
    """The limiter's plain exception reaches the caller once the budget is spent."""
    limiter = CostLimiter(max_cost=1.0)
    set_global_callbacks([limiter])
    await _llm_call(cost=0.6)
    with pytest.raises(Exception, match=r"Cost limit \$1.0 exceeded"):
        await _llm_call(cost=0.6)
    assert limiter.total_cost == pytest.approx(1.2)


async def test_cost_limiter_with_unknown_cost_counts_zero() -> None:
    """When no cost is known, ``kwargs["cost"]`` is 0.0 so arithmetic in handlers still works."""
    limiter = CostLimiter(max_cost=1.0)
    set_global_callbacks([limiter])
    async with llm_run(provider="acme", model="acme-in-no-price-table", prompt="Hello") as run:
        await run.afinish(response="Hi there", input_tokens=5, output_tokens=7)
    assert limiter.total_cost == 0.0


async def test_cost_of_a_call_with_tokens_and_no_tracker_is_priced() -> None:
    """No cost on the event, no CostTracker: ``kwargs["cost"]`` is the call priced from its tokens."""
    pytest.importorskip("genai_prices")
    from llmhooks import CostTracker

    tracker = CostTracker()
    limiter = CostLimiter(max_cost=1.0)
    set_global_callbacks([limiter])
    await _llm_call(cost=None)
    set_global_callbacks([tracker])
    await _llm_call(cost=None)
    assert limiter.total_cost == pytest.approx(tracker.total_cost) and limiter.total_cost > 0


async def test_audit_example_records_llm_and_tool_calls() -> None:
    """The audit handler records the prompt preview, user and tool arguments."""
    from llmhooks import run_context

    class AuditLog:
        def __init__(self) -> None:
            self.entries: list[dict[str, Any]] = []

        def record(self, entry: dict[str, Any]) -> None:
            self.entries.append(entry)

    log = AuditLog()
    set_global_callbacks([AuditCallback(log)])
    with run_context(user_id="u-42"):
        await _llm_call("Summarise this contract")
        async with tool_run("search", arguments={"q": "clause 7"}) as t:
            await t.afinish(result="found")
    llm_entry, tool_entry = log.entries
    assert llm_entry["user_id"] == "u-42" and llm_entry["prompt_preview"] == "Summarise this contract"
    assert (llm_entry["provider"], llm_entry["model"]) == ("openai", "gpt-4o")
    assert tool_entry["tool"] == "search" and tool_entry["args"] == {"q": "clause 7"}


async def test_rate_limiter_example_waits_when_at_limit() -> None:
    """At the limit, the limiter's ``asyncio.sleep`` delays the call before it is made."""
    limiter = RateLimiter(requests_per_minute=1)
    limiter.timestamps.append(time() - 59.9)  # the window frees up in about 0.1 s
    set_global_callbacks([limiter])
    t0 = time()
    await _llm_call()
    assert time() - t0 >= 0.05
    assert len(limiter.timestamps) == 2  # the seed's limiter does not drop the old one after waiting


async def test_progress_reporter_example() -> None:
    """Agent steps and the end reach the reporter, ``step.action`` included."""
    sent: list[str] = []
    set_global_callbacks([ProgressReporter(on_progress=lambda p: sent.append(json.dumps(p)))])
    async with agent_run(goal="book a flight") as agent:
        await agent.astep(action="search_flights", action_input={"to": "NYC"})
        await agent.astep(action="book")
        await agent.afinish(result="booked")
    assert [json.loads(s) for s in sent] == [
        {"step": 1, "action": "search_flights", "status": "in_progress"},
        {"step": 2, "action": "book", "status": "in_progress"},
        {"step": 2, "status": "complete", "result": "booked"},
    ]


async def test_safe_callback_example(capsys: pytest.CaptureFixture[str]) -> None:
    """A handler that catches its own errors, as the seed recommends, lets the call go on."""
    set_global_callbacks([SafeCallback()])
    await _llm_call()
    assert capsys.readouterr().out.strip() == "Callback error: log service down"


async def test_callbacks_are_called_in_order() -> None:
    """Several keyword handlers run in the order given (seed's "Callback Chaining")."""
    order: list[str] = []

    def make(name: str) -> Callbacks:
        class Named(Callbacks):
            async def on_llm_start(self, prompt, **kwargs):
                order.append(name)

        return Named()

    set_global_callbacks([make("logging"), make("cost"), make("audit")])
    await _llm_call()
    assert order == ["logging", "cost", "audit"]


async def test_every_method_receives_what_the_seed_shows() -> None:
    """All of FullCallbacks' methods get their positional arguments and the common kwargs."""
    calls: list[tuple[Any, ...]] = []

    class FullCallbacks(Callbacks):
        async def on_llm_start(self, prompt, **kwargs):
            calls.append(("llm_start", prompt))

        async def on_llm_end(self, response, **kwargs):
            calls.append(("llm_end", response, response.text))

        async def on_llm_error(self, error, **kwargs):
            calls.append(("llm_error", type(error).__name__))

        async def on_llm_stream_chunk(self, chunk, **kwargs):
            calls.append(("chunk", chunk, kwargs["index"]))

        async def on_agent_start(self, goal, **kwargs):
            calls.append(("agent_start", goal))

        async def on_agent_end(self, result, **kwargs):
            calls.append(("agent_end", result))

        async def on_agent_error(self, error, **kwargs):
            calls.append(("agent_error", str(error)))

        async def on_agent_step(self, step, **kwargs):
            calls.append(("agent_step", step.action))

        async def on_tool_start(self, tool_name, args, **kwargs):
            calls.append(("tool_start", tool_name, args))

        async def on_tool_end(self, tool_name, result, **kwargs):
            calls.append(("tool_end", tool_name, result))

        async def on_tool_error(self, tool_name, error, **kwargs):
            calls.append(("tool_error", tool_name, str(error)))

        async def on_chain_start(self, chain_name, **kwargs):
            calls.append(("chain_start", chain_name, kwargs["inputs"]))

        async def on_chain_end(self, result, **kwargs):
            calls.append(("chain_end", result))

        async def on_retrieval_start(self, query, **kwargs):
            calls.append(("retrieval_start", query))

        async def on_retrieval_end(self, documents, **kwargs):
            calls.append(("retrieval_end", documents))

    set_global_callbacks([FullCallbacks()])
    async with llm_run(model="m", messages=[{"role": "user", "content": "hi"}], streaming=True) as run:
        await run.atoken("He")
        await run.atoken("y")
        await run.afinish()
    with pytest.raises(TimeoutError):
        async with llm_run(model="m", prompt="p"):
            raise TimeoutError("slow")
    async with agent_run(goal="g") as agent:
        await agent.astep(action="act")
        async with tool_run("calc", arguments={"x": 1}) as t:
            await t.afinish(result=2)
        with pytest.raises(ValueError):
            async with tool_run("bad"):
                raise ValueError("tool broke")
        await agent.afinish(result="r")
    with pytest.raises(RuntimeError):
        async with agent_run(goal="g2"):
            raise RuntimeError("agent broke")
    async with chain_run("qa", inputs={"q": 1}) as chain:
        await chain.afinish(result="answer")
    async with retrieval_run(query="cats") as r:
        await r.afinish(documents=["d1"])
    assert calls == [
        ("llm_start", "hi"),
        ("chunk", "He", 0),
        ("chunk", "y", 1),
        ("llm_end", "Hey", "Hey"),
        ("llm_start", "p"),
        ("llm_error", "TimeoutError"),
        ("agent_start", "g"),
        ("agent_step", "act"),
        ("tool_start", "calc", {"x": 1}),
        ("tool_end", "calc", 2),
        ("tool_start", "bad", None),
        ("tool_error", "bad", "tool broke"),
        ("agent_end", "r"),
        ("agent_start", "g2"),
        ("agent_error", "agent broke"),
        ("chain_start", "qa", {"q": 1}),
        ("chain_end", "answer"),
        ("retrieval_start", "cats"),
        ("retrieval_end", ["d1"]),
    ]


def test_sync_code_and_sync_methods_work_too() -> None:
    """``def`` keyword methods, and ``async def`` ones reached from sync code, are both served."""
    got: list[Any] = []

    class Mixed(Callbacks):
        def on_llm_start(self, prompt, **kwargs):
            got.append(("sync", prompt))

        async def on_llm_end(self, response, **kwargs):
            await asyncio.sleep(0)
            got.append(("async", str(response)))

    with llm_run(model="m", prompt="p", callbacks=Mixed()) as run:
        run.finish(response="r")
    assert got == [("sync", "p"), ("async", "r")]


def test_response_object_is_a_string_with_figures() -> None:
    """``response`` is the text and carries token counts, cost and model."""
    seen: list[KeywordResponse] = []

    class Keep(Callbacks):
        def on_llm_end(self, response, **kwargs):
            seen.append(response)

    with llm_run(provider="p", model="m", callbacks=Keep()) as run:
        run.finish(response="hello", input_tokens=3, output_tokens=4, cost=0.5, finish_reason="stop")
    r = seen[0]
    assert r == "hello" and r[:4] == "hell" and r.content == r.text == "hello"
    assert (r.token_count, r.prompt_tokens, r.completion_tokens, r.cost) == (7, 3, 4, 0.5)
    assert (r.model, r.provider, r.finish_reason) == ("m", "p", "stop")


def test_methods_without_kwargs_get_only_what_they_name() -> None:
    """A method that takes no ``**kwargs`` is still called, with just the keywords it names."""
    got: list[Any] = []

    class Narrow(Callbacks):
        def on_llm_start(self, prompt, model=None):
            got.append((prompt, model))

    with llm_run(model="m", prompt="p", callbacks=Narrow()) as run:
        run.finish(response="r")
    assert got == [("p", "m")]


def test_event_methods_mix_with_keyword_methods() -> None:
    """Events with no keyword form still reach plain event methods of the same class."""
    got: list[Any] = []

    class Mixed(Callbacks):
        def on_llm_start(self, prompt, **kwargs):
            got.append(prompt)

        def on_mcp_progress(self, event: MCPProgressEvent) -> None:
            got.append(event.progress)

    manager = CallbackManager([Mixed()])
    with llm_run(model="m", prompt="p", callbacks=manager) as run:
        run.finish(response="r")
    manager.emit(MCPProgressEvent(server_name="s", progress=0.5))
    assert got == ["p", 0.5]


async def test_direct_calls_run_the_method_as_written() -> None:
    """Calling a keyword method yourself with its own arguments runs it unchanged."""
    got: list[Any] = []

    class Direct(Callbacks):
        async def on_tool_start(self, tool_name, args, **kwargs):
            got.append((tool_name, args, kwargs))

    await Direct().on_tool_start("t", {"a": 1}, extra=True)
    assert got == [("t", {"a": 1}, {"extra": True})]


def test_misspelt_or_malformed_methods_fail_at_class_definition() -> None:
    """A misspelt method name or a method that cannot take its call is refused at once."""
    with pytest.raises(InvalidHandlerError, match="did you mean 'on_llm_start'"):

        class Typo(Callbacks):
            async def on_llm_strat(self, prompt, **kwargs):
                pass

    with pytest.raises(InvalidHandlerError, match=r"on_tool_start\(self, tool_name, args, \*\*kwargs\)"):

        class TooFew(Callbacks):
            async def on_tool_start(self, tool_name):
                pass

    with pytest.raises(InvalidHandlerError, match="keep one"):

        class Both(Callbacks):
            def on_llm_stream_chunk(self, chunk, **kwargs):
                pass

            def on_llm_token(self, event):
                pass


async def test_one_instance_serves_concurrent_calls() -> None:
    """One handler instance used by twenty concurrent calls pairs every start with its own end."""
    starts: dict[str, str] = {}
    ends: dict[str, str] = {}

    class Pairing(Callbacks):
        async def on_llm_start(self, prompt, **kwargs):
            await asyncio.sleep(0)
            starts[kwargs["run_id"]] = prompt

        async def on_llm_end(self, response, **kwargs):
            ends[kwargs["run_id"]] = str(response)

    set_global_callbacks([Pairing()])

    async def call(i: int) -> None:
        async with llm_run(model="m", prompt=f"q{i}") as run:
            await asyncio.sleep(0.001 * (i % 3))
            await run.afinish(response=f"a{i}")

    await asyncio.gather(*(call(i) for i in range(20)))
    assert len(starts) == len(ends) == 20
    assert all(ends[rid] == "a" + starts[rid][1:] for rid in starts)


def test_errors_can_be_isolated_per_class() -> None:
    """``raise_errors = False`` on a keyword handler isolates its failures like any handler."""

    seen: list[str] = []

    class Quiet(Callbacks):
        raise_errors = False

        def on_llm_end(self, response, **kwargs):
            seen.append(str(response))
            raise RuntimeError("ignored")

    after = RecordingCallbacks()
    with llm_run(model="m", callbacks=[Quiet(), after]) as run:
        run.finish(response="r")
    assert seen == ["r"]
    assert after.types() == ["llm.start", "llm.end"]


# --- the keyword style on the plain ``llmhooks.Callbacks`` base, as seed 001 writes it ----------

from llmhooks import Callbacks as PlainCallbacks  # noqa: E402
from llmhooks import LLMEndEvent, LLMStartEvent, callbacks_context  # noqa: E402
from llmhooks.compat import CustomAsyncCallbackHandler  # noqa: E402


def test_plain_callbacks_keyword_methods_are_recognised_wherever_registered() -> None:
    """Globals, scopes, callbacks= and a CallbackManager: each serves the keyword call."""
    got: list[str] = []

    class Seed(PlainCallbacks):
        def on_llm_start(self, prompt, **kwargs):
            got.append(f"{prompt}@{kwargs['model']}")

    set_global_callbacks([Seed()])
    with llm_run(model="g", prompt="global") as run:
        run.finish(response="r")
    set_global_callbacks([])
    with callbacks_context([Seed()]), llm_run(model="s", prompt="scoped") as run:
        run.finish(response="r")
    with llm_run(model="c", prompt="passed", callbacks=[Seed()]) as run:
        run.finish(response="r")
    CallbackManager([Seed()]).emit(LLMStartEvent(model="e", prompt="emitted"))
    assert got == ["global@g", "scoped@s", "passed@c", "emitted@e"]


def test_plain_callbacks_keyword_handler_stops_the_call_by_raising() -> None:
    """As on KeywordCallbacks, its exception reaches the caller (unless it sets raise_errors)."""

    class Stop(PlainCallbacks):
        def on_llm_start(self, prompt, **kwargs):
            raise RuntimeError(f"refused: {prompt}")

    class Quiet(Stop):
        raise_errors = False

    stop = Stop()
    with pytest.raises(RuntimeError, match="refused: hi"), llm_run(model="m", prompt="hi", callbacks=[stop]):
        pass
    with llm_run(model="m", prompt="hi", callbacks=[Quiet()]) as run:  # isolated and logged
        run.finish(response="r")


def test_event_style_methods_are_left_as_written() -> None:
    """(self, event), an annotated event parameter, and event methods next to keyword ones."""
    got: list[Any] = []

    class Events(PlainCallbacks):
        def on_llm_start(self, event):
            got.append(type(event).__name__)

        def on_llm_end(self, ev: LLMEndEvent, **kwargs: Any) -> None:
            got.append(type(ev).__name__)

    class Mixed(PlainCallbacks):
        def on_llm_start(self, prompt, **kwargs):
            got.append(prompt)

        def on_llm_end(self, event):
            got.append(event.response)

    for handler in (Events(), Mixed()):
        with llm_run(model="m", prompt="p", callbacks=[handler]) as run:
            run.finish(response="r")
    assert got == ["LLMStartEvent", "LLMEndEvent", "p", "r"]
    assert not Events.raise_errors and Mixed.raise_errors


def test_a_shared_base_is_adopted_once_for_all_its_subclasses() -> None:
    """Two subclasses of one keyword-style base both work, in either registration order."""
    got: list[str] = []

    class Base(PlainCallbacks):
        async def on_llm_stream_chunk(self, chunk, **kwargs):
            got.append(chunk)

    class A(Base):
        pass

    class B(Base):
        def on_llm_start(self, prompt, **kwargs):
            got.append(f"start {prompt}")

    for handler in (A(), B(), Base()):
        with llm_run(model="m", prompt="p", streaming=True, callbacks=[handler]) as run:
            run.token("x")
            run.finish()
    assert got == ["x", "start p", "x", "x"]


def test_a_method_that_fits_neither_style_fails_at_registration_naming_both_fixes() -> None:
    """``on_tool_start(self, tool_name)`` takes neither the event nor seed 001's call."""

    class Broken(PlainCallbacks):
        def on_tool_start(self, tool_name):
            pass

    with pytest.raises(InvalidHandlerError) as info:
        CallbackManager([Broken()])
    message = str(info.value)
    assert "write it as (self, event)" in message
    assert "on_tool_start(self, tool_name, args, **kwargs)" in message

    class Typo(PlainCallbacks):
        def on_llm_stream_chunks(self, chunk, **kwargs):
            pass

    with pytest.raises(InvalidHandlerError, match="did you mean 'on_llm_stream_chunk'"):
        CallbackManager([Typo()])


def test_other_styles_are_not_adopted_again() -> None:
    """Seed 002's dict-style handlers keep their own translation when registered."""
    got: list[Any] = []

    class Dict(CustomAsyncCallbackHandler):
        async def on_llm_start(self, messages, **kwargs):
            got.append(messages)

        async def on_llm_end(self, response, **kwargs):
            got.append(response["content"])

        async def on_llm_error(self, error, **kwargs):
            pass

    with llm_run(model="m", prompt="p", callbacks=[Dict()]) as run:
        run.finish(response="r")
    assert got == [[{"role": "user", "content": "p"}], "r"]


def test_keyword_methods_of_a_mixin_are_recognised_too() -> None:
    """A mixin that is not itself a Callbacks, holding seed 001 methods: served, not failing quietly."""
    got: list[str] = []

    class AuditMixin:
        def on_llm_start(self, prompt, **kwargs):
            got.append(prompt)

    class Handler(AuditMixin, PlainCallbacks):
        pass

    with llm_run(model="m", prompt="from a mixin", callbacks=[Handler()]) as run:
        run.finish(response="r")
    assert got == ["from a mixin"]
