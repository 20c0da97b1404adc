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
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from llmhooks.core.context import CallbacksLike, manager_for
from llmhooks.core.runs import ChainRun, LLMRun, NodeRun, RetrievalRun, Run, ToolRun
from llmhooks.errors import MissingExtraError
from llmhooks.events._ids import new_run_id

try:
    from langchain_core.callbacks import AsyncCallbackHandler as _LCAsyncHandler
    from langchain_core.callbacks import BaseCallbackHandler
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "CallbackHandler needs 'langchain-core': pip install 'llmhooks[langchain]'"
    ) from None

__all__ = ["AsyncCallbackHandler", "CallbackHandler"]

_HIDDEN_TAG = "langsmith:hidden"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "function"}


class _Alias:
    """A LangChain run we do not report (hidden internals): children attach to ``target``."""

    __slots__ = ("target",)

    def __init__(self, target: Run | None) -> None:
        self.target = target


def _cancelled(error: BaseException) -> bool:
    return not isinstance(error, Exception) or isinstance(error, asyncio.CancelledError)


def _is_bubble_up(error: BaseException) -> bool:
    # LangGraph's interrupts and parent commands are control flow, not failures;
    # matched by name so this module does not need langgraph installed
    return any(c.__name__ == "GraphBubbleUp" for c in type(error).__mro__)


def _user_tags(tags: list[str] | None) -> list[str] | None:
    # LangChain's own tags ("seq:step:1", "graph:step:2", "langsmith:hidden") all contain ':'
    if not tags:
        return None
    kept = [t for t in tags if ":" not in t]
    return kept or None


def _message_dict(message: Any) -> Any:
    role = getattr(message, "type", None)
    if role is None:
        return message
    out: dict[str, Any] = {"role": _ROLES.get(role, role), "content": getattr(message, "content", None)}
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        out["tool_calls"] = tool_calls
    tool_call_id = getattr(message, "tool_call_id", None)
    if tool_call_id:
        out["tool_call_id"] = tool_call_id
    return out


def _token_text(token: Any) -> str:
    if isinstance(token, str):
        return token
    if isinstance(token, list):  # content blocks (e.g. Anthropic through LangChain)
        parts = []
        for block in token:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return ""


def _model_name(serialized: dict[str, Any] | None, metadata: dict[str, Any], kwargs: dict[str, Any]) -> Any:
    params = kwargs.get("invocation_params") or {}
    for value in (
        metadata.get("ls_model_name"),
        params.get("model"),
        params.get("model_name"),
        params.get("model_id"),
        kwargs.get("name"),
    ):
        if value:
            return value
    ids = (serialized or {}).get("id")
    return ids[-1] if isinstance(ids, list) and ids else None


def _usage_fields(response: Any) -> dict[str, Any]:
    """Usage, text, finish reason and tool calls of a LangChain ``LLMResult``."""
    fields: dict[str, Any] = {}
    generations = getattr(response, "generations", None) or []
    gen = generations[0][0] if generations and generations[0] else None
    message = getattr(gen, "message", None)
    if gen is not None:
        fields["response"] = gen.text
        info = getattr(gen, "generation_info", None) or {}
        meta = getattr(message, "response_metadata", None) or {}
        reason = info.get("finish_reason") or meta.get("finish_reason") or meta.get("stop_reason")
        if reason:
            fields["finish_reason"] = str(reason)
    if message is not None and getattr(message, "tool_calls", None):
        fields["tool_calls"] = list(message.tool_calls)
    usage = getattr(message, "usage_metadata", None)
    if usage:
        fields["input_tokens"] = usage.get("input_tokens")
        fields["output_tokens"] = usage.get("output_tokens")
        fields["total_tokens"] = usage.get("total_tokens")
        cached = (usage.get("input_token_details") or {}).get("cache_read")
        reasoning = (usage.get("output_token_details") or {}).get("reasoning")
        if cached is not None:
            fields["cached_input_tokens"] = cached
        if reasoning is not None:
            fields["reasoning_tokens"] = reasoning
        return fields
    llm_output = getattr(response, "llm_output", None) or {}
    token_usage = llm_output.get("token_usage") or llm_output.get("usage") or {}
    if isinstance(token_usage, dict) and token_usage:
        fields["input_tokens"] = token_usage.get("prompt_tokens", token_usage.get("input_tokens"))
        fields["output_tokens"] = token_usage.get("completion_tokens", token_usage.get("output_tokens"))
        fields["total_tokens"] = token_usage.get("total_tokens")
    return fields


def _document_dict(doc: Any) -> Any:
    if not hasattr(doc, "page_content"):
        return doc
    out: dict[str, Any] = {
        "page_content": doc.page_content,
        "metadata": dict(getattr(doc, "metadata", {}) or {}),
    }
    if getattr(doc, "id", None):
        out["id"] = doc.id
    return out


class _Bridge:
    """Translation shared by the sync and async handlers: LangChain run id -> our run.

    State is one dict keyed by LangChain's run id (single get/set/pop operations,
    atomic under the GIL), so concurrent branches and threads do not interfere.
    """

    def __init__(self, callbacks: CallbacksLike = None) -> None:
        if callbacks is not None:
            manager_for(callbacks)  # validates now, not at the first event
        self._callbacks = callbacks
        self._runs: dict[UUID, Run | _Alias] = {}
        self._nodes: dict[UUID, str] = {}  # LangChain run id -> node id, for node runs

    # run table

    def _parent(self, parent_run_id: UUID | None) -> Run | None:
        if parent_run_id is None:
            return None
        entry = self._runs.get(parent_run_id)
        if isinstance(entry, _Alias):
            return entry.target
        return entry

    def _open(
        self,
        cls: type[Run],
        family: dict[str, Any],
        start_fields: dict[str, Any],
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
    ) -> Run | None:
        if tags and _HIDDEN_TAG in tags:
            self._runs[run_id] = _Alias(self._parent(parent_run_id))
            return None
        manager = manager_for(self._callbacks)
        if manager is None:
            return None
        parent = self._parent(parent_run_id)
        run = cls(
            manager,
            family,
            start_fields,
            run_id=new_run_id(),
            parent_run_id=parent.run_id if parent is not None else None,
            trace_id=parent.trace_id if parent is not None else None,
            tags=_user_tags(tags),
            metadata={"langchain_run_id": str(run_id)},
        )
        self._runs[run_id] = run
        return run

    def _forget(self, run_id: UUID) -> Run | _Alias | None:
        self._nodes.pop(run_id, None)
        return self._runs.pop(run_id, None)

    def _take(self, run_id: UUID, cls: type[Run]) -> Run | None:
        entry = self._forget(run_id)
        if isinstance(entry, cls) and not entry.done:
            return entry
        return None

    # what each LangChain callback means

    def _chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> Run | None:
        meta = metadata or {}
        name = kwargs.get("name") or (serialized or {}).get("name")
        if not name:
            ids = (serialized or {}).get("id")
            name = ids[-1] if isinstance(ids, list) and ids else "chain"
        node = meta.get("langgraph_node")
        # a runnable inside a node that happens to share the node's name is not a node
        if node is not None and node == name and self._nodes.get(parent_run_id) != node:  # type: ignore[arg-type]
            step = meta.get("langgraph_step")
            self._nodes[run_id] = str(node)
            return self._open(
                    NodeRun,
                    {"node_id": str(node)},
                    {"node_type": None, "inputs": inputs, "step": step if isinstance(step, int) else None},
                    run_id,
                    parent_run_id,
                    tags,
                )
        family = {"chain_name": str(name)}
        return self._open(ChainRun, family, {"inputs": inputs}, run_id, parent_run_id, tags)

    def _llm_start(
        self,
        serialized: dict[str, Any] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
        messages: list[Any] | None = None,
        prompt: str | None = None,
    ) -> Run | None:
        meta = metadata or {}
        params = kwargs.get("invocation_params") or {}
        provider = meta.get("ls_provider") or params.get("_type")
        temperature = meta.get("ls_temperature", params.get("temperature"))
        max_tokens = meta.get("ls_max_tokens", params.get("max_tokens"))
        start = {
            "messages": [_message_dict(m) for m in messages] if messages is not None else None,
            "prompt": prompt,
            "temperature": temperature if isinstance(temperature, (int, float)) else None,
            "max_tokens": max_tokens if isinstance(max_tokens, int) else None,
            "tools": params.get("tools"),
            "streaming": bool(params.get("stream") or params.get("streaming")),
            "params": {k: v for k, v in params.items() if k not in ("tools", "_type")} or None,
        }
        family = {"provider": provider, "model": _model_name(serialized, meta, kwargs)}
        return self._open(LLMRun, family, start, run_id, parent_run_id, tags)

    def _tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        kwargs: dict[str, Any],
    ) -> Run | None:
        name = (serialized or {}).get("name") or kwargs.get("name") or "tool"
        inputs = kwargs.get("inputs")
        family = {"tool_name": str(name), "tool_call_id": kwargs.get("tool_call_id"), "server_name": None}
        start = {"arguments": inputs if inputs is not None else input_str}
        return self._open(ToolRun, family, start, run_id, parent_run_id, tags)

    def _retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        kwargs: dict[str, Any],
    ) -> Run | None:
        name = kwargs.get("name") or (serialized or {}).get("name")
        if not name:
            ids = (serialized or {}).get("id")
            name = ids[-1] if isinstance(ids, list) and ids else None
        return self._open(RetrievalRun, {"retriever": name}, {"query": query}, run_id, parent_run_id, tags)

    @staticmethod
    def _chain_end_fields(run: Run, outputs: Any) -> dict[str, Any]:
        if isinstance(run, NodeRun):
            return {"outputs": outputs}
        return {"result": outputs}

    @staticmethod
    def _tool_outcome(output: Any) -> tuple[bool, Any]:
        """``(failed, result)`` of a tool's output; a ``ToolMessage`` may flag an error."""
        content = getattr(output, "content", output) if hasattr(output, "tool_call_id") else output
        return getattr(output, "status", None) == "error", content

    @staticmethod
    def _bubble_up_outputs(error: BaseException) -> dict[str, Any]:
        value = error.args[0] if error.args else None
        name = type(error).__name__
        key = "__interrupt__" if name == "GraphInterrupt" else f"__{name}__"
        return {"outputs": {key: value}}


class CallbackHandler(_Bridge, BaseCallbackHandler):
    """LangChain callback handler that reports LangChain/LangGraph runs as llmhooks events.

    Args:
        callbacks: handlers for the events (in addition to global and scoped ones).

    Runs inline (``run_inline = True``): events are emitted in the thread and order
    LangChain reports them. ``raise_error = True`` lets an ``Abort`` raised by a handler
    (``BudgetExceeded``...) stop the LangChain call; other handler failures are
    isolated by llmhooks as usual and never reach LangChain.
    """

    run_inline = True
    raise_error = True

    def __init__(self, callbacks: CallbacksLike = None) -> None:
        _Bridge.__init__(self, callbacks)

    def _emit_start(self, run: Run | None, run_id: UUID) -> None:
        if run is None:
            return
        try:
            run.start()  # on an Abort it emits the run's error event, then re-raises
        except BaseException:
            self._forget(run_id)
            raise

    def _fail(self, run: Run | None, error: BaseException) -> None:
        if run is not None:
            run.error(error, cancelled=_cancelled(error))

    # chains and graph nodes

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._emit_start(
            self._chain_start(serialized, inputs, run_id, parent_run_id, tags, metadata, kwargs), run_id
        )

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, Run)
        if run is not None:
            run.finish(**self._chain_end_fields(run, outputs))

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, Run)
        if isinstance(run, NodeRun) and _is_bubble_up(error):
            run.finish(**self._bubble_up_outputs(error))
        else:
            self._fail(run, error)

    # LLMs and chat models

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        first = messages[0] if messages else []
        started = self._llm_start(
            serialized, run_id, parent_run_id, tags, metadata, kwargs, messages=list(first)
        )
        self._emit_start(started, run_id)

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        prompt = prompts[0] if prompts else None
        self._emit_start(
            self._llm_start(serialized, run_id, parent_run_id, tags, metadata, kwargs, prompt=prompt), run_id
        )

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        text = _token_text(token)
        if not text:
            return
        run = self._runs.get(run_id)
        if isinstance(run, LLMRun):
            run.token(text)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, LLMRun)
        if run is not None:
            run.finish(**_usage_fields(response))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._fail(self._take(run_id, LLMRun), error)

    # tools

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._emit_start(self._tool_start(serialized, input_str, run_id, parent_run_id, tags, kwargs), run_id)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, ToolRun)
        if run is None:
            return
        failed, result = self._tool_outcome(output)
        if failed:
            run.error(str(result), error_type="ToolMessageError")
        else:
            run.finish(result=result)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._fail(self._take(run_id, ToolRun), error)

    # retrievers

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._emit_start(
            self._retriever_start(serialized, query, run_id, parent_run_id, tags, kwargs), run_id
        )

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, RetrievalRun)
        if run is not None:
            run.finish(documents=[_document_dict(d) for d in documents])

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._fail(self._take(run_id, RetrievalRun), error)


class AsyncCallbackHandler(_Bridge, _LCAsyncHandler):
    """The async twin of ``CallbackHandler``: handlers' async methods are awaited in order.

    Meant for ``ainvoke``/``astream``. In sync runs LangChain drives async handlers
    through a private event loop per callback, which works but is slow.
    """

    run_inline = True
    raise_error = True

    def __init__(self, callbacks: CallbacksLike = None) -> None:
        _Bridge.__init__(self, callbacks)

    async def _emit_start(self, run: Run | None, run_id: UUID) -> None:
        if run is None:
            return
        try:
            await run.astart()
        except BaseException:
            self._forget(run_id)
            raise

    async def _fail(self, run: Run | None, error: BaseException) -> None:
        if run is not None:
            await run.aerror(error, cancelled=_cancelled(error))

    async def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        await self._emit_start(
            self._chain_start(serialized, inputs, run_id, parent_run_id, tags, metadata, kwargs), run_id
        )

    async def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, Run)
        if run is not None:
            await run.afinish(**self._chain_end_fields(run, outputs))

    async def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, Run)
        if isinstance(run, NodeRun) and _is_bubble_up(error):
            await run.afinish(**self._bubble_up_outputs(error))
        else:
            await self._fail(run, error)

    async def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        first = messages[0] if messages else []
        started = self._llm_start(
            serialized, run_id, parent_run_id, tags, metadata, kwargs, messages=list(first)
        )
        await self._emit_start(started, run_id)

    async def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        prompt = prompts[0] if prompts else None
        await self._emit_start(
            self._llm_start(serialized, run_id, parent_run_id, tags, metadata, kwargs, prompt=prompt), run_id
        )

    async def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        text = _token_text(token)
        if not text:
            return
        run = self._runs.get(run_id)
        if isinstance(run, LLMRun):
            await run.atoken(text)

    async def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, LLMRun)
        if run is not None:
            await run.afinish(**_usage_fields(response))

    async def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        await self._fail(self._take(run_id, LLMRun), error)

    async def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        await self._emit_start(
            self._tool_start(serialized, input_str, run_id, parent_run_id, tags, kwargs), run_id
        )

    async def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, ToolRun)
        if run is None:
            return
        failed, result = self._tool_outcome(output)
        if failed:
            await run.aerror(str(result), error_type="ToolMessageError")
        else:
            await run.afinish(result=result)

    async def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        await self._fail(self._take(run_id, ToolRun), error)

    async def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        await self._emit_start(
            self._retriever_start(serialized, query, run_id, parent_run_id, tags, kwargs), run_id
        )

    async def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        run = self._take(run_id, RetrievalRun)
        if run is not None:
            await run.afinish(documents=[_document_dict(d) for d in documents])

    async def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        await self._fail(self._take(run_id, RetrievalRun), error)
