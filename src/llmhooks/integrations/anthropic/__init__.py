"""The official ``anthropic`` SDK: events from users' own clients, and the facade's provider.

    claude = instrument_anthropic(anthropic.Anthropic(), callbacks=[PrintCallbacks()])

- ``instrument``: ``instrument_anthropic``/``uninstrument_anthropic`` (``messages.create``,
  ``stream=True`` and ``messages.stream``);
- ``provider``: ``AnthropicProvider``, what ``LLM(provider="anthropic")`` uses;
- ``parse``: reading the SDK's messages and stream events into ``ChatResponse``.

The SDK is imported only when a client is instrumented or the provider is used.
"""

from __future__ import annotations

from llmhooks.integrations.anthropic.instrument import instrument_anthropic, uninstrument_anthropic

__all__ = ["instrument_anthropic", "uninstrument_anthropic"]
