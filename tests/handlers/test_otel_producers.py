"""Every producer gives a correct span tree: facade, SDK instrumentation, Agent, MCPClient, LangGraph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra")

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from tests.handlers.otel_support import Otel
from tests.llm._wire import FastWireServer
from tests.servers.llm_wire import ToolCall

from llmhooks import LLM, Agent, agent_run, instrument_openai
from llmhooks.handlers.otel import conventions as C


@pytest.fixture
def otel() -> Iterator[Otel]:
    setup = Otel()
    yield setup
    assert setup.callbacks.open_spans == 0
    setup.close()


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


try:  # LangGraph reads the state's annotations, so the state class lives at module level
    from langchain_core.messages import AnyMessage
    from langgraph.graph.message import add_messages

    class GraphState(TypedDict):
        messages: Annotated[list[AnyMessage], add_messages]

except ImportError:  # pragma: no cover - the test skips
    pass


def test_llm_facade_chat_and_stream_against_the_openai_wire(wire: FastWireServer, otel: Otel) -> None:
    """``LLM(provider="openai")``: a chat and a stream, each one CLIENT span with usage."""
    wire.reply("Hello there", input_tokens=9, output_tokens=2)
    wire.reply("Streamed words", input_tokens=4, output_tokens=2)
    url, cb = wire.openai_base_url, otel.callbacks
    llm = LLM(provider="openai", model="gpt-x", base_url=url, api_key="k", callbacks=cb)
    assert llm.chat("hi").text == "Hello there"
    assert "".join(llm.stream("go")) == "Streamed words"
    first, second = otel.spans()
    assert (first.name, second.name) == ("chat gpt-x", "chat gpt-x")
    assert all(s.kind is SpanKind.CLIENT for s in (first, second))
    assert (first.attributes or {})[C.USAGE_INPUT_TOKENS] == 9
    assert (second.attributes or {})[C.REQUEST_STREAM] is True
    assert C.REQUEST_STREAM not in (first.attributes or {})


def test_instrument_openai_stream_inside_an_agent_run(wire: FastWireServer, otel: Otel) -> None:
    """A user's own client streaming inside an llmhooks agent run: the LLM span is its child."""
    wire.reply("a b c", input_tokens=3, output_tokens=3)
    client = instrument_openai(
        __import__("openai").OpenAI(base_url=wire.openai_base_url, api_key="k", max_retries=0),
        callbacks=otel.callbacks,
    )
    with agent_run(agent_name="writer", callbacks=otel.callbacks) as run:
        stream = client.chat.completions.create(
            model="gpt-x", messages=[{"role": "user", "content": "go"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "a b c"
    assert otel.tree() == [(0, "invoke_agent writer"), (1, "chat gpt-x")]
    llm = otel.span("chat gpt-x")
    assert llm.parent is not None and f"{llm.parent.span_id:016x}" == run.run_id


def test_agent_with_tools_against_the_wire(wire: FastWireServer, otel: Otel) -> None:
    """Agent -> chat (asks for add) -> execute_tool add -> chat (answers): ids and call id linked."""
    wire.reply(tool_calls=[ToolCall("add", {"a": 2, "b": 3}, call_id="call_7")], input_tokens=20)
    wire.reply("The sum is 5.", input_tokens=30, output_tokens=4)
    llm = LLM(provider="openai", model="gpt-x", base_url=wire.openai_base_url, api_key="k")
    result = Agent(tools=[add], llm=llm, name="calc", callbacks=otel.callbacks).run("2+3?")
    assert result.output == "The sum is 5."
    assert otel.tree() == [
        (0, "invoke_agent calc"),
        (1, "chat gpt-x"),
        (1, "execute_tool add"),
        (1, "chat gpt-x"),
    ]
    tool = otel.span("execute_tool add").attributes or {}
    assert (tool[C.TOOL_CALL_ID], tool[C.TOOL_TYPE]) == ("call_7", "function")
    first = sorted((s for s in otel.spans() if s.name == "chat gpt-x"), key=lambda s: s.start_time or 0)[0]
    assert (first.attributes or {})[C.RESPONSE_FINISH_REASONS] == ("tool_calls",)
    agent = otel.span("invoke_agent calc")
    assert [e.name for e in agent.events] == [C.LLMHOOKS_AGENT_STEP_EVENT] * 2
    durations = {dict(p.attributes)[C.OPERATION_NAME] for p in otel.points(C.METRIC_OPERATION_DURATION)}
    assert durations == {"chat", "execute_tool", "invoke_agent"}


async def test_mcp_client_with_the_demo_server(otel: Otel) -> None:
    """MCP tool calls are ``tools/call {tool}`` CLIENT spans; progress and logs are span events."""
    pytest.importorskip("mcp.server.mcpserver", reason="needs the mcp SDK 2.x")
    from llmhooks import MCPClient, MCPToolError
    from llmhooks.demo_servers import demo_server_config

    async with (
        agent_run(agent_name="geo", callbacks=otel.callbacks) as run,
        MCPClient([demo_server_config()], callbacks=otel.callbacks) as client,
    ):
        assert await client.call_tool("lookup_capital", {"country": "France"}) == "Paris"
        await client.call_tool("unit_convert", {"value": 1, "from_unit": "km", "to_unit": "m"})
        with pytest.raises(MCPToolError):
            await client.call_tool("lookup_capital", {"country": "Atlantis"})
    names = [n for _, n in otel.tree()]
    assert names[0] == "invoke_agent geo"
    calls = [s for s in otel.spans() if s.name.startswith("tools/call ")]
    assert sorted(s.name for s in calls) == [
        "tools/call lookup_capital",
        "tools/call lookup_capital",
        "tools/call unit_convert",
    ]
    for span in calls:
        attrs = span.attributes or {}
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None and f"{span.parent.span_id:016x}" == run.run_id
        assert (attrs[C.MCP_METHOD_NAME], attrs[C.OPERATION_NAME], attrs[C.TOOL_TYPE]) == (
            "tools/call",
            "execute_tool",
            "extension",
        )
        assert attrs[C.NETWORK_TRANSPORT] == "pipe"
    failed = [s for s in calls if s.status.status_code is StatusCode.ERROR]
    assert len(failed) == 1 and (failed[0].attributes or {})[C.ERROR_TYPE] == C.MCP_TOOL_ERROR
    convert = otel.span("tools/call unit_convert")
    assert C.LLMHOOKS_MCP_PROGRESS_EVENT in [e.name for e in convert.events]
    session = [s for s in otel.spans() if s.name.startswith(C.SPAN_MCP_SESSION)]
    assert len(session) == 1 and (session[0].attributes or {})[C.LLMHOOKS_MCP_TOOLS_COUNT] >= 2
    mcp_points = otel.points(C.METRIC_MCP_OPERATION_DURATION)
    assert sum(p.count for p in mcp_points) == 3
    assert {dict(p.attributes).get(C.ERROR_TYPE) for p in mcp_points} == {None, C.MCP_TOOL_ERROR}
    assert [p.count for p in otel.points(C.METRIC_MCP_SESSION_DURATION)] == [1]


def test_langchain_bridge_with_a_langgraph_graph(otel: Otel) -> None:
    """Graph (chain) -> nodes -> chat model and tool, through the LangChain callback bridge."""
    pytest.importorskip("langgraph", reason="needs langgraph")
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.tools import tool
    from langgraph.graph import END, START, StateGraph
    from langgraph.prebuilt import ToolNode

    from llmhooks.integrations.langchain import CallbackHandler

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    reply = AIMessage(
        content="",
        tool_calls=[{"name": "multiply", "args": {"a": 6, "b": 7}, "id": "call-9"}],
        usage_metadata={"input_tokens": 12, "output_tokens": 7, "total_tokens": 19},
        response_metadata={"finish_reason": "tool_calls"},
    )
    model = GenericFakeChatModel(messages=iter([reply]))

    def agent(state: GraphState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(GraphState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([multiply]))
    graph.add_edge(START, "agent")
    graph.add_edge("agent", "tools")
    graph.add_edge("tools", END)
    app = graph.compile()
    config: Any = {"callbacks": [CallbackHandler(otel.callbacks)]}
    out = app.invoke({"messages": [HumanMessage("6*7?")]}, config=config)
    assert out["messages"][-1].content == "42"
    tree = otel.tree()
    assert tree[0] == (0, "chain LangGraph")
    assert (1, "graph_node agent") in tree and (1, "graph_node tools") in tree
    assert (2, "execute_tool multiply") in tree
    chats = [depth for depth, name in tree if name.startswith("chat")]
    assert chats == [2]
    tool_span = otel.span("execute_tool multiply")
    tools_node = otel.span("graph_node tools")
    assert tool_span.parent is not None and tools_node.context is not None
    assert tool_span.parent.span_id == tools_node.context.span_id
    assert (tool_span.attributes or {})[C.TOOL_CALL_ID] == "call-9"
    chat = next(s for s in otel.spans() if s.name.startswith("chat"))
    chat_attrs = chat.attributes or {}
    assert (chat_attrs[C.USAGE_INPUT_TOKENS], chat_attrs[C.USAGE_OUTPUT_TOKENS]) == (12, 7)
    assert len({s.context.trace_id for s in otel.spans() if s.context}) == 1


class _SpanAtRequest:
    """An httpx2 transport (the SDKs' HTTP client) noting the current span when a request goes out."""

    def __init__(self) -> None:
        import httpx2

        self.seen: list[int] = []
        outer = self

        class Transport(httpx2.HTTPTransport):
            def handle_request(self, request: Any) -> Any:
                outer.seen.append(trace.get_current_span().get_span_context().span_id)
                return super().handle_request(request)

        self.client = httpx2.Client(transport=Transport())


def _openai_client(wire: FastWireServer, otel: Otel, http: _SpanAtRequest) -> Any:
    import openai

    client = openai.OpenAI(base_url=wire.openai_base_url, api_key="k", max_retries=0, http_client=http.client)
    return instrument_openai(client, callbacks=otel.callbacks)


def test_the_sdks_http_request_runs_inside_the_llm_span(wire: FastWireServer, otel: Otel) -> None:
    """The SDK's HTTP call is made while the LLM span is current: HTTP client spans nest under it."""
    pytest.importorskip("httpx2")
    http = _SpanAtRequest()
    wire.reply("hello")
    _openai_client(wire, otel, http).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    span = otel.span("chat m")
    assert span.context is not None and http.seen == [span.context.span_id]


def test_the_http_request_opening_a_stream_runs_inside_the_llm_span(wire: FastWireServer, otel: Otel) -> None:
    """A streamed call: the request that opens the stream sees the LLM span as current."""
    pytest.importorskip("httpx2")
    http = _SpanAtRequest()
    wire.reply("a b")
    with agent_run(agent_name="outer", callbacks=otel.callbacks):
        list(
            _openai_client(wire, otel, http).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
    span = otel.span("chat m")
    assert span.context is not None and http.seen == [span.context.span_id]
