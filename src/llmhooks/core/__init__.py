"""The core: handlers, dispatch, context, runs, background delivery."""

from __future__ import annotations

from llmhooks.core.background import BackgroundWorker, configure_background, flush, get_worker
from llmhooks.core.callbacks import Callbacks
from llmhooks.core.context import (
    RunContext,
    callbacks_context,
    current_run,
    get_global_callbacks,
    get_run_context,
    global_manager,
    manager_for,
    run_context,
    set_global_callbacks,
    suppress_instrumentation,
)
from llmhooks.core.generators import aisolated, isolated
from llmhooks.core.manager import CallbackManager
from llmhooks.core.runs import (
    AgentRun,
    ChainRun,
    LLMRun,
    NodeRun,
    RetrievalRun,
    Run,
    ToolRun,
    agent_run,
    chain_run,
    classify_error,
    llm_run,
    node_run,
    retrieval_run,
    tool_run,
)
from llmhooks.core.scope import RunScope, add_run_scope, remove_run_scope, use_run
from llmhooks.core.stats import HandlerStats
from llmhooks.core.threads import to_thread

__all__ = [
    "AgentRun",
    "BackgroundWorker",
    "CallbackManager",
    "Callbacks",
    "ChainRun",
    "ContextExecutor",
    "HandlerStats",
    "LLMRun",
    "NodeRun",
    "RetrievalRun",
    "Run",
    "RunContext",
    "RunScope",
    "ToolRun",
    "add_run_scope",
    "agent_run",
    "aisolated",
    "callbacks_context",
    "chain_run",
    "classify_error",
    "configure_background",
    "current_run",
    "flush",
    "get_global_callbacks",
    "get_run_context",
    "get_worker",
    "global_manager",
    "isolated",
    "llm_run",
    "manager_for",
    "node_run",
    "remove_run_scope",
    "retrieval_run",
    "run_context",
    "set_global_callbacks",
    "suppress_instrumentation",
    "to_thread",
    "tool_run",
    "use_run",
]


def __getattr__(name: str) -> object:
    if name == "ContextExecutor":  # needs concurrent.futures: loaded on first use
        from llmhooks.core.executor import ContextExecutor

        return ContextExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
