"""LangChain / LangGraph callback bridge: LangChain's callbacks become llmhooks events.

    from llmhooks.integrations.langchain import CallbackHandler

    graph.invoke(state, config={"callbacks": [CallbackHandler(callbacks=PrintCallbacks())]})

LangGraph is the graph engine; this module only translates. A LangGraph node (a
chain run whose name equals ``metadata["langgraph_node"]``) becomes a node run
(``graph.node_start``/``node_end``/``node_error`` with ``node_id`` and ``step``); other
chains, the graph itself included, become chain runs; chat models and LLMs become
LLM runs (streamed tokens, usage, finish reason); tools become tool runs (a
``ToolMessage`` with ``status="error"`` is a tool error); retrievers become
retrieval runs. Parent links come from LangChain's own ``run_id``/``parent_run_id``,
so they are right across threads and concurrent branches.

Use ``CallbackHandler`` (sync, runs inline) for ``invoke``/``stream``; in async code it
works too, but use ``AsyncCallbackHandler`` when your handlers have async methods
that must be awaited in order (``ainvoke``/``astream``).

Layout: ``_translate`` decides what each LangChain callback means (``_fields`` turns
LangChain's objects into event fields); ``_handlers`` holds the two handlers, which only
emit. Without ``langchain-core`` the import raises ``MissingExtraError``.
"""

from __future__ import annotations

from llmhooks.integrations.langchain._handlers import AsyncCallbackHandler, CallbackHandler

__all__ = ["AsyncCallbackHandler", "CallbackHandler"]
