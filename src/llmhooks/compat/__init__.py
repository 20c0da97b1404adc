"""Handlers written in other styles, served by the one dispatch path.

- ``KeywordCallbacks``: seed 001's ``async def on_llm_start(self, prompt, **kwargs)``.
- ``CustomAsyncCallbackHandler`` / ``CompositeCallbackHandler``: seed 002's
  dict payloads, ``on_llm_end(self, response: dict, **kwargs)``.

Both are ``Callbacks``: pass them wherever handlers go. See ``docs/compat.md``.
"""

from __future__ import annotations

from llmhooks.compat.dict_style import CompositeCallbackHandler, CustomAsyncCallbackHandler
from llmhooks.compat.keyword import KeywordCallbacks, KeywordResponse
from llmhooks.compat.redis_tokens import *  # noqa: F403 - seed 002's Redis token accounting (its own __all__)
from llmhooks.compat.redis_tokens import __all__ as _redis_tokens_all

__all__ = [
    "CompositeCallbackHandler",
    "CustomAsyncCallbackHandler",
    "KeywordCallbacks",
    "KeywordResponse",
    *_redis_tokens_all,  # what seed 002's examples import: RedisTokenCallbackHandler...
]
