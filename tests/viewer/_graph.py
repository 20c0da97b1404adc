"""A small LangGraph graph for the viewer's recordings: a model node, then a ToolNode with two calls."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode

from llmhooks.integrations.langchain import CallbackHandler

__all__ = ["run_graph"]


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


@tool
def plus(a: int, b: int) -> int:
    """Add two integers."""
    return operator.add(a, b)


@tool
def divide(a: int, b: int) -> float:
    """Divide a by b."""
    return a / b


def run_graph(handlers: list[Any]) -> None:
    """Invoke the graph once with ``handlers`` on the llmhooks bridge: model -> plus(1, 2), divide(1, 0)."""
    calls = [
        {"name": "plus", "args": {"a": 1, "b": 2}, "id": "call-1"},
        {"name": "divide", "args": {"a": 1, "b": 0}, "id": "call-2"},
    ]
    usage = {"input_tokens": 12, "output_tokens": 7, "total_tokens": 19}
    reply = AIMessage(content="", tool_calls=calls, usage_metadata=usage)  # type: ignore[arg-type]
    model = GenericFakeChatModel(messages=iter([reply]))

    def agent(state: State) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(State)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode([plus, divide], handle_tool_errors=True))
    graph.add_edge(START, "agent")
    graph.add_edge("agent", "tools")
    graph.add_edge("tools", END)
    app = graph.compile()
    # one tool at a time: two tools in parallel threads reach the live printer and the recorder
    # in either order, and the tests compare what the two saw
    app.invoke(
        {"messages": [HumanMessage("1+2 and 1/0?")]},
        config={"callbacks": [CallbackHandler(handlers)], "max_concurrency": 1},
    )
