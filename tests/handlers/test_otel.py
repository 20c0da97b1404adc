"""OpenTelemetryCallbacks on the real SDK: span names, ids, parents, attributes, errors, metrics."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra")

from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind, StatusCode
from tests.handlers.otel_support import Otel

from llmhooks import (
    agent_run,
    chain_run,
    configure_redaction,
    llm_run,
    node_run,
    retrieval_run,
    run_context,
    tool_run,
    use_run,
)
from llmhooks.handlers.otel import OpenTelemetryCallbacks
from llmhooks.handlers.otel import conventions as C

MSGS = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


@pytest.fixture
def otel() -> Iterator[Otel]:
    setup = Otel()
    yield setup
    setup.close()


def test_llm_call_is_one_client_span_named_and_attributed_by_the_conventions(otel: Otel) -> None:
    """``chat {model}``, CLIENT, required and recommended attributes, ids of the run."""
    with llm_run(
        provider="openai",
        model="gpt-x",
        messages=MSGS,
        temperature=0.2,
        max_tokens=50,
        params={"top_p": 0.9, "seed": 7, "stop": "END"},
        callbacks=otel.callbacks,
    ) as run:
        run.finish(
            response="hello",
            input_tokens=12,
            output_tokens=5,
            cached_input_tokens=4,
            cache_write_input_tokens=2,
            reasoning_tokens=3,
            finish_reason="stop",
        )
    span = otel.span("chat gpt-x")
    assert span.kind is SpanKind.CLIENT
    assert span.context is not None
    assert f"{span.context.span_id:016x}" == run.run_id
    assert f"{span.context.trace_id:032x}" == run.trace_id
    assert span.parent is None
    assert dict(span.attributes or {}) == {
        C.OPERATION_NAME: "chat",
        C.PROVIDER_NAME: "openai",
        C.REQUEST_MODEL: "gpt-x",
        C.REQUEST_TEMPERATURE: 0.2,
        C.REQUEST_MAX_TOKENS: 50,
        C.REQUEST_TOP_P: 0.9,
        C.REQUEST_SEED: 7,
        C.REQUEST_STOP_SEQUENCES: ("END",),
        C.RESPONSE_MODEL: "gpt-x",
        C.RESPONSE_FINISH_REASONS: ("stop",),
        C.USAGE_INPUT_TOKENS: 12,
        C.USAGE_OUTPUT_TOKENS: 5,
        C.USAGE_CACHE_READ_INPUT_TOKENS: 4,
        C.USAGE_CACHE_CREATION_INPUT_TOKENS: 2,
        C.USAGE_REASONING_OUTPUT_TOKENS: 3,
    }
    assert span.status.status_code is StatusCode.UNSET
    assert otel.callbacks.open_spans == 0


def test_a_prompt_call_is_a_text_completion_and_a_provider_maps_to_its_well_known_name(otel: Otel) -> None:
    """A prompt without messages is ``text_completion``; ``bedrock`` becomes ``aws.bedrock``."""
    with llm_run(provider="bedrock", model="titan", prompt="Once", callbacks=otel.callbacks) as run:
        run.finish(response=" upon")
    span = otel.span("text_completion titan")
    assert (span.attributes or {})[C.PROVIDER_NAME] == "aws.bedrock"


def test_conversation_id_only_when_the_user_gives_one(otel: Otel) -> None:
    """No invented conversation id; ``metadata={"conversation_id": ...}`` sets it."""
    with llm_run(provider="openai", model="a", messages=MSGS, callbacks=otel.callbacks):
        pass
    with (
        run_context(metadata={"conversation_id": "conv-42"}),
        llm_run(provider="openai", model="b", messages=MSGS, callbacks=otel.callbacks),
    ):
        pass
    assert C.CONVERSATION_ID not in (otel.span("chat a").attributes or {})
    assert (otel.span("chat b").attributes or {})[C.CONVERSATION_ID] == "conv-42"


def test_the_run_tree_becomes_the_span_tree_with_the_runs_ids(otel: Otel) -> None:
    """Agent -> LLM, tool; chain -> node -> retrieval: parents are the parent runs' spans."""
    cb = otel.callbacks
    with agent_run(agent_name="helper", goal="sum", callbacks=cb) as agent:
        with llm_run(provider="anthropic", model="claude", messages=MSGS, callbacks=cb) as llm:
            llm.finish(response="calling add", input_tokens=3, output_tokens=2, finish_reason="tool_calls")
        with tool_run("add", arguments={"a": 1}, tool_call_id="call_1", callbacks=cb) as tool:
            tool.finish(result=2)
        agent.step(action="add", observation="2")
        with (
            chain_run("pipeline", callbacks=cb),
            node_run("retrieve", node_type="node", step=1, callbacks=cb),
            retrieval_run(query="q", retriever="docs", callbacks=cb) as ret,
        ):
            ret.finish(documents=["d1", "d2"])
    assert otel.tree() == [
        (0, "invoke_agent helper"),
        (1, "chat claude"),
        (1, "execute_tool add"),
        (1, "chain pipeline"),
        (2, "graph_node retrieve"),
        (3, "retrieval docs"),
    ]
    tool_span = otel.of_run(tool.run_id)
    assert tool_span.parent is not None and f"{tool_span.parent.span_id:016x}" == agent.run_id
    assert tool_span.kind is SpanKind.INTERNAL
    assert dict(tool_span.attributes or {}) == {
        C.OPERATION_NAME: "execute_tool",
        C.TOOL_NAME: "add",
        C.TOOL_CALL_ID: "call_1",
        C.TOOL_TYPE: "function",
    }
    agent_span = otel.of_run(agent.run_id)
    assert (agent_span.attributes or {})[C.AGENT_NAME] == "helper"
    (step,) = agent_span.events
    assert step.name == C.LLMHOOKS_AGENT_STEP_EVENT and dict(step.attributes or {}) == {
        C.LLMHOOKS_STEP: 1,
        C.LLMHOOKS_ACTION: "add",
    }
    node = otel.span("graph_node retrieve").attributes or {}
    assert (node[C.LLMHOOKS_NODE_ID], node[C.LLMHOOKS_NODE_STEP]) == ("retrieve", 1)
    retrieval = otel.span("retrieval docs")
    assert retrieval.kind is SpanKind.CLIENT
    assert (retrieval.attributes or {})[C.LLMHOOKS_DOCUMENTS_COUNT] == 2
    assert {s.context.trace_id for s in otel.spans() if s.context} == {int(agent.trace_id, 16)}


def test_a_failed_run_has_error_type_error_status_and_the_exception(otel: Otel) -> None:
    """A raising tool: ``error.type`` is the exception class, status ERROR, one exception event."""
    with pytest.raises(ZeroDivisionError), tool_run("divide", callbacks=otel.callbacks):
        raise ZeroDivisionError("division by zero")
    span = otel.span("execute_tool divide")
    assert (span.attributes or {})[C.ERROR_TYPE] == "ZeroDivisionError"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "division by zero"
    (exc,) = [e for e in span.events if e.name == "exception"]
    assert (exc.attributes or {})["exception.type"] == "ZeroDivisionError"


def test_an_llm_error_reported_in_band_uses_the_provider_error_code(otel: Otel) -> None:
    """An error event without an exception (an in-stream error) takes its code as ``error.type``."""
    with llm_run(provider="anthropic", model="m", streaming=True, callbacks=otel.callbacks) as run:
        run.token("par")
        run.error("Overloaded", error_code="overloaded_error", is_recoverable=True)
    span = otel.span("chat m")
    assert (span.attributes or {})[C.ERROR_TYPE] == "overloaded_error"
    assert span.status.status_code is StatusCode.ERROR
    assert not [e for e in span.events if e.name == "exception"]
    (point,) = otel.points(C.METRIC_OPERATION_DURATION)
    assert dict(point.attributes)[C.ERROR_TYPE] == "overloaded_error"


def test_cancellation_is_recorded_as_such(otel: Otel) -> None:
    """A cancelled run: error status, ``llmhooks.cancelled``, error.type CancelledError."""

    async def main() -> None:
        async def call() -> None:
            async with llm_run(provider="openai", model="slow", callbacks=otel.callbacks):
                await asyncio.sleep(10)

        task = asyncio.create_task(call())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    attrs = otel.span("chat slow").attributes or {}
    assert (attrs[C.ERROR_TYPE], attrs[C.LLMHOOKS_CANCELLED]) == ("CancelledError", True)


# -- context: foreign parents, the current span, contexts ----------------------------------------


def test_a_run_inside_a_foreign_span_joins_its_trace_as_a_child(otel: Otel) -> None:
    """A web request span of another instrumentation is the parent; the run takes its trace id."""
    with (
        otel.tracer.start_as_current_span("GET /chat") as request,
        llm_run(provider="openai", model="m", callbacks=otel.callbacks) as run,
    ):
        pass
    ctx = request.get_span_context()
    assert run.trace_id == f"{ctx.trace_id:032x}"
    span = otel.of_run(run.run_id)
    assert span.parent is not None and span.parent.span_id == ctx.span_id
    assert C.LLMHOOKS_TRACE_ID not in (span.attributes or {})


def test_the_runs_span_is_the_current_span_inside_the_run(otel: Otel) -> None:
    """Code inside a run (an SDK's HTTP client span) nests under the run's span; after it, not."""
    before = trace.get_current_span()
    with llm_run(provider="openai", model="m", callbacks=otel.callbacks) as run:
        current = trace.get_current_span().get_span_context()
        assert f"{current.span_id:016x}" == run.run_id
        with otel.tracer.start_as_current_span("POST /v1/chat/completions"):
            pass
    assert trace.get_current_span() is before
    http = otel.span("POST /v1/chat/completions")
    assert http.parent is not None and f"{http.parent.span_id:016x}" == run.run_id


async def test_the_current_span_follows_runs_across_await_and_tasks(otel: Otel) -> None:
    """In async code each task sees its own run's span, and gather does not mix them up."""
    seen: dict[str, str] = {}

    async def one(name: str) -> None:
        async with tool_run(name, callbacks=otel.callbacks) as run:
            await asyncio.sleep(0.01)
            seen[name] = f"{trace.get_current_span().get_span_context().span_id:016x}"
            assert seen[name] == run.run_id

    async with agent_run(agent_name="a", callbacks=otel.callbacks) as agent:
        await asyncio.gather(one("x"), one("y"))
        assert f"{trace.get_current_span().get_span_context().span_id:016x}" == agent.run_id
    assert seen["x"] != seen["y"]
    assert otel.tree() == [(0, "invoke_agent a"), (1, "execute_tool x"), (1, "execute_tool y")]


def test_leaving_a_run_in_another_context_restores_context_without_complaint(
    otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    """A generator's run finished in another context: no "Failed to detach", nothing left current."""

    def gen() -> Iterator[int]:
        with tool_run("stream", callbacks=otel.callbacks):
            yield 1
            yield 2

    caplog.set_level(logging.DEBUG)
    it = gen()
    assert contextvars.copy_context().run(next, it) == 1
    assert contextvars.copy_context().run(next, it) == 2
    other = contextvars.copy_context()
    with pytest.raises(StopIteration):
        other.run(next, it)
    assert otel.names() == ["execute_tool stream"]
    assert not other.run(trace.get_current_span).get_span_context().is_valid
    # entered in A, finished in B, a copy of A taken while the run was current there:
    # B saw the run's span as current, and after the run it sees what was current before
    a = contextvars.copy_context()
    it = gen()
    a.run(next, it)
    b = a.copy()
    assert b.run(trace.get_current_span).get_span_context().is_valid
    b.run(next, it)
    with pytest.raises(StopIteration):
        b.run(next, it)
    assert not b.run(trace.get_current_span).get_span_context().is_valid
    assert "Failed to detach" not in caplog.text
    assert len(otel.spans()) == 2
    assert not trace.get_current_span().get_span_context().is_valid


def test_use_run_makes_a_held_run_the_current_span(otel: Otel) -> None:
    """``use_run`` on a run started with ``start()`` makes its span current for the block."""
    run = llm_run(provider="openai", model="m", callbacks=otel.callbacks).start()
    with use_run(run), otel.tracer.start_as_current_span("http"):
        pass
    run.finish(response="x")
    assert otel.tree() == [(0, "chat m"), (1, "http")]


def test_an_unsampled_trace_exports_nothing_but_metrics_still_count() -> None:
    """A parent-based sampler that drops the trace: no spans, the duration metric is recorded."""
    setup = Otel(sampler=ParentBased(ALWAYS_OFF))
    try:
        with llm_run(provider="openai", model="m", callbacks=setup.callbacks) as run:
            with tool_run("t", callbacks=setup.callbacks):
                pass
            run.finish(input_tokens=1, output_tokens=1)
        assert setup.spans() == []
        assert [p.count for p in setup.points(C.METRIC_OPERATION_DURATION)] == [1, 1]
        assert setup.callbacks.open_spans == 0
    finally:
        setup.close()


def test_a_run_id_that_is_not_an_otel_id_is_kept_as_an_attribute(otel: Otel) -> None:
    """``llm_run(run_id="job-7")``: the span gets a random id and carries the run id."""
    with tool_run("t", run_id="job-7", callbacks=otel.callbacks):
        pass
    assert (otel.span("execute_tool t").attributes or {})[C.LLMHOOKS_RUN_ID] == "job-7"


GLOBAL_PROVIDERS = """
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from llmhooks import tool_run
from llmhooks.handlers.otel import OpenTelemetryCallbacks

cb = OpenTelemetryCallbacks()          # made before the providers are set
exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
with tool_run("global", callbacks=cb):
    pass
print([s.name for s in exporter.get_finished_spans()])
data = reader.get_metrics_data()
print([m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics])
"""


def test_the_global_providers_are_used_when_none_are_given() -> None:
    """No providers passed: the global ones, even when set after the handler was made."""
    out = subprocess.run(
        [sys.executable, "-c", GLOBAL_PROVIDERS], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.splitlines() == ["['execute_tool global']", f"['{C.METRIC_OPERATION_DURATION}']"]


# -- content -----------------------------------------------------------------------------------------


def test_message_content_is_off_by_default(otel: Otel) -> None:
    """No messages, arguments or results on spans, and no details event."""
    with llm_run(provider="openai", model="m", messages=MSGS, callbacks=otel.callbacks) as run:
        run.finish(response="secret answer")
    with tool_run("t", arguments={"q": "private"}, callbacks=otel.callbacks) as tool:
        tool.finish(result="private result")
    for span in otel.spans():
        text = json.dumps(dict(span.attributes or {}))
        assert "private" not in text and "secret answer" not in text and "be brief" not in text
    assert otel.logs() == []


def test_span_only_capture_puts_the_conventions_json_on_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    """``SPAN_ONLY`` from the environment: input/output messages and tool call content as JSON."""
    monkeypatch.setenv(C.CAPTURE_ENV, "span_only")
    setup = Otel()
    try:
        calls = [{"id": "c1", "name": "add", "arguments": {"a": 1}}]
        with llm_run(provider="openai", model="m", messages=MSGS, callbacks=setup.callbacks) as run:
            run.finish(response="ok", tool_calls=calls, finish_reason="tool_calls")
        with tool_run("add", arguments={"a": 1}, callbacks=setup.callbacks) as tool:
            tool.finish(result={"sum": 1})
        attrs = setup.span("chat m").attributes or {}
        assert json.loads(str(attrs[C.INPUT_MESSAGES])) == [
            {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
            {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
        ]
        assert json.loads(str(attrs[C.OUTPUT_MESSAGES])) == [
            {
                "role": "assistant",
                "parts": [
                    {"type": "text", "content": "ok"},
                    {"type": "tool_call", "id": "c1", "name": "add", "arguments": {"a": 1}},
                ],
                "finish_reason": "tool_calls",
            }
        ]
        tool_attrs = setup.span("execute_tool add").attributes or {}
        assert json.loads(str(tool_attrs[C.TOOL_CALL_ARGUMENTS])) == {"a": 1}
        assert json.loads(str(tool_attrs[C.TOOL_CALL_RESULT])) == {"sum": 1}
        assert setup.logs() == []
    finally:
        setup.close()


def test_event_capture_emits_one_details_event_in_the_spans_context() -> None:
    """``EVENT_ONLY``: a ``gen_ai.client.inference.operation.details`` log record, nothing on spans."""
    setup = Otel(capture_content="EVENT_ONLY")
    try:
        with llm_run(provider="openai", model="m", messages=MSGS, callbacks=setup.callbacks) as run:
            run.finish(response="ok", input_tokens=2, output_tokens=1, finish_reason="stop")
        span = setup.span("chat m")
        assert C.INPUT_MESSAGES not in (span.attributes or {})
        (record,) = setup.logs()
        assert record.event_name == C.INFERENCE_DETAILS_EVENT
        assert span.context is not None and record.span_id == span.context.span_id
        attrs = dict(record.attributes)
        assert attrs[C.INPUT_MESSAGES][1]["parts"][0]["content"] == "hi"
        assert attrs[C.OUTPUT_MESSAGES][0]["parts"][0]["content"] == "ok"
        assert attrs[C.USAGE_INPUT_TOKENS] == 2
    finally:
        setup.close()


def test_captured_content_is_what_events_carry_after_redaction() -> None:
    """A key in a message is redacted before it reaches a span; blanked content stays blank."""
    setup = Otel(capture_content=True)
    try:
        key = "sk-" + "a1B2" * 8
        with llm_run(
            provider="openai",
            model="m",
            messages=[{"role": "user", "content": f"my key is {key}"}],
            callbacks=setup.callbacks,
        ):
            pass
        configure_redaction(capture_content=False)
        with llm_run(provider="openai", model="n", messages=MSGS, callbacks=setup.callbacks):
            pass
        first = str((setup.span("chat m").attributes or {})[C.INPUT_MESSAGES])
        assert key not in first and "[REDACTED]" in first
        second = str((setup.span("chat n").attributes or {})[C.INPUT_MESSAGES])
        assert "be brief" not in second
    finally:
        setup.close()


def test_bad_arguments_fail_at_construction() -> None:
    """An unknown capture mode or ``llm_spans`` value is refused with the allowed values."""
    with pytest.raises(ValueError, match="capture_content"):
        OpenTelemetryCallbacks(capture_content="everything")
    with pytest.raises(ValueError, match="llm_spans"):
        OpenTelemetryCallbacks(llm_spans="sometimes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metrics"):
        OpenTelemetryCallbacks(metrics="yes")  # type: ignore[arg-type]


def test_an_unknown_capture_mode_in_the_environment_keeps_content_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A typo in the variable is logged and content stays off (the safe side)."""
    monkeypatch.setenv(C.CAPTURE_ENV, "SPAN_AND_EVENTS")
    cb = OpenTelemetryCallbacks()
    try:
        assert cb.capture_content == C.CAPTURE_NONE
        assert "SPAN_AND_EVENTS" in caplog.text
    finally:
        cb.close()


# -- metrics -------------------------------------------------------------------------------------------


def test_genai_metrics_have_the_conventions_buckets_and_attributes(otel: Otel) -> None:
    """Token usage by type, duration, time to first chunk (streams only), tool durations."""
    cb = otel.callbacks
    with llm_run(provider="openai", model="m", streaming=True, callbacks=cb) as run:
        run.token("a")
        run.token("b")
        run.finish(input_tokens=7, output_tokens=2)
    with llm_run(provider="openai", model="m", callbacks=cb) as run:
        run.finish(input_tokens=3, output_tokens=1)
    with tool_run("lookup", callbacks=cb):
        pass
    tokens = {dict(p.attributes)[C.TOKEN_TYPE]: p for p in otel.points(C.METRIC_TOKEN_USAGE)}
    assert (tokens["input"].sum, tokens["input"].count, tokens["output"].sum) == (10, 2, 3)
    assert tuple(tokens["input"].explicit_bounds) == C.TOKEN_BUCKETS
    assert dict(tokens["input"].attributes) == {
        C.OPERATION_NAME: "chat",
        C.PROVIDER_NAME: "openai",
        C.REQUEST_MODEL: "m",
        C.TOKEN_TYPE: "input",
    }
    durations = {dict(p.attributes)[C.OPERATION_NAME]: p for p in otel.points(C.METRIC_OPERATION_DURATION)}
    assert durations["chat"].count == 2 and tuple(durations["chat"].explicit_bounds) == C.DURATION_BUCKETS
    tool_attrs = dict(durations["execute_tool"].attributes)
    assert tool_attrs == {C.OPERATION_NAME: "execute_tool", C.TOOL_NAME: "lookup"}
    (ttfc,) = otel.points(C.METRIC_TIME_TO_FIRST_CHUNK)
    assert ttfc.count == 1


def test_metrics_can_be_turned_off(otel: Otel) -> None:
    """``metrics=False``: spans only."""
    setup = Otel(metrics=False)
    try:
        with llm_run(provider="openai", model="m", callbacks=setup.callbacks) as run:
            run.finish(input_tokens=1, output_tokens=1)
        assert setup.names() == ["chat m"]
        assert setup.points(C.METRIC_OPERATION_DURATION) == []
    finally:
        setup.close()


def test_close_ends_the_spans_of_runs_it_will_never_see_end(otel: Otel) -> None:
    """A run still open at ``close()`` (handler removed mid-run) is ended, marked incomplete."""
    run = tool_run("forever", callbacks=otel.callbacks).start()
    assert otel.callbacks.open_spans == 1
    otel.callbacks.close()
    assert (otel.span("execute_tool forever").attributes or {})[C.LLMHOOKS_INCOMPLETE] is True
    run.finish()  # the end arriving later changes nothing
    assert len(otel.spans()) == 1


def test_without_the_extra_the_error_says_what_to_install() -> None:
    """No opentelemetry installed: ``MissingExtraError`` with the pip command, not a bare ImportError."""
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "import llmhooks\n"
        "try:\n"
        "    llmhooks.OpenTelemetryCallbacks\n"
        "except llmhooks.MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert "pip install 'llmhooks[otel]'" in out.stdout
