"""The official ``openai`` SDK: events from users' own clients, and the facade's provider.

    client = instrument_openai(openai.OpenAI(), callbacks=[PrintCallbacks()])

- ``instrument``: ``instrument_openai``/``uninstrument_openai`` (Chat Completions,
  Responses, their ``stream()`` helpers, realtime connections);
- ``realtime``: realtime sessions observed on the SDK's own connection;
- ``provider``: ``OpenAIProvider``, what ``LLM(provider="openai")`` uses;
- ``parse``: reading the SDK's answers and stream chunks into ``ChatResponse``.

The SDK is imported only when a client is instrumented or the provider is used.
"""

from __future__ import annotations

from llmhooks.integrations.openai.instrument import instrument_openai, uninstrument_openai

__all__ = ["instrument_openai", "uninstrument_openai"]
