"""The ``openai`` provider: Chat Completions through the official ``openai`` SDK.

Works with OpenAI and any OpenAI-compatible server (vLLM, Ollama, LM Studio...)
through ``base_url``; for Azure or a custom setup pass your own client
(``client=``/``async_client=``). Streams ask for usage in the last chunk
(``stream_options={"include_usage": True}``) so counts are exact; a server that
sends none gets estimated counts, marked ``usage_estimated``. ``max_tokens`` is sent
as ``max_completion_tokens`` to OpenAI itself and as ``max_tokens`` to a custom
``base_url`` (what compatible servers understand). SDK exceptions reach the
caller unchanged.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

from llmhooks.errors import MissingExtraError

try:
    import openai
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError("LLM(provider='openai') needs 'openai': pip install 'llmhooks[openai]'") from None

from llmhooks.integrations.openai.parse import ChatChunks, from_chat_completion
from llmhooks.llm.providers.base import ChatRequest, SDKProvider, StreamItem, unwrapped
from llmhooks.llm.response import ChatResponse

__all__ = ["OpenAIProvider"]


class OpenAIProvider(SDKProvider):
    """Chat Completions with the ``openai`` SDK; clients are made on first use."""

    name = "openai"
    default_model = "gpt-5.4-mini"

    client_class = openai.OpenAI
    async_client_class = openai.AsyncOpenAI

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        client: Any = None,
        async_client: Any = None,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        if base_url is not None and api_key is None:
            # local servers need no key, but the SDK insists on one
            api_key = (
                (client_options or {}).get("api_key") or os.environ.get("OPENAI_API_KEY") or "not-needed"
            )
        SDKProvider.__init__(
            self,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            client=client,
            async_client=async_client,
            client_options=client_options,
        )
        given = client if client is not None else async_client
        url = base_url or (str(getattr(given, "base_url", "")) if given is not None else "")
        self._max_tokens_key = "max_completion_tokens" if not url or "api.openai.com" in url else "max_tokens"

    def params(self, request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
        """The keyword arguments for ``chat.completions.create``."""
        p: dict[str, Any] = {"model": request.model, "messages": request.messages}
        if request.tools:
            p["tools"] = request.tools
        if request.tool_choice is not None:
            p["tool_choice"] = request.tool_choice
        if request.temperature is not None:
            p["temperature"] = request.temperature
        if request.max_tokens is not None:
            p[self._max_tokens_key] = request.max_tokens
        p.update(request.options)
        if stream:
            p["stream"] = True
            p["stream_options"] = {**(p.get("stream_options") or {}), "include_usage": True}
        return p

    def complete(self, request: ChatRequest) -> ChatResponse:
        create = unwrapped(self.client.chat.completions.create)
        return from_chat_completion(create(**self.params(request)), request.messages)

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        create = unwrapped(self.async_client.chat.completions.create)
        return from_chat_completion(await create(**self.params(request)), request.messages)

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        create = unwrapped(self.client.chat.completions.create)
        chunks = ChatChunks(request.messages, request.model)
        with create(**self.params(request, stream=True)) as sdk_stream:
            for chunk in sdk_stream:
                text = chunks.add(chunk)
                if text:
                    yield text
        yield chunks.response()

    async def astream(self, request: ChatRequest) -> AsyncIterator[StreamItem]:
        create = unwrapped(self.async_client.chat.completions.create)
        chunks = ChatChunks(request.messages, request.model)
        async with await create(**self.params(request, stream=True)) as sdk_stream:
            async for chunk in sdk_stream:
                text = chunks.add(chunk)
                if text:
                    yield text
        yield chunks.response()
