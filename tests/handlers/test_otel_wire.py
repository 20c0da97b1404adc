"""Over the wire: the OTLP/HTTP exporter sends our spans to a local receiver that decodes the protobuf."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip(
    "opentelemetry.exporter.otlp.proto.http", reason="needs opentelemetry-exporter-otlp-proto-http"
)
pytest.importorskip("opentelemetry.proto", reason="needs opentelemetry-proto")

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from llmhooks import agent_run, llm_run, tool_run
from llmhooks.handlers.otel import OpenTelemetryCallbacks
from llmhooks.handlers.otel import conventions as C


class Receiver(ThreadingHTTPServer):
    """A minimal OTLP/HTTP trace receiver: decodes each request body, answers success."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self.content_types: list[str] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/traces"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = ExportTraceServiceRequest.FromString(body)
        with self.server.lock:
            self.server.requests.append(request)
            self.server.paths.append(self.path)
            self.server.content_types.append(self.headers.get("Content-Type", ""))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return tuple(value(x) for x in v.array_value.values)
    return getattr(v, kind) if kind else None


def test_spans_reach_an_otlp_receiver_with_run_ids_parents_and_attributes(receiver: Receiver) -> None:
    """Agent -> chat -> tool through BatchSpanProcessor + OTLPSpanExporter, decoded from protobuf."""
    provider = TracerProvider(resource=Resource.create({"service.name": "llmhooks-test"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.endpoint, timeout=10)))
    cb = OpenTelemetryCallbacks(provider, metrics=False)
    try:
        with agent_run(agent_name="helper", callbacks=cb) as agent:
            with llm_run(provider="openai", model="gpt-x", streaming=True, callbacks=cb) as llm:
                llm.token("hi")
                llm.finish(input_tokens=10, output_tokens=1, cached_input_tokens=6, finish_reason="stop")
            with pytest.raises(KeyError), tool_run("lookup", tool_call_id="call_1", callbacks=cb):
                raise KeyError("missing")
        assert provider.force_flush(10_000)
    finally:
        cb.close()
        provider.shutdown()

    assert set(receiver.paths) == {"/v1/traces"}
    assert set(receiver.content_types) == {"application/x-protobuf"}
    spans: dict[str, Any] = {}
    for request in receiver.requests:
        for rs in request.resource_spans:
            resource = {a.key: value(a.value) for a in rs.resource.attributes}
            assert resource["service.name"] == "llmhooks-test"
            for ss in rs.scope_spans:
                assert (ss.scope.name, ss.schema_url) == (C.INSTRUMENTATION_NAME, C.SCHEMA_URL)
                for span in ss.spans:
                    spans[span.name] = span
    assert sorted(spans) == ["chat gpt-x", "execute_tool lookup", "invoke_agent helper"]

    root, chat, tool = spans["invoke_agent helper"], spans["chat gpt-x"], spans["execute_tool lookup"]
    trace_id = bytes.fromhex(agent.trace_id)
    assert {root.trace_id, chat.trace_id, tool.trace_id} == {trace_id}
    assert (root.span_id, chat.span_id) == (bytes.fromhex(agent.run_id), bytes.fromhex(llm.run_id))
    assert root.parent_span_id == b""
    assert chat.parent_span_id == tool.parent_span_id == root.span_id
    assert (root.kind, chat.kind, tool.kind) == (
        PbSpan.SPAN_KIND_INTERNAL,
        PbSpan.SPAN_KIND_CLIENT,
        PbSpan.SPAN_KIND_INTERNAL,
    )
    chat_attrs = {a.key: value(a.value) for a in chat.attributes}
    assert chat_attrs[C.OPERATION_NAME] == "chat" and chat_attrs[C.PROVIDER_NAME] == "openai"
    assert (chat_attrs[C.USAGE_INPUT_TOKENS], chat_attrs[C.USAGE_CACHE_READ_INPUT_TOKENS]) == (10, 6)
    assert chat_attrs[C.RESPONSE_FINISH_REASONS] == ("stop",)
    assert chat_attrs[C.REQUEST_STREAM] is True and chat_attrs[C.RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    tool_attrs = {a.key: value(a.value) for a in tool.attributes}
    assert (tool_attrs[C.TOOL_CALL_ID], tool_attrs[C.ERROR_TYPE]) == ("call_1", "KeyError")
    assert tool.status.code == tool.status.STATUS_CODE_ERROR
    assert [e.name for e in tool.events] == ["exception"]
    assert (
        root.start_time_unix_nano
        <= chat.start_time_unix_nano
        < chat.end_time_unix_nano
        <= root.end_time_unix_nano
    )
