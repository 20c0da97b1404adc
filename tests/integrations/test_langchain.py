"""The LangChain/LangGraph callback bridge, driven by real LangGraph graphs."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph", reason="needs langgraph")

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, interrupt

from llmhooks import Abort, BudgetExceeded, Callbacks, chain_run, current_run, set_global_callbacks
from llmhooks.events import (
    ChainEndEvent,
    ChainErrorEvent,
    ChainStartEvent,
    GraphNodeEndEvent,
    GraphNodeErrorEvent,
    GraphNodeStartEvent,
    LLMEndEvent,
    LLMStartEvent,
    LLMTokenEvent,
    RetrievalEndEvent,
    RetrievalStartEvent,
    ToolEndEvent,
    ToolErrorEvent,
    ToolStartEvent,
)
from llmhooks.integrations.langchain import AsyncCallbackHandler, CallbackHandler
from llmhooks.testing import RecordingCallbacks, reset


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def divide(a: int, b: int) -> float:
    """Divide a by b."""
    return a / b


def tool_calling_model(tool_name: str = "add", args: dict[str, Any] | None = None) -> GenericFakeChatModel:
    call = {"name": tool_name, "args": args or {"a": 1, "b": 2}, "id": "call-1"}
    reply = AIMessage(
        content="",
        tool_calls=[call],
        usage_metadata={
            "input_tokens": 12,
            "output_tokens": 7,
            "total_tokens": 19,
            "input_token_details": {"cache_read": 4},
            "output_token_details": {"reasoning": 3},
        },
        response_metadata={"finish_reason": "tool_calls"},
    )
    return GenericFakeChatModel(messages=iter([reply]))


def agent_and_tools_graph(model: GenericFakeChatModel, tools: list[Any], **tool_node: Any) -> Any:
    """Two nodes: 'agent' asks the model, 'tools' runs the tool call it made."""

    def agent(state: State) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(State)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools, **tool_node))
    graph.add_edge(START, "agent")
    graph.add_edge("agent", "tools")
    graph.add_edge("tools", END)
    return graph.compile()


def test_two_node_graph_with_a_tool_reports_nodes_llm_and_tool_with_parents() -> None:
    """Graph run -> node runs (steps 1, 2) -> LLM and tool runs, all linked in one trace."""
    rec = RecordingCallbacks()
    app = agent_and_tools_graph(tool_calling_model(), [add])
    out = app.invoke({"messages": [HumanMessage("1+2?")]}, config={"callbacks": [CallbackHandler(rec)]})
    assert out["messages"][-1].content == "3"

    assert rec.types() == [
        "chain.start",
        "graph.node_start", "llm.start", "llm.end", "graph.node_end",
        "graph.node_start", "tool.start", "tool.end", "graph.node_end",
        "chain.end",
    ]  # fmt: skip
    graph = rec.of_type(ChainStartEvent)[0]
    nodes = rec.of_type(GraphNodeStartEvent)
    assert graph.chain_name == "LangGraph" and graph.parent_run_id is None
    assert [(n.node_id, n.step, n.parent_run_id) for n in nodes] == [
        ("agent", 1, graph.run_id),
        ("tools", 2, graph.run_id),
    ]
    assert nodes[0].inputs["messages"][0].content == "1+2?"
    llm_start = rec.of_type(LLMStartEvent)[0]
    tool_start = rec.of_type(ToolStartEvent)[0]
    assert llm_start.parent_run_id == nodes[0].run_id
    assert tool_start.parent_run_id == nodes[1].run_id
    assert {e.trace_id for e in rec.events} == {graph.trace_id}
    assert llm_start.messages == [{"role": "user", "content": "1+2?"}]

    end = rec.of_type(LLMEndEvent)[0]
    assert (end.input_tokens, end.output_tokens, end.total_tokens) == (12, 7, 19)
    assert (end.cached_input_tokens, end.reasoning_tokens, end.finish_reason) == (4, 3, "tool_calls")
    assert end.tool_calls[0]["name"] == "add"
    assert (tool_start.tool_name, tool_start.tool_call_id) == ("add", "call-1")
    assert tool_start.arguments == {"a": 1, "b": 2}
    assert rec.of_type(ToolEndEvent)[0].result == "3"
    node_end = rec.of_type(GraphNodeEndEvent)[1]
    assert node_end.node_id == "tools" and node_end.outputs["messages"][0].content == "3"
    assert rec.of_type(ChainEndEvent)[0].result["messages"][-1].content == "3"
    rec.assert_terminated()


def test_streamed_tokens_become_token_events() -> None:
    """With streaming (stream_mode='messages'), each model chunk is an llm.token event."""
    model = GenericFakeChatModel(messages=iter([AIMessage(content="the answer is 3")]))

    def answer(state: State) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(State)
    graph.add_node("answer", answer)
    graph.add_edge(START, "answer")
    graph.add_edge("answer", END)
    rec = RecordingCallbacks()
    config: Any = {"callbacks": [CallbackHandler(rec)]}
    app = graph.compile()
    chunks = list(app.stream({"messages": [HumanMessage("?")]}, config=config, stream_mode="messages"))
    assert chunks
    tokens = rec.of_type(LLMTokenEvent)
    assert "".join(t.token for t in tokens) == "the answer is 3"
    assert [t.index for t in tokens] == list(range(len(tokens)))
    assert tokens[0].is_first and tokens[0].time_to_first_token_ms is not None
    end = rec.of_type(LLMEndEvent)[0]
    assert end.response == "the answer is 3" and end.time_to_first_token_ms is not None
    assert {t.run_id for t in tokens} == {end.run_id}


def test_failing_node_gives_node_error_and_graph_error() -> None:
    """A node that raises: graph.node_error for it, chain.error for the graph, re-raised."""

    def broken(state: State) -> dict[str, Any]:
        raise ValueError("bad state")

    graph = StateGraph(State)
    graph.add_node("broken", broken)
    graph.add_edge(START, "broken")
    graph.add_edge("broken", END)
    rec = RecordingCallbacks()
    with pytest.raises(ValueError, match="bad state"):
        graph.compile().invoke({"messages": []}, config={"callbacks": [CallbackHandler(rec)]})
    assert rec.types() == ["chain.start", "graph.node_start", "graph.node_error", "chain.error"]
    (error,) = rec.of_type(GraphNodeErrorEvent)
    assert (error.node_id, error.error_type, error.error_message) == ("broken", "ValueError", "bad state")
    assert rec.of_type(ChainErrorEvent)[0].error_type == "ValueError"
    rec.assert_terminated()


class _AbortsOnErrors(Callbacks):
    def on_graph_node_error(self, event: GraphNodeErrorEvent) -> None:
        raise Abort("refused on the node's error event")

    def on_chain_error(self, event: ChainErrorEvent) -> None:
        raise Abort("refused on the graph's error event")


def test_a_handler_aborting_on_an_error_event_never_replaces_the_graphs_exception() -> None:
    """The node's own exception reaches the caller; every error event is still delivered."""

    def broken(state: State) -> dict[str, Any]:
        raise ValueError("bad state")

    graph = StateGraph(State)
    graph.add_node("broken", broken)
    graph.add_edge(START, "broken")
    graph.add_edge("broken", END)
    rec = RecordingCallbacks()
    handler = CallbackHandler([_AbortsOnErrors(), rec])
    with pytest.raises(ValueError, match="bad state"):
        graph.compile().invoke({"messages": []}, config={"callbacks": [handler]})
    assert rec.types() == ["chain.start", "graph.node_start", "graph.node_error", "chain.error"]


async def test_async_a_handler_aborting_on_an_error_event_never_replaces_the_graphs_exception() -> None:
    """The same through the async handler."""

    async def broken(state: State) -> dict[str, Any]:
        raise ValueError("bad state")

    graph = StateGraph(State)
    graph.add_node("broken", broken)
    graph.add_edge(START, "broken")
    graph.add_edge("broken", END)
    rec = RecordingCallbacks()
    handler = AsyncCallbackHandler([_AbortsOnErrors(), rec])
    with pytest.raises(ValueError, match="bad state"):
        await graph.compile().ainvoke({"messages": []}, config={"callbacks": [handler]})
    assert rec.types() == ["chain.start", "graph.node_start", "graph.node_error", "chain.error"]


def test_tool_that_raises_is_a_tool_error() -> None:
    """A tool raising inside ToolNode is reported as tool.error (the graph goes on)."""
    rec = RecordingCallbacks()
    model = tool_calling_model("divide", {"a": 1, "b": 0})
    app = agent_and_tools_graph(model, [divide], handle_tool_errors=True)
    out = app.invoke({"messages": [HumanMessage("1/0?")]}, config={"callbacks": [CallbackHandler(rec)]})
    assert out["messages"][-1].status == "error"
    (error,) = rec.of_type(ToolErrorEvent)
    assert (error.tool_name, error.error_type) == ("divide", "ZeroDivisionError")
    assert "tool.end" not in rec.types()  # a ToolErrorEvent is a ToolEndEvent (seed 004), not a tool.end
    rec.assert_terminated()


async def test_async_graph_awaits_async_handlers_in_order() -> None:
    """ainvoke with AsyncCallbackHandler awaits handlers' async methods for every event."""
    order: list[str] = []

    class AsyncOnly(Callbacks):
        async def on_graph_node_start_async(self, event: GraphNodeStartEvent) -> None:
            order.append(f"start:{event.node_id}")

        async def on_graph_node_end_async(self, event: GraphNodeEndEvent) -> None:
            order.append(f"end:{event.node_id}")

    rec = RecordingCallbacks()
    app = agent_and_tools_graph(tool_calling_model(), [add])
    handler = AsyncCallbackHandler([rec, AsyncOnly()])
    await app.ainvoke({"messages": [HumanMessage("1+2?")]}, config={"callbacks": [handler]})
    assert order == ["start:agent", "end:agent", "start:tools", "end:tools"]
    assert [n.step for n in rec.of_type(GraphNodeStartEvent)] == [1, 2]
    rec.assert_terminated()


async def test_sync_handler_also_serves_async_graphs() -> None:
    """The sync CallbackHandler works under ainvoke too, with the same event tree."""
    rec = RecordingCallbacks()
    app = agent_and_tools_graph(tool_calling_model(), [add])
    await app.ainvoke({"messages": [HumanMessage("1+2?")]}, config={"callbacks": [CallbackHandler(rec)]})
    nodes = rec.of_type(GraphNodeStartEvent)
    assert [n.node_id for n in nodes] == ["agent", "tools"]
    assert rec.of_type(ToolStartEvent)[0].parent_run_id == nodes[1].run_id
    rec.assert_terminated()
    assert current_run() is None


class ParallelState(TypedDict):
    log: Annotated[list[str], operator.add]


def test_parallel_branches_keep_their_own_parents() -> None:
    """Two nodes in one step (run on threads by LangGraph) each parent their own LLM run."""
    models = {n: GenericFakeChatModel(messages=iter([AIMessage(f"from {n}")])) for n in ("left", "right")}

    def branch(name: str) -> Any:
        def run(state: ParallelState) -> dict[str, Any]:
            return {"log": [models[name].invoke(name).content]}

        return run

    graph = StateGraph(ParallelState)
    for name in models:
        graph.add_node(name, branch(name))
        graph.add_edge(START, name)
        graph.add_edge(name, END)
    rec = RecordingCallbacks()
    out = graph.compile().invoke({"log": []}, config={"callbacks": [CallbackHandler(rec)]})
    assert sorted(out["log"]) == ["from left", "from right"]
    nodes = {n.node_id: n for n in rec.of_type(GraphNodeStartEvent)}
    assert {n.step for n in nodes.values()} == {1}
    for end in rec.of_type(LLMEndEvent):
        node_id = end.response.removeprefix("from ")
        assert end.parent_run_id == nodes[node_id].run_id
    rec.assert_terminated()


class Shelf(BaseRetriever):
    """A retriever over a fixed list of documents."""

    docs: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [d for d in self.docs if query in d.page_content]


def test_retriever_in_a_node_gives_retrieval_events() -> None:
    """A retriever called in a node reports its query and the documents it found."""
    shelf = Shelf(docs=[Document("cats purr", metadata={"id": 1}), Document("dogs bark", metadata={"id": 2})])

    def search(state: State) -> dict[str, Any]:
        found = shelf.invoke("cats")
        return {"messages": [AIMessage(content=found[0].page_content)]}

    graph = StateGraph(State)
    graph.add_node("search", search)
    graph.add_edge(START, "search")
    graph.add_edge("search", END)
    rec = RecordingCallbacks()
    graph.compile().invoke({"messages": []}, config={"callbacks": [CallbackHandler(rec)]})
    start, end = rec.of_type(RetrievalStartEvent)[0], rec.of_type(RetrievalEndEvent)[0]
    assert (start.query, start.retriever) == ("cats", "Shelf")
    assert end.documents == [{"page_content": "cats purr", "metadata": {"id": 1}}]
    assert start.parent_run_id == rec.of_type(GraphNodeStartEvent)[0].run_id


def test_abort_from_a_handler_stops_the_graph() -> None:
    """BudgetExceeded raised on llm.start stops the model call and the graph run."""

    class Budget(Callbacks):
        def on_llm_start(self, event: LLMStartEvent) -> None:
            raise BudgetExceeded("over budget", limit=0.0, spent=1.0)

    rec = RecordingCallbacks()
    app = agent_and_tools_graph(tool_calling_model(), [add])
    with pytest.raises(BudgetExceeded):
        config: Any = {"callbacks": [CallbackHandler([rec, Budget()])]}
        app.invoke({"messages": [HumanMessage("1+2?")]}, config=config)
    assert rec.of_type(ToolStartEvent) == []
    assert rec.types()[-1] == "chain.error"
    rec.assert_terminated()


def test_graph_run_inside_an_llmhooks_run_is_its_child() -> None:
    """A graph invoked inside one of our runs hangs under it in the same trace."""
    rec = RecordingCallbacks()
    app = agent_and_tools_graph(tool_calling_model(), [add])
    with chain_run("pipeline", callbacks=rec) as outer:
        app.invoke({"messages": [HumanMessage("1+2?")]}, config={"callbacks": [CallbackHandler(rec)]})
    graph = next(e for e in rec.of_type(ChainStartEvent) if e.chain_name == "LangGraph")
    assert graph.parent_run_id == outer.run_id and graph.trace_id == outer.trace_id


def test_handler_without_callbacks_uses_global_handlers() -> None:
    """CallbackHandler() with no callbacks reports to the global handlers."""
    rec = RecordingCallbacks()
    set_global_callbacks([rec])
    try:
        app = agent_and_tools_graph(tool_calling_model(), [add])
        app.invoke({"messages": [HumanMessage("1+2?")]}, config={"callbacks": [CallbackHandler()]})
    finally:
        reset()
    assert [n.node_id for n in rec.of_type(GraphNodeStartEvent)] == ["agent", "tools"]


def test_user_tags_pass_through_and_internal_tags_do_not() -> None:
    """Tags given in the LangChain config reach events; LangChain's own 'x:y' tags do not."""
    rec = RecordingCallbacks()
    app = agent_and_tools_graph(tool_calling_model(), [add])
    config: Any = {"callbacks": [CallbackHandler(rec)], "tags": ["checkout"]}
    app.invoke({"messages": [HumanMessage("1+2?")]}, config=config)
    assert {tuple(e.tags) for e in rec.events} == {("checkout",)}


def test_interrupt_ends_the_node_instead_of_failing_it() -> None:
    """A LangGraph interrupt is control flow: node_end with the interrupt, not node_error."""

    class Answer(TypedDict):
        answer: str

    def ask(state: Answer) -> dict[str, Any]:
        return {"answer": interrupt({"question": "ship it?"})}

    graph = StateGraph(Answer)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    app = graph.compile(checkpointer=InMemorySaver())
    rec = RecordingCallbacks()
    config: Any = {"callbacks": [CallbackHandler(rec)], "configurable": {"thread_id": "t1"}}
    app.invoke({"answer": ""}, config=config)
    assert app.invoke(Command(resume="yes"), config=config) == {"answer": "yes"}
    assert rec.of_type(GraphNodeErrorEvent) == []
    first, second = rec.of_type(GraphNodeEndEvent)
    assert first.outputs["__interrupt__"][0].value == {"question": "ship it?"}
    assert second.outputs == {"answer": "yes"}
    rec.assert_terminated()


async def test_async_handler_awaits_token_handlers_while_streaming() -> None:
    """astream with AsyncCallbackHandler: on_llm_token_async is awaited for each token."""
    tokens: list[str] = []

    class Tokens(Callbacks):
        async def on_llm_token_async(self, event: LLMTokenEvent) -> None:
            tokens.append(event.token)

    model = GenericFakeChatModel(messages=iter([AIMessage(content="streamed reply here")]))

    async def answer(state: State) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    graph = StateGraph(State)
    graph.add_node("answer", answer)
    graph.add_edge(START, "answer")
    graph.add_edge("answer", END)
    config: Any = {"callbacks": [AsyncCallbackHandler(Tokens())]}
    app = graph.compile()
    async for _ in app.astream({"messages": [HumanMessage("?")]}, config=config, stream_mode="messages"):
        pass
    assert "".join(tokens) == "streamed reply here"


def _graph_calling_our_llm(rec: RecordingCallbacks) -> Any:
    """One node that calls our own LLM facade and an instrumented tool."""
    from llmhooks import LLM, tool_run

    llm = LLM(callbacks=rec)

    def node(state: State) -> dict[str, Any]:
        with tool_run("lookup", callbacks=rec) as run:
            run.finish(result="x")
        return {"messages": [AIMessage(llm.chat("What is 2+2?").text)]}

    graph = StateGraph(State)
    graph.add_node("ask", node)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph.compile()


def test_our_runs_inside_a_node_are_children_of_the_node() -> None:
    """An LLM call or tool run made inside a LangGraph node hangs under that node's run."""
    from llmhooks.events import LLMStartEvent

    rec = RecordingCallbacks()
    app = _graph_calling_our_llm(rec)
    app.invoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [CallbackHandler(rec)]})
    node = next(e for e in rec.of_type(GraphNodeStartEvent) if e.node_id == "ask")
    llm_start = rec.of_type(LLMStartEvent)[0]
    tool_start = next(e for e in rec.of_type(ToolStartEvent) if e.tool_name == "lookup")
    assert llm_start.parent_run_id == node.run_id and tool_start.parent_run_id == node.run_id
    assert llm_start.trace_id == node.trace_id
    assert current_run() is None  # nothing leaks into the caller's context


async def test_async_graph_leaves_no_run_current_in_the_caller() -> None:
    """Under ainvoke (starts and ends in different tasks) nothing leaks into the caller's context."""
    rec = RecordingCallbacks()
    app = _graph_calling_our_llm(rec)
    await app.ainvoke({"messages": [HumanMessage("hi")]}, config={"callbacks": [AsyncCallbackHandler(rec)]})
    assert current_run() is None
    rec.assert_terminated()


def test_abort_in_an_end_handler_leaves_no_run_current() -> None:
    """A handler aborting on a chain's end propagates, and leaves the caller's context clean."""
    from langchain_core.runnables import RunnableLambda

    from llmhooks import Abort

    class Reject(Callbacks):
        def on_chain_end(self, event: ChainEndEvent) -> None:
            raise Abort("output rejected")

    with pytest.raises(Abort):
        RunnableLambda(lambda x: x).invoke(1, config={"callbacks": [CallbackHandler(Reject())]})
    assert current_run() is None


def test_top_level_stream_paused_between_items_does_not_parent_the_consumers_runs() -> None:
    """Runs the consumer starts while reading a LangChain stream are not children of it."""
    from langchain_core.runnables import RunnableLambda

    from llmhooks import llm_run

    def gen(x: Any) -> Any:
        yield from range(3)

    rec = RecordingCallbacks()
    stream = RunnableLambda(gen).stream(1, config={"callbacks": [CallbackHandler(rec)]})
    next(stream)
    with llm_run(model="mine", callbacks=rec):
        pass
    list(stream)
    mine = next(e for e in rec.events if e.type == "llm.start")
    assert mine.parent_run_id is None and current_run() is None


def test_errors_reported_to_the_bridge_follow_cores_one_ending_rule() -> None:
    """What LangChain reports through ``on_chain_error`` ends the run as any producer's
    run ends: ``GeneratorExit`` (a stream stopped by its consumer) an incomplete end, a
    ``KeyboardInterrupt`` a cancelled error, an exception an error."""
    from uuid import uuid4

    rec = RecordingCallbacks()
    handler = CallbackHandler(rec)
    outcomes = {}
    for error in (GeneratorExit(), KeyboardInterrupt(), KeyError("k")):
        run_id = uuid4()
        handler.on_chain_start({"name": "chain"}, {"x": 1}, run_id=run_id)
        handler.on_chain_error(error, run_id=run_id)
        terminal = rec.events[-1]
        outcomes[type(error).__name__] = (
            terminal.type,
            getattr(terminal, "incomplete", None),
            getattr(terminal, "cancelled", None),
        )
    assert outcomes == {
        "GeneratorExit": ("chain.end", True, None),
        "KeyboardInterrupt": ("chain.error", None, True),
        "KeyError": ("chain.error", None, False),
    }


def test_a_chat_model_given_an_image_keeps_its_data_out_of_the_llm_start() -> None:
    """A LangChain message with an inline image: the LLM start names the image, never holds its data."""
    import base64
    import json

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(992)).decode()
    rec = RecordingCallbacks()
    model = GenericFakeChatModel(messages=iter([AIMessage(content="a cat")]))
    question = HumanMessage(
        content=[
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        ]
    )
    model.invoke([question], config={"callbacks": [CallbackHandler(rec)]})
    [start] = rec.of_type(LLMStartEvent)
    assert start.messages[0]["content"][1]["image_url"]["url"] == "<image/png: 1000 bytes>"  # type: ignore[index]
    assert png[:40] not in json.dumps([e.to_dict() for e in rec.events])
    assert question.content[1]["image_url"]["url"].endswith(png)  # type: ignore[index]  # the caller's message is intact


def test_a_graph_given_an_image_keeps_its_data_out_of_every_event() -> None:
    """A graph's input holds an image: the graph, node and LLM events name it, none holds its data."""
    import base64
    import json

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(992)).decode()
    model = GenericFakeChatModel(messages=iter([AIMessage(content="a cat")]))

    def agent(state: State) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(State)
    graph.add_node("agent", agent)
    graph.add_edge(START, "agent")
    graph.add_edge("agent", END)
    question = HumanMessage(
        content=[
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        ]
    )
    rec = RecordingCallbacks()
    out = graph.compile().invoke({"messages": [question]}, config={"callbacks": [CallbackHandler(rec)]})
    assert out["messages"][-1].content == "a cat"
    assert rec.types() == [
        "chain.start",
        "graph.node_start",
        "llm.start",
        "llm.end",
        "graph.node_end",
        "chain.end",
    ]
    for event in rec.events:
        assert png[:40] not in json.dumps(event.to_dict()), event.type
    [start] = rec.of_type(ChainStartEvent)
    assert start.inputs["messages"][0]["content"][1]["image_url"]["url"] == "<image/png: 1000 bytes>"  # type: ignore[index]
