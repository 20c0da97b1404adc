"""Decorators that turn a user's own functions and methods into runs (seed 003).

    from llmhooks import instrument_llm, instrument_tool, instrument_node
    from llmhooks.instrument import llm_chat_callback, llm_completion_callback

One decorator handles ``def``, ``async def``, generator and async-generator
functions (and functions returning a generator), chosen at decoration time;
keeps ``functools.wraps`` metadata; never wraps a function twice; and a call
that passes through two instrumented layers of the same operation on the same
object gives one run. See ``docs/instrument.md``.
"""

from __future__ import annotations

from llmhooks.instrument._wrap import already_instrumented
from llmhooks.instrument.functions import instrument_node, instrument_tool
from llmhooks.instrument.llm import instrument_llm, llm_chat_callback, llm_completion_callback

__all__ = [
    "already_instrumented",
    "instrument_llm",
    "instrument_node",
    "instrument_tool",
    "llm_chat_callback",
    "llm_completion_callback",
]
