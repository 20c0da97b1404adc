"""``LLM``: one small facade over the official SDKs (and an offline stand-in), reporting every call.

    from llmhooks import LLM

    llm = LLM(callbacks=[MyCallbacks()])             # offline unless a key is set
    llm.chat("What is 2+2?").text                     # "4"
    await llm.generate("Hello")                        # async
    for delta in llm.stream("Tell me a story"): ...   # or: async for
    llm = LLM(provider="openai", model="gpt-5.4-mini", base_url="http://localhost:8000/v1")

Every call is one LLM run: ``LLMStartEvent``, an ``LLMTokenEvent`` per streamed
delta, then ``LLMEndEvent`` (usage, finish reason, tool calls, latency, time to
first token) or ``LLMErrorEvent``. Provider exceptions reach the caller unchanged.

Choosing the provider when none is given: a ``client=`` decides by its SDK; else an
``api_key`` or ``base_url`` means ``openai`` (``anthropic`` if the model starts with
``claude``); else ``OPENAI_API_KEY`` in the environment means ``openai``, else
``ANTHROPIC_API_KEY`` means ``anthropic``; else ``offline``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from llmhooks.core.context import CallbacksLike, manager_for
from llmhooks.core.runs import LLMRun
from llmhooks.llm.messages import MessagesLike, ToolsLike, to_messages, to_tools
from llmhooks.llm.providers.base import ChatRequest, Provider
from llmhooks.llm.response import ChatResponse
from llmhooks.llm.stream import ChatStream
from llmhooks.vlm import vision_llm_run

_TRANSPORT = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})

__all__ = ["LLM", "PROVIDERS"]

PROVIDERS: dict[str, str] = {
    "openai": "llmhooks.integrations.openai.provider:OpenAIProvider",
    "anthropic": "llmhooks.integrations.anthropic.provider:AnthropicProvider",
    "offline": "llmhooks.llm.offline:OfflineProvider",
}
"""Provider name -> ``module:class`` (imported when chosen, so unused SDKs are never loaded)."""


def choose_provider(
    provider: str | None,
    *,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    client: Any = None,
) -> str:
    """The provider name for these arguments, by the rule in the module docstring."""
    if provider is not None:
        return provider
    if client is not None:
        root = type(client).__module__.split(".", 1)[0]
        if root in ("openai", "anthropic"):
            return root
    if api_key is not None or base_url is not None:
        return "anthropic" if (model or "").startswith("claude") else "openai"
    if os.environ.get("OPENAI_API_KEY"):
        return "openai"
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic"
    return "offline"


def _load(name: str, kwargs: dict[str, Any]) -> Provider:
    target = PROVIDERS.get(name)
    if target is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ValueError(
            f"unknown LLM provider {name!r}; known providers: {known} (or pass a Provider instance)"
        )
    module, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    if name == "offline":
        return cls()  # type: ignore[no-any-return]
    return cls(**kwargs)  # type: ignore[no-any-return]


class LLM:
    """A chat model behind one small API, every call reported as events.

    Args:
        provider: ``"openai"``, ``"anthropic"``, ``"offline"``, a ``Provider`` instance,
            or None to choose by the rule above.
        model: the model name; each provider has a default.
        callbacks: handlers for this object's calls (added to global and scoped ones).
        api_key, base_url, timeout, max_retries: passed to the SDK client.
        client, async_client: ready SDK clients to use instead (e.g. ``AzureOpenAI``).
        client_options: other keyword arguments for the SDK client constructor.
        temperature, max_tokens: defaults for every call.
        **options: other request parameters sent with every call (``top_p=...``;
            for ``offline``, ``token_delay=`` seconds between streamed words).

    Safe to share between threads and tasks: calls keep no state on the object.

    Raises:
        ValueError: unknown provider.
        MissingExtraError: the provider's SDK is not installed.
        InvalidHandlerError: a handler in ``callbacks`` is malformed.
    """

    def __init__(
        self,
        provider: str | Provider | None = None,
        model: str | None = None,
        *,
        callbacks: CallbacksLike = None,
        api_key: str | None = None,
        base_url: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        client: Any = None,
        async_client: Any = None,
        client_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if isinstance(provider, Provider):
            self._provider = provider
            self.provider = provider.name
        else:
            self.provider = choose_provider(
                provider, model=model, api_key=api_key, base_url=base_url, client=client or async_client
            )
            self._provider = _load(
                self.provider,
                {
                    "api_key": api_key,
                    "base_url": base_url,
                    "timeout": timeout,
                    "max_retries": max_retries,
                    "client": client,
                    "async_client": async_client,
                    "client_options": client_options,
                },
            )
        self.model = model or self._provider.default_model
        manager_for(callbacks)  # validates the handlers now, not at the first call
        self.callbacks = callbacks
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.options = options

    def __repr__(self) -> str:
        return f"LLM(provider={self.provider!r}, model={self.model!r})"

    def _request(
        self,
        messages: MessagesLike,
        tools: ToolsLike,
        tool_choice: Any,
        temperature: float | None,
        max_tokens: int | None,
        model: str | None,
        options: dict[str, Any],
    ) -> ChatRequest:
        return ChatRequest(
            model=model or self.model,
            messages=to_messages(messages),
            tools=to_tools(tools),
            tool_choice=tool_choice,
            temperature=temperature if temperature is not None else self.temperature,
            max_tokens=max_tokens if max_tokens is not None else self.max_tokens,
            options={**self.options, **options} if options else self.options,
        )

    def _run(self, request: ChatRequest, streaming: bool, callbacks: CallbacksLike) -> LLMRun:
        params: dict[str, Any] | None = None
        if request.options or request.tool_choice is not None:
            # transport settings (headers, timeouts) are not part of the request's meaning
            params = {k: v for k, v in request.options.items() if k not in _TRANSPORT}
            if request.tool_choice is not None:
                params["tool_choice"] = request.tool_choice
            params = params or None
        # images in the messages make the call a VLM inference too (llmhooks.vlm)
        return vision_llm_run(
            provider=self.provider,
            model=request.model,
            messages=request.messages,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            tools=request.tools,
            streaming=streaming,
            params=params,
            callbacks=self.callbacks if callbacks is None else [self.callbacks, callbacks],
        )

    def chat(
        self,
        messages: MessagesLike,
        *,
        tools: ToolsLike = None,
        tool_choice: Any = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
        callbacks: CallbacksLike = None,
        **options: Any,
    ) -> ChatResponse:
        """Send ``messages`` (a string or OpenAI-style message dicts) and return the answer.

        ``tools`` are plain functions or ``Tool`` objects (described from their signature
        and docstring, as ``Agent`` does) or OpenAI function tool dicts (bare
        ``{"name", "parameters"}`` dicts too); the answer's ``tool_calls`` name the ones
        the model wants run, which the caller runs.

        Raises:
            TypeError, ValueError: malformed ``messages`` or ``tools``, or two tools with
                one name (before any call).
            The provider SDK's own exceptions, unchanged.
        """
        request = self._request(messages, tools, tool_choice, temperature, max_tokens, model, options)
        with self._run(request, False, callbacks) as run:
            response = self._provider.complete(request)
            if run.is_recording:
                run.finish(**response.end_fields())
        return response

    async def achat(
        self,
        messages: MessagesLike,
        *,
        tools: ToolsLike = None,
        tool_choice: Any = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
        callbacks: CallbacksLike = None,
        **options: Any,
    ) -> ChatResponse:
        """Async ``chat``: async handlers are awaited."""
        request = self._request(messages, tools, tool_choice, temperature, max_tokens, model, options)
        async with self._run(request, False, callbacks) as run:
            response = await self._provider.acomplete(request)
            if run.is_recording:
                await run.afinish(**response.end_fields())
        return response

    async def generate(
        self,
        messages: MessagesLike,
        *,
        tools: ToolsLike = None,
        tool_choice: Any = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
        callbacks: CallbacksLike = None,
        **options: Any,
    ) -> ChatResponse:
        """``await llm.generate("Hello")``: the same as ``achat``."""
        return await self.achat(
            messages,
            tools=tools,
            tool_choice=tool_choice,
            temperature=temperature,
            max_tokens=max_tokens,
            model=model,
            callbacks=callbacks,
            **options,
        )

    def stream(
        self,
        messages: MessagesLike,
        *,
        tools: ToolsLike = None,
        tool_choice: Any = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
        callbacks: CallbacksLike = None,
        **options: Any,
    ) -> ChatStream:
        """A ``ChatStream`` of text deltas, for ``for`` or ``async for``; the call starts on the first step.

        ``stream.response`` holds the whole answer (usage, tool calls) once read to the end.
        """
        request = self._request(messages, tools, tool_choice, temperature, max_tokens, model, options)
        return ChatStream(self._provider, request, lambda: self._run(request, True, callbacks))
