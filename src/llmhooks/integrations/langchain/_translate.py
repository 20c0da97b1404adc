"""LangChain callbacks to llmhooks runs: which run, which fields, which parent, what to emit.

    translator = Translator(callbacks)
    emit = translator.on_chain_end({"answer": 42}, run_id=lc_run_id)   # an Emit, or None
    if emit is not None:
        emit.call(*emit.args, **emit.fields)    # async code: await emit.acall(...)

Each ``on_*`` method takes LangChain's arguments for that callback, updates the run
table and returns the one ``Run`` call to make, without making it. So the sync and
async handlers (``_handlers``) share every decision and differ only in whether
they call ``start``/``finish``/``error``/``token`` or await the ``a*`` twin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, Final, TypeVar, final
from uuid import UUID

from llmhooks.core.context import CallbacksLike, manager_for
from llmhooks.core.held import HeldRun
from llmhooks.core.runs import ChainRun, LLMRun, NodeRun, RetrievalRun, Run, ToolRun
from llmhooks.core.scope import Activation, activate, deactivate
from llmhooks.events._ids import new_run_id
from llmhooks.integrations.langchain._fields import (
    bubble_up_outputs,
    document_dict,
    message_dict,
    model_name,
    runnable_name,
    token_text,
    tool_outcome,
    usage_fields,
    user_tags,
)
from llmhooks.integrations.langchain._images import scrub
from llmhooks.vlm import scan_images

__all__ = ["CALLBACKS", "Emit", "Translator"]

_HIDDEN_TAG = "langsmith:hidden"
_R = TypeVar("_R", bound=Run)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_SCOPES = (ChainRun, NodeRun, ToolRun)  # runs whose code may start runs of its own
# runs made current by their start callback, until their end callback (sync LangChain only)
_ACTIVE: dict[int, Activation] = {}


@final
class Emit:
    """One call on a run: ``call`` from sync code, ``acall`` (awaited) from async code.

    Make the call inside ``with emit:``. If it raises (a start handler aborted), ``undo``
    runs before the exception propagates: the run is forgotten, so LangChain's later
    callbacks for it are no-ops.
    """

    __slots__ = ("acall", "args", "call", "fields", "opens", "scope", "undo")

    def __init__(
        self,
        call: Callable[..., object],
        acall: Callable[..., Awaitable[object]],
        args: tuple[Any, ...] = (),
        fields: dict[str, Any] | None = None,
        undo: Callable[[], object] | None = None,
        scope: Run | None = None,
        opens: bool = False,
    ) -> None:
        self.call = call
        self.acall = acall
        self.args = args
        self.fields = fields or {}
        self.undo = undo
        self.scope = scope if isinstance(scope, _SCOPES) else None
        self.opens = opens

    def settle_context(self) -> None:
        """After the call: make a started chain/node/tool run current, or undo that at its end.

        In sync code LangChain calls a runnable's start and end callbacks inline, in the
        context the runnable's own code runs in, so code inside a node or tool (our LLM
        facade, a decorated function) gets that run as its parent. Only our own change is
        undone. Under asyncio, starts and ends come from different tasks, so nothing is set.
        """
        run = self.scope
        if run is None:
            return
        if self.opens:
            if _loop_running():
                # async LangChain opens a runnable in one task and ends it in another: a
                # contextvar set here would outlive the run in the caller's context
                return
            _ACTIVE[id(run)] = activate(run)
            return
        # undo what the start did: the run's parent is current again (children included)
        activation = _ACTIVE.pop(id(run), None)
        if activation is not None:
            deactivate(run, activation)

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if exc_type is not None and self.undo is not None:
            self.undo()

    @classmethod
    def start(cls, run: Run, undo: Callable[[], object], opens: bool = True) -> Emit:
        """``run.start()``; on an Abort it emits the run's error event, then re-raises.

        ``opens``: make the run current afterwards (see ``settle_context``).
        """
        return cls(run.start, run.astart, undo=undo, scope=run if opens else None, opens=opens)

    @classmethod
    def token(cls, run: LLMRun, text: str) -> Emit:
        """``run.token(text)``."""
        return cls(run.token, run.atoken, (text,))

    @classmethod
    def finish(cls, run: Run, **fields: Any) -> Emit:
        """``run.finish(**fields)``."""
        return cls(run.finish, run.afinish, fields=fields, scope=run)

    @classmethod
    def error(cls, run: Run, error: str, **fields: Any) -> Emit:
        """``run.error(error, **fields)``, for a failure reported in-band (a tool's error message)."""
        return cls(run.error, run.aerror, (error,), fields, scope=run)

    @classmethod
    def fail(cls, run: Run, error: BaseException) -> Emit:
        """End ``run`` for an exception LangChain is about to re-raise, by core's one rule
        (``HeldRun.fail``: an incomplete end, a cancelled or a plain error); what a handler
        raises on that terminal event is reported and LangChain's exception kept."""
        held = HeldRun(run)
        return cls(lambda: held.fail(error), lambda: held.afail(error), scope=run)


class _Alias:
    """A LangChain run we do not report (hidden internals): children attach to ``target``."""

    __slots__ = ("target",)

    def __init__(self, target: Run | None) -> None:
        self.target = target


def _is_bubble_up(error: BaseException) -> bool:
    # LangGraph's interrupts and parent commands are control flow, not failures;
    # matched by name so this module does not need langgraph installed
    return any(c.__name__ == "GraphBubbleUp" for c in type(error).__mro__)


class Translator:
    """Maps one handler's LangChain callbacks to llmhooks runs, keyed by LangChain's run id.

    Parent links come from LangChain's ``run_id``/``parent_run_id``, so they hold across
    threads and concurrent branches. State is one dict keyed by LangChain's run id
    (single get/set/pop operations, atomic under the GIL), so they do not interfere.
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
    ) -> Emit | None:
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
            tags=user_tags(tags),
            metadata={"langchain_run_id": str(run_id)},
        )
        self._runs[run_id] = run
        # only runs inside a tracked LangChain run (nodes and tools of a graph) become
        # current: a top-level run's callbacks come from the user's own frame or generator
        return Emit.start(run, undo=partial(self._forget, run_id), opens=parent is not None)

    def _forget(self, run_id: UUID) -> Run | _Alias | None:
        self._nodes.pop(run_id, None)
        return self._runs.pop(run_id, None)

    def _take(self, run_id: UUID, cls: type[_R]) -> _R | None:
        entry = self._forget(run_id)
        if isinstance(entry, cls) and not entry.done:
            return entry
        return None

    @staticmethod
    def _fail(run: Run | None, error: BaseException) -> Emit | None:
        if run is None:
            return None
        return Emit.fail(run, error)

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
    ) -> Emit | None:
        """A chain starts: a node run for a LangGraph node, a chain run otherwise."""
        meta = metadata or {}
        name = runnable_name(serialized, kwargs, default="chain")
        node = meta.get("langgraph_node")
        # a runnable inside a node that happens to share the node's name is not a node
        parent_node = self._nodes.get(parent_run_id) if parent_run_id is not None else None
        if node is not None and node == name and parent_node != node:
            step = meta.get("langgraph_step")
            self._nodes[run_id] = str(node)
            step = step if isinstance(step, int) else None
            family = {"node_id": str(node), "node_type": None, "step": step}
            return self._open(NodeRun, family, {"inputs": scrub(inputs)}, run_id, parent_run_id, tags)
        family = {"chain_name": str(name)}
        return self._open(ChainRun, family, {"inputs": scrub(inputs)}, run_id, parent_run_id, tags)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> Emit | None:
        """A chain or node ends: ``outputs`` for a node, ``result`` for a chain."""
        run = self._take(run_id, Run)
        if run is None:
            return None
        outputs = scrub(outputs)  # image data never in an event (llmhooks.vlm)
        if isinstance(run, NodeRun):
            return Emit.finish(run, outputs=outputs)
        return Emit.finish(run, result=outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Emit | None:
        """A chain or node fails; a LangGraph interrupt ends its node instead."""
        run = self._take(run_id, Run)
        if isinstance(run, NodeRun) and _is_bubble_up(error):
            return Emit.finish(run, **bubble_up_outputs(error))
        return self._fail(run, error)

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
    ) -> Emit | None:
        """A chat model starts: an LLM run with the first batch of messages."""
        first = messages[0] if messages else []
        return self._llm_start(
            serialized, run_id, parent_run_id, tags, metadata, kwargs, messages=list(first)
        )

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
    ) -> Emit | None:
        """A completion LLM starts: an LLM run with the first prompt."""
        prompt = prompts[0] if prompts else None
        return self._llm_start(serialized, run_id, parent_run_id, tags, metadata, kwargs, prompt=prompt)

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
    ) -> Emit | None:
        meta = metadata or {}
        params = kwargs.get("invocation_params") or {}
        provider = meta.get("ls_provider") or params.get("_type")
        temperature = meta.get("ls_temperature", params.get("temperature"))
        max_tokens = meta.get("ls_max_tokens", params.get("max_tokens"))
        if messages is not None:  # inline image data becomes a placeholder (llmhooks.vlm), as for the SDKs
            messages, _ = scan_images([message_dict(m) for m in messages])
        start = {
            "messages": messages,
            "prompt": prompt,
            "temperature": temperature if isinstance(temperature, (int, float)) else None,
            "max_tokens": max_tokens if isinstance(max_tokens, int) else None,
            "tools": params.get("tools"),
            "streaming": bool(params.get("stream") or params.get("streaming")),
            "params": {k: v for k, v in params.items() if k not in ("tools", "_type")} or None,
        }
        family = {"provider": provider, "model": model_name(serialized, meta, kwargs)}
        return self._open(LLMRun, family, start, run_id, parent_run_id, tags)

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> Emit | None:
        """A streamed token: a token event of its LLM run (empty text is skipped)."""
        text = token_text(token)
        if not text:
            return None
        run = self._runs.get(run_id)
        if isinstance(run, LLMRun):
            return Emit.token(run, text)
        return None

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> Emit | None:
        """An LLM ends: text, usage, finish reason and tool calls from the ``LLMResult``."""
        run = self._take(run_id, LLMRun)
        if run is None:
            return None
        return Emit.finish(run, **usage_fields(response))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Emit | None:
        """An LLM fails."""
        return self._fail(self._take(run_id, LLMRun), error)

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
    ) -> Emit | None:
        """A tool starts: a tool run with its parsed inputs (else the raw input string)."""
        name = (serialized or {}).get("name") or kwargs.get("name") or "tool"
        inputs = kwargs.get("inputs")
        family = {"tool_name": str(name), "tool_call_id": kwargs.get("tool_call_id"), "server_name": None}
        start = {"arguments": inputs if inputs is not None else input_str}
        return self._open(ToolRun, family, start, run_id, parent_run_id, tags)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> Emit | None:
        """A tool ends; a ``ToolMessage`` with ``status="error"`` is a tool error."""
        run = self._take(run_id, ToolRun)
        if run is None:
            return None
        failed, result = tool_outcome(output)
        if failed:
            return Emit.error(run, str(result), error_type="ToolMessageError")
        return Emit.finish(run, result=result)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Emit | None:
        """A tool raises."""
        return self._fail(self._take(run_id, ToolRun), error)

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
    ) -> Emit | None:
        """A retriever starts: a retrieval run with the query."""
        name = runnable_name(serialized, kwargs, default=None)
        return self._open(RetrievalRun, {"retriever": name}, {"query": query}, run_id, parent_run_id, tags)

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> Emit | None:
        """A retriever ends with its documents."""
        run = self._take(run_id, RetrievalRun)
        if run is None:
            return None
        return Emit.finish(run, documents=[document_dict(d) for d in documents])

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> Emit | None:
        """A retriever fails."""
        return self._fail(self._take(run_id, RetrievalRun), error)


# the LangChain callbacks the handlers implement: exactly the translator's on_* methods
CALLBACKS: Final = tuple(name for name in vars(Translator) if name.startswith("on_"))
