"""The ``LLM`` facade, its normalised answer types and the offline provider.

    from llmhooks import LLM
    resp = LLM().chat("What is 2+2?")   # offline when no provider or key is given

See ``llmhooks.llm.facade`` for how the provider is chosen.
"""

from __future__ import annotations

from llmhooks.llm.facade import LLM, PROVIDERS
from llmhooks.llm.offline import OfflineProvider
from llmhooks.llm.providers.base import ChatRequest, Provider
from llmhooks.llm.response import ChatResponse, ToolCall, Usage
from llmhooks.llm.stream import ChatStream

__all__ = [
    "LLM",
    "PROVIDERS",
    "ChatRequest",
    "ChatResponse",
    "ChatStream",
    "OfflineProvider",
    "Provider",
    "ToolCall",
    "Usage",
]
