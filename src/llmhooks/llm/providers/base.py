"""What a provider does for the ``LLM`` facade: one request in, one normalised answer out.

The facade owns the run and its events; a provider only talks to its SDK (or,
for ``offline``, to nothing). A stream is a generator of text deltas whose last
item is the final ``ChatResponse``; closing the generator closes the SDK stream.

    class EchoProvider(Provider):
        name = "echo"
        default_model = "echo-1"
        def complete(self, request): return ChatResponse(text=request.messages[-1]["content"])
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from llmhooks.llm.response import ChatResponse

__all__ = ["ORIGINAL", "ChatRequest", "Provider", "StreamItem", "unwrapped"]

StreamItem = str | ChatResponse
"""A text delta, or (last) the complete answer."""


@dataclass(slots=True)
class ChatRequest:
    """One call: OpenAI-style ``messages`` and function ``tools``; ``options`` go to the SDK as they are."""

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    temperature: float | None = None
    max_tokens: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


class Provider:
    """Base class of providers; subclasses implement the four calls."""

    name: str = ""
    default_model: str = ""

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Make the call and return the whole answer; SDK exceptions propagate unchanged."""
        raise NotImplementedError

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        """Async ``complete``."""
        raise NotImplementedError

    def stream(self, request: ChatRequest) -> Iterator[StreamItem]:
        """Yield text deltas, then the final ``ChatResponse``; the call is made on the first ``next``."""
        raise NotImplementedError

    def astream(self, request: ChatRequest) -> AsyncIterator[StreamItem]:
        """Async ``stream``."""
        raise NotImplementedError


class SDKProvider(Provider):
    """A provider over an official SDK: client settings kept, clients made on first use.

    Subclasses name the SDK's client classes; ``client=``/``async_client=`` use yours.
    """

    client_class: ClassVar[Callable[..., Any]]
    async_client_class: ClassVar[Callable[..., Any]]

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
        kwargs: dict[str, Any] = dict(client_options or {})
        for key, value in (
            ("api_key", api_key),
            ("base_url", base_url),
            ("timeout", timeout),
            ("max_retries", max_retries),
        ):
            if value is not None:
                kwargs[key] = value
        self._kwargs = kwargs
        self._client = client
        self._async_client = async_client

    @property
    def client(self) -> Any:
        """The SDK's sync client (made on first use)."""
        if self._client is None:
            self._client = type(self).client_class(**self._kwargs)
        return self._client

    @property
    def async_client(self) -> Any:
        """The SDK's async client (made on first use)."""
        if self._async_client is None:
            self._async_client = type(self).async_client_class(**self._kwargs)
        return self._async_client


ORIGINAL = "_llmhooks_original"
"""Attribute under which an instrumentation wrapper keeps the SDK method it wraps."""


def unwrapped(method: Callable[..., Any]) -> Callable[..., Any]:
    """The SDK's own method, even on an instrumented client (so the facade never reports twice)."""
    return getattr(method, ORIGINAL, method)
