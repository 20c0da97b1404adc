"""One LLM span per call when another OpenTelemetry instrumentation also traces the call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra")

from tests.handlers.otel_support import Otel
from tests.llm._wire import FastWireServer

from llmhooks import LLM, agent_run, instrument_openai, llm_run, tool_run
from llmhooks.handlers.otel import conventions as C


@pytest.fixture
def wire() -> Iterator[FastWireServer]:
    with FastWireServer() as server:
        yield server


@pytest.fixture
def openai_instrumentor() -> Iterator[object]:
    """The official OpenAI instrumentation, active for the test (it patches the SDK's classes)."""
    pytest.importorskip("opentelemetry.instrumentation.openai_v2", reason="needs the OpenAI instrumentation")
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    yield OpenAIInstrumentor()
    OpenAIInstrumentor().uninstrument()


def llm_spans(otel: Otel) -> list[str]:
    return [s.name for s in otel.spans() if (s.attributes or {}).get(C.OPERATION_NAME) == "chat"]


def test_with_the_openai_instrumentation_active_each_call_has_one_llm_span(
    wire: FastWireServer, openai_instrumentor: object
) -> None:
    """Facade and ``instrument_openai`` calls: the instrumentation's span, under our agent span."""
    import openai

    otel = Otel()
    try:
        openai_instrumentor.instrument(  # type: ignore[attr-defined]
            tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider
        )
        wire.reply("hello", times=2)
        url, cb = wire.openai_base_url, otel.callbacks
        llm = LLM(provider="openai", model="gpt-x", base_url=url, api_key="k", callbacks=cb)
        client = instrument_openai(openai.OpenAI(base_url=url, api_key="k"), callbacks=cb)
        with agent_run(agent_name="a", callbacks=cb):
            llm.chat("hi")
            client.chat.completions.create(model="gpt-y", messages=[{"role": "user", "content": "x"}])
        assert otel.tree() == [(0, "invoke_agent a"), (1, "chat gpt-x"), (1, "chat gpt-y")]
        assert llm_spans(otel) == ["chat gpt-x", "chat gpt-y"]
        durations = [dict(p.attributes) for p in otel.points(C.METRIC_OPERATION_DURATION)]
        assert sorted(d[C.OPERATION_NAME] for d in durations) == ["chat", "chat", "invoke_agent"]
        assert otel.callbacks.open_spans == 0
    finally:
        otel.close()


def test_llm_spans_always_keeps_ours_next_to_the_instrumentations(
    wire: FastWireServer, openai_instrumentor: object
) -> None:
    """``llm_spans="always"``: our span too (theirs nests under it), for who wants both."""
    otel = Otel(llm_spans="always")
    try:
        openai_instrumentor.instrument(tracer_provider=otel.tracer_provider)  # type: ignore[attr-defined]
        wire.reply("hello")
        llm = LLM(
            provider="openai",
            model="gpt-x",
            base_url=wire.openai_base_url,
            api_key="k",
            callbacks=otel.callbacks,
        )
        llm.chat("hi")
        assert otel.tree() == [(0, "chat gpt-x"), (1, "chat gpt-x")]
    finally:
        otel.close()


def test_a_run_inside_another_instrumentations_llm_span_adds_no_second_one() -> None:
    """An LLM run started while a GenAI span of another instrumentation is current: no span of ours;
    runs inside it nest under that span."""
    otel = Otel()
    try:
        other = otel.tracer_provider.get_tracer("some.genai.instrumentation")
        with (
            other.start_as_current_span("chat m", attributes={C.OPERATION_NAME: "chat"}) as foreign,
            llm_run(provider="acme", model="m", callbacks=otel.callbacks) as run,
        ):
            with tool_run("inner", callbacks=otel.callbacks):
                pass
            run.finish(input_tokens=1, output_tokens=1)
        assert otel.tree() == [(0, "chat m"), (1, "execute_tool inner")]
        inner = otel.span("execute_tool inner")
        assert inner.parent is not None and inner.parent.span_id == foreign.get_span_context().span_id
        assert otel.points(C.METRIC_TOKEN_USAGE) == []
        assert otel.callbacks.open_spans == 0
    finally:
        otel.close()


def test_llm_spans_never_leaves_every_llm_call_to_other_instrumentations() -> None:
    """``llm_spans="never"``: no LLM spans or LLM metrics; tool and agent spans stay."""
    otel = Otel(llm_spans="never")
    try:
        with agent_run(agent_name="a", callbacks=otel.callbacks):
            with llm_run(provider="anthropic", model="m", callbacks=otel.callbacks) as run:
                run.finish(input_tokens=1, output_tokens=1)
            with tool_run("t", callbacks=otel.callbacks):
                pass
        assert otel.tree() == [(0, "invoke_agent a"), (1, "execute_tool t")]
        assert otel.points(C.METRIC_TOKEN_USAGE) == []
    finally:
        otel.close()


def test_calls_the_instrumentation_does_not_trace_still_get_our_span_by_default(
    wire: FastWireServer, openai_instrumentor: object
) -> None:
    """Default ``llm_spans="auto"``, OpenAI instrumentation active: a Responses call, a client
    instrumented before it patched the SDK, and a hand-written OpenAI run each get one LLM span
    (ours); the Chat Completions call it does trace keeps its one span (theirs)."""
    import openai

    otel = Otel()
    try:
        url, cb = wire.openai_base_url, otel.callbacks
        early = instrument_openai(openai.OpenAI(base_url=url, api_key="k"), callbacks=cb)
        openai_instrumentor.instrument(tracer_provider=otel.tracer_provider)  # type: ignore[attr-defined]
        late = instrument_openai(openai.OpenAI(base_url=url, api_key="k"), callbacks=cb)
        wire.reply("hello", times=4)
        with agent_run(agent_name="a", callbacks=cb):
            late.responses.create(model="resp", input="hi")
            early.chat.completions.create(model="early", messages=[{"role": "user", "content": "x"}])
            late.chat.completions.create(model="traced", messages=[{"role": "user", "content": "x"}])
            with llm_run(provider="openai", model="by-hand", callbacks=cb) as run:
                run.finish(input_tokens=1, output_tokens=1)
        assert sorted(llm_spans(otel)) == ["chat by-hand", "chat early", "chat resp", "chat traced"]
        ours = {
            s.name
            for s in otel.spans()
            if s.instrumentation_scope and s.instrumentation_scope.name == "llmhooks"
        }
        assert ours == {"invoke_agent a", "chat resp", "chat early", "chat by-hand"}
        agent = otel.span("invoke_agent a")
        assert agent.context is not None
        for span in otel.spans():
            if span.name != "invoke_agent a":
                assert span.parent is not None and span.parent.span_id == agent.context.span_id, span.name
        # our spans start when the run started, not when it ended
        resp = otel.span("chat resp")
        assert resp.start_time is not None and resp.end_time is not None and resp.start_time < resp.end_time
        # LLM metrics for our calls only (theirs records its own)
        durations = [
            p for p in otel.points(C.METRIC_OPERATION_DURATION) if p.attributes[C.OPERATION_NAME] == "chat"
        ]
        assert sorted(p.attributes[C.REQUEST_MODEL] for p in durations) == ["by-hand", "early", "resp"]
        assert otel.callbacks.open_spans == 0
    finally:
        otel.close()
