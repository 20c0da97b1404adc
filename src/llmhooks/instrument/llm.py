"""Decorators that turn a user's own LLM function or method into an LLM run.

    class MyLLM:
        model = "my-model"

        @llm_chat_callback()
        def chat(self, messages, **kwargs):
            return ChatResponse(message=ChatMessage(role="assistant", content="hi"))

        @llm_completion_callback()
        async def astream_complete(self, prompt, **kwargs):
            async def gen():
                for t in ["Hel", "lo"]:
                    yield CompletionResponse(text=t, delta=t)
            return gen()

    @instrument_llm(provider="acme", model="acme-1")
    def ask(prompt: str) -> str: ...

Each call gives ``llm.start``, then ``llm.token`` per streamed item, then one
``llm.end`` (or ``llm.error``). Messages or the prompt come from the arguments;
provider, model, temperature, max_tokens and plain tuning values come from the
decorator and from ``self`` (only whitelisted names, so an ``api_key`` on the
object never reaches an event). Handlers are the global and scoped ones, the
decorator's ``callbacks=`` and the object's ``callbacks`` attribute.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal, ParamSpec, TypeVar, overload

from llmhooks.core.manager import CallbackManager
from llmhooks.core.runs import Run, llm_run_of
from llmhooks.instrument._extract import delta_of, describe_model, split_input, text_of, usage_of
from llmhooks.instrument._op import Op, StreamState, _DecoratedLLMRun
from llmhooks.instrument._wrap import decorate

__all__ = ["instrument_llm", "llm_chat_callback", "llm_completion_callback"]

P = ParamSpec("P")
R = TypeVar("R")
Kind = Literal["chat", "completion"]

_INPUT_NAMES = {"chat": ("messages",), "completion": ("prompt",), None: ("messages", "prompt")}
_PROMOTED = ("temperature", "max_tokens", "tools")


class LLMOp(Op):
    """An LLM call: messages/prompt in, text and usage out, one token event per streamed item."""

    run_cls = _DecoratedLLMRun
    keep_items = False

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        kind: Kind | None,
        provider: str | None,
        model: str | None,
        callbacks: Any,
        method: bool | None,
    ) -> None:
        Op.__init__(self, fn, callbacks, method)
        self.key = "llm"
        self.kind = kind
        self.provider = provider
        self.model = model
        names = _INPUT_NAMES[kind]
        self.input_name: str | None = next((n for n in names if n in self.param_names), None)
        self.input_index = self.param_names.index(self.input_name) if self.input_name else 0
        self.input_index += 1 if self.method else 0
        self.fname = fname = getattr(fn, "__name__", "")
        self.streaming = (
            inspect.isgeneratorfunction(fn)
            or inspect.isasyncgenfunction(fn)
            or fname.startswith(("stream", "astream"))
        )

    def describe(self, owner: Any) -> dict[str, Any] | None:
        return describe_model(owner)

    def _input(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, str | None]:
        name = self.input_name
        if name is not None and name in kwargs:
            return kwargs[name], name
        if len(args) > self.input_index:
            return args[self.input_index], None
        for other in ("messages", "prompt"):
            if other in kwargs:
                return kwargs[other], other
        return None, None

    def open(
        self,
        manager: CallbackManager,
        owner: Any,
        described: dict[str, Any] | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Run:
        value, used = self._input(args, kwargs)
        messages, prompt = split_input(value)
        provider, model = self.provider, self.model
        temperature = max_tokens = tools = params = None
        if described:
            provider = provider or described.get("provider")
            model = model or described.get("model")
            temperature = described.get("temperature")
            max_tokens = described.get("max_tokens")
            params = described.get("params")
        if provider is None and model is None:  # nothing else names the call: its function does
            model = self.fname or None
        if kwargs:
            extra = {k: v for k, v in kwargs.items() if k != used and k not in _PROMOTED}
            if extra:
                params = {**params, **extra} if params else extra
            temperature = kwargs.get("temperature", temperature)
            max_tokens = kwargs.get("max_tokens", max_tokens)
            tools = kwargs.get("tools")
            streaming = self.streaming or bool(kwargs.get("stream"))
        else:
            streaming = self.streaming
        payload = (messages, prompt, temperature, max_tokens, tools, streaming, params)
        return llm_run_of(_DecoratedLLMRun, manager, provider, model, payload)  # type: ignore[no-any-return]

    def end_fields(self, result: Any) -> dict[str, Any]:
        if type(result) is str:  # the common answer of a custom LLM: nothing else to read
            return {"response": result}
        fields = usage_of(result)
        text = text_of(result)
        fields["response"] = text if text is not None else result
        return fields

    def on_item(self, run: Any, item: Any, state: StreamState) -> None:
        state.count += 1
        state.last = item
        if run.is_recording:
            run.token(delta_of(item))

    async def aon_item(self, run: Any, item: Any, state: StreamState) -> None:
        state.count += 1
        state.last = item
        if run.is_recording:
            await run.atoken(delta_of(item))

    def stream_end_fields(self, state: StreamState, incomplete: bool) -> dict[str, Any]:
        fields = usage_of(state.last) if state.last is not None else {}
        if incomplete:
            fields["incomplete"] = True
        return fields  # the response defaults to the streamed text (LLMRun)


@overload
def instrument_llm(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def instrument_llm(
    fn: None = None,
    /,
    *,
    provider: str | None = None,
    model: str | None = None,
    kind: Kind | None = None,
    callbacks: Any = None,
    method: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def instrument_llm(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    provider: str | None = None,
    model: str | None = None,
    kind: Kind | None = None,
    callbacks: Any = None,
    method: bool | None = None,
) -> Any:
    """Make each call of the decorated function an LLM run.

    Works on ``def``, ``async def``, generator and async-generator functions and
    on functions that return a generator (the run then lasts until the stream
    is exhausted, raises or is closed). Usable bare (``@instrument_llm``) or
    with arguments.

    Args:
        provider: provider name for the events (else ``self.provider``).
        model: model name (else ``self.model``/``model_name``/``metadata.model_name``;
            when neither a provider nor a model is known, the function's name).
        kind: ``"chat"`` reads ``messages``, ``"completion"`` reads ``prompt``;
            None reads whichever the function has, else its first argument.
        callbacks: handlers for every call, added to the global and scoped ones.
        method: whether the first argument is ``self``; None decides from its name.

    Raises:
        InvalidHandlerError: ``callbacks`` is not a handler or a list of them.
    """

    def make(f: Callable[..., Any]) -> Any:
        return decorate(
            lambda g: LLMOp(g, kind=kind, provider=provider, model=model, callbacks=callbacks, method=method),
            f,
        )

    if fn is not None:
        return make(fn)
    return make


def llm_chat_callback(
    *, provider: str | None = None, model: str | None = None, callbacks: Any = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator factory for chat methods of a custom LLM class (LlamaIndex's name).

    For ``chat(self, messages, **kwargs)``, ``stream_chat``, ``achat`` and
    ``astream_chat``: messages from the arguments, model from ``self``.
    """
    return instrument_llm(provider=provider, model=model, kind="chat", callbacks=callbacks, method=True)


def llm_completion_callback(
    *, provider: str | None = None, model: str | None = None, callbacks: Any = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator factory for completion methods of a custom LLM class (LlamaIndex's name).

    For ``complete(self, prompt, formatted=False, **kwargs)``,
    ``stream_complete``, ``acomplete`` and ``astream_complete``.
    """
    return instrument_llm(provider=provider, model=model, kind="completion", callbacks=callbacks, method=True)
