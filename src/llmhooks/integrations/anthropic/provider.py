"""The ``anthropic`` provider: the Messages API through the official ``anthropic`` SDK.

Takes the facade's OpenAI-style messages and tools and translates them (system
messages to ``system``, tool calls and results to ``tool_use``/``tool_result``
blocks). ``max_tokens`` is required by the API: 1024 unless given. With an SDK
that has no ``temperature`` argument (anthropic 2.x) a temperature is sent in
``extra_body``. Streams are
read event by event: text deltas become tokens, usage comes from ``message_start``
and ``message_delta``. SDK exceptions reach the caller unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

from llmhooks.errors import MissingExtraError

try:
    import anthropic
except ImportError:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        "LLM(provider='anthropic') needs 'anthropic': pip install 'llmhooks[anthropic]'"
    ) from None

from llmhooks.integrations.anthropic.parse import (
    MessageEvents,
    from_message,
    to_anthropic,
    to_anthropic_tool_choice,
    to_anthropic_tools,
)
from llmhooks.llm.providers.base import ChatRequest, SDKProvider, StreamItem, unwrapped
from llmhooks.llm.response import ChatResponse

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicProvider"]

DEFAULT_MAX_TOKENS = 1024

# anthropic 2.x has no ``temperature`` argument on ``messages.create``
_TAKES_TEMPERATURE = "temperature" in inspect.signature(anthropic.resources.Messages.create).parameters


class AnthropicProvider(SDKProvider):
    """Messages with the ``anthropic`` SDK; clients are made on first use."""

    name = "anthropic"
    default_model = "claude-sonnet-5"

    client_class = anthropic.Anthropic
    async_client_class = anthropic.AsyncAnthropic

    def params(self, request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
        """The keyword arguments for ``messages.create``."""
        system, messages = to_anthropic(request.messages)
        p: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS,
        }
        if system:
            p["system"] = system
        tools = to_anthropic_tools(request.tools)
        if tools:
            p["tools"] = tools
        choice = to_anthropic_tool_choice(request.tool_choice)
        if choice is not None:
            p["tool_choice"] = choice
        if request.temperature is not None and _TAKES_TEMPERATURE:
            p["temperature"] = request.temperature
        p.update(request.options)
        if request.temperature is not None and not _TAKES_TEMPERATURE:
            # newer SDKs dropped the argument: send it as the API field it was
            p["extra_body"] = {"temperature": request.temperature, **(p.get("extra_body") or {})}
        if stream:
            p["stream"] = True
        return p

    def complete(self, request: ChatRequest) -> ChatResponse:
        create = unwrapped(self.client.messages.create)
        return from_message(create(**self.params(request)), request.messages)

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        create = unwrapped(self.async_client.messages.create)
        return from_message(await create(**self.params(request)), request.messages)

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        create = unwrapped(self.client.messages.create)
        events = MessageEvents(request.messages, request.model)
        with create(**self.params(request, stream=True)) as sdk_stream:
            for event in sdk_stream:
                text = events.add(event)
                if text:
                    yield text
        yield events.response()

    async def astream(self, request: ChatRequest) -> AsyncIterator[StreamItem]:
        create = unwrapped(self.async_client.messages.create)
        events = MessageEvents(request.messages, request.model)
        async with await create(**self.params(request, stream=True)) as sdk_stream:
            async for event in sdk_stream:
                text = events.add(event)
                if text:
                    yield text
        yield events.response()
