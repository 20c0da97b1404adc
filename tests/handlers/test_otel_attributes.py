"""Span attributes from the real SDKs: response id and model, agent provider, system instructions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra")
pytest.importorskip("openai")
pytest.importorskip("anthropic")

import anthropic
import openai
from tests.handlers.otel_support import Otel
from tests.llm._wire import FastWireServer

from llmhooks import LLM, Agent, agent_run, instrument_anthropic, instrument_openai, llm_run
from llmhooks.handlers.otel import conventions as C

USER: list[Any] = [{"role": "user", "content": "hi there"}]


@pytest.fixture
def otel() -> Iterator[Otel]:
    setup = Otel()
    yield setup
    setup.close()


def oa(server: FastWireServer, otel: Otel) -> Any:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)
    return instrument_openai(client, callbacks=otel.callbacks)


def ant(server: FastWireServer, otel: Otel) -> Any:
    client = anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0)
    return instrument_anthropic(client, callbacks=otel.callbacks)


def attrs_of(otel: Otel, name: str) -> dict[str, Any]:
    return dict(otel.span(name).attributes or {})


# -- gen_ai.response.id / gen_ai.response.model ----------------------------------------------


def test_openai_answer_id_and_resolved_model_are_on_the_span(wire: FastWireServer, otel: Otel) -> None:
    """The model the server answered with (a dated snapshot) and its completion id, call and stream."""
    wire.reply("hello", model="gpt-x-2026-05-01", times=2)
    client = oa(wire, otel)
    answer = client.chat.completions.create(model="gpt-x", messages=USER)
    for _ in client.chat.completions.create(
        model="gpt-x", messages=USER, stream=True, stream_options={"include_usage": True}
    ):
        pass
    first, second = otel.spans()
    for span in (first, second):
        attrs = dict(span.attributes or {})
        assert attrs[C.REQUEST_MODEL] == "gpt-x"
        assert attrs[C.RESPONSE_MODEL] == "gpt-x-2026-05-01"
        assert str(attrs[C.RESPONSE_ID]).startswith("chatcmpl-")
    assert (first.attributes or {})[C.RESPONSE_ID] == answer.id
    # the metric attributes name the response model too (the conventions' recommended one)
    points = otel.points(C.METRIC_OPERATION_DURATION)
    assert {p.attributes[C.RESPONSE_MODEL] for p in points} == {"gpt-x-2026-05-01"}


def test_anthropic_message_id_and_model_on_call_and_stream(wire: FastWireServer, otel: Otel) -> None:
    """``messages.create`` and the ``messages.stream`` helper: the message's id and model."""
    wire.reply("hello", model="claude-x-20260101", times=2)
    client = ant(wire, otel)
    message = client.messages.create(model="claude-x", max_tokens=9, messages=USER)
    with client.messages.stream(model="claude-x", max_tokens=9, messages=USER) as stream:
        "".join(stream.text_stream)
    for span in otel.spans():
        attrs = dict(span.attributes or {})
        assert attrs[C.RESPONSE_MODEL] == "claude-x-20260101"
        assert str(attrs[C.RESPONSE_ID]).startswith("msg_")
    assert (otel.spans()[0].attributes or {})[C.RESPONSE_ID] == message.id


def test_a_hand_written_run_gives_id_and_model_through_finish(otel: Otel) -> None:
    """``run.finish(response_id=..., response_model=...)``; without them no id is invented."""
    with llm_run(provider="openai", model="m", callbacks=otel.callbacks) as run:
        run.finish(response="a", response_id="r-1", response_model="m-2026")
    with llm_run(provider="openai", model="n", callbacks=otel.callbacks) as run:
        run.finish(response="b")
    assert attrs_of(otel, "chat m")[C.RESPONSE_ID] == "r-1"
    assert attrs_of(otel, "chat m")[C.RESPONSE_MODEL] == "m-2026"
    assert C.RESPONSE_ID not in attrs_of(otel, "chat n")


# -- gen_ai.provider.name on invoke_agent ------------------------------------------------------


def test_an_agent_span_names_the_provider_of_its_model(wire: FastWireServer, otel: Otel) -> None:
    """``Agent`` with an OpenAI model: ``invoke_agent`` carries ``gen_ai.provider.name``, metric too."""
    wire.reply("done")
    llm = LLM(provider="openai", model="gpt-x", base_url=wire.openai_base_url, api_key="k")
    Agent(name="helper", llm=llm, callbacks=otel.callbacks).run("say done")
    assert attrs_of(otel, "invoke_agent helper")[C.PROVIDER_NAME] == "openai"
    (point,) = [
        p
        for p in otel.points(C.METRIC_OPERATION_DURATION)
        if p.attributes[C.OPERATION_NAME] == C.OP_INVOKE_AGENT
    ]
    assert point.attributes[C.PROVIDER_NAME] == "openai"


def test_an_agent_run_without_a_model_call_gets_no_invented_provider(otel: Otel) -> None:
    """An agent run that never calls a model, and one told its provider in metadata."""
    with agent_run(agent_name="idle", callbacks=otel.callbacks):
        pass
    with agent_run(agent_name="told", metadata={"provider": "anthropic"}, callbacks=otel.callbacks):
        pass
    assert C.PROVIDER_NAME not in attrs_of(otel, "invoke_agent idle")
    assert attrs_of(otel, "invoke_agent told")[C.PROVIDER_NAME] == "anthropic"


# -- gen_ai.system_instructions ----------------------------------------------------------------


def test_anthropic_system_parameter_is_recorded_as_system_instructions(wire: FastWireServer) -> None:
    """``system=`` is given apart from the history: ``gen_ai.system_instructions``, not an input message."""
    otel = Otel(capture_content="SPAN_AND_EVENT")
    try:
        wire.reply("ok")
        ant(wire, otel).messages.create(model="c", max_tokens=9, system="be brief", messages=USER)
        attrs = attrs_of(otel, "chat c")
        assert json.loads(str(attrs[C.SYSTEM_INSTRUCTIONS])) == [{"type": "text", "content": "be brief"}]
        inputs = json.loads(str(attrs[C.INPUT_MESSAGES]))
        assert [m["role"] for m in inputs] == ["user"]
        (record,) = otel.logs()
        assert record.attributes[C.SYSTEM_INSTRUCTIONS] == ({"type": "text", "content": "be brief"},)
    finally:
        otel.close()


def test_system_instructions_never_without_content_capture(wire: FastWireServer, otel: Otel) -> None:
    """Content off (the default): no system instructions on the span, no details event."""
    wire.reply("ok")
    ant(wire, otel).messages.create(model="c", max_tokens=9, system="secret rules", messages=USER)
    attrs = attrs_of(otel, "chat c")
    assert C.SYSTEM_INSTRUCTIONS not in attrs
    assert "secret rules" not in json.dumps({k: str(v) for k, v in attrs.items()})
    assert otel.logs() == []


def test_a_system_message_in_an_openai_chat_history_stays_an_input_message(
    wire: FastWireServer,
) -> None:
    """Chat Completions has system messages inside the history: the conventions keep them there."""
    otel = Otel(capture_content=True)
    try:
        wire.reply("ok")
        messages = [{"role": "system", "content": "be brief"}, *USER]
        oa(wire, otel).chat.completions.create(model="g", messages=messages)
        attrs = attrs_of(otel, "chat g")
        assert C.SYSTEM_INSTRUCTIONS not in attrs
        assert [m["role"] for m in json.loads(str(attrs[C.INPUT_MESSAGES]))] == ["system", "user"]
    finally:
        otel.close()
