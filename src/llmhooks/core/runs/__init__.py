"""Runs: how producers report work. Never hand-build start/end event pairs.

    with llm_run(provider="openai", model="gpt-4o", messages=msgs, callbacks=cb) as run:
        for delta in chunks:
            run.token(delta)            # LLMTokenEvent; the first one sets TTFT
        run.finish(response=text, input_tokens=12, output_tokens=40)
    # an exception inside -> LLMErrorEvent with latency, then re-raised

Each run emits its start event on entry and exactly one terminal event:

- ``finish(**fields)``: the end event with those fields; leaving the block without it,
  the end event with what is known (for an LLM stream, the text so far);
- an exception (``Abort`` included): the error event, ``cancelled=False``;
- cancellation, ``KeyboardInterrupt``, ``SystemExit``: the error event, ``cancelled=True``;
- ``GeneratorExit`` (the consumer stopped a stream early): the end event with
  ``incomplete=True`` and what was produced so far.

``token()``, ``step()``, ``finish()`` and ``error()`` after the terminal event raise
``RuntimeError``. A handler's ``Abort`` on the start event stops the call (the body
never runs; the run's error event is still emitted); on a terminal event it reaches the
producer only after every handler had the event, and never replaces the caller's own
exception. ``async with`` awaits async handlers; use ``await run.atoken(...)`` /
``await run.afinish(...)`` there to await them for tokens and the end too.

With no handler taking any of a run's events, a run is a cheap no-op that still takes
part in the run tree, so a nested run that does have handlers gets the right parent.
"""

from __future__ import annotations

from llmhooks.core.runs.base import Run, RunLike, ending
from llmhooks.core.runs.kinds import (
    AgentRun,
    ChainRun,
    NodeRun,
    RetrievalRun,
    ToolRun,
    agent_run,
    chain_run,
    node_run,
    retrieval_run,
    tool_run,
)
from llmhooks.core.runs.llm import TOKEN_EVENT_FIELDS, LLMRun, llm_run, llm_run_of
from llmhooks.core.runs.noop import NoopRun
from llmhooks.events.classify import classify_error

__all__ = [
    "TOKEN_EVENT_FIELDS",
    "AgentRun",
    "ChainRun",
    "LLMRun",
    "NodeRun",
    "NoopRun",
    "RetrievalRun",
    "Run",
    "RunLike",
    "ToolRun",
    "agent_run",
    "chain_run",
    "classify_error",
    "ending",
    "llm_run",
    "llm_run_of",
    "node_run",
    "retrieval_run",
    "tool_run",
]
