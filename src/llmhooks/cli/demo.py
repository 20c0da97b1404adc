"""``llmhooks demo``: a short tour of what llmhooks reports, with no network and no key.

It fires runs through the run API, exactly as producers do, to a printing handler and a
metrics handler, then prints the metrics summary.
"""

from __future__ import annotations

import json
import time

from llmhooks.core.context import callbacks_context, run_context
from llmhooks.core.runs import agent_run, llm_run, tool_run

__all__ = ["run_demo"]

_QUESTION = "What is the capital of France, and what is 2 + 2?"


def _stream(run: object, text: str) -> None:
    for i, word in enumerate(text.split(" ")):
        time.sleep(0.01)  # a stand-in for network latency, so durations are visible
        run.token(word if i == 0 else " " + word)  # type: ignore[attr-defined]


def _tour() -> None:
    messages = [{"role": "user", "content": _QUESTION}]
    with agent_run(goal=_QUESTION, agent_name="demo-agent") as agent:
        with llm_run(provider="offline", model="offline-1", messages=messages, streaming=True) as llm:
            _stream(llm, "I will look up the capital and do the sum.")
            llm.finish(input_tokens=14, output_tokens=10, finish_reason="tool_calls")
        agent.step(action="lookup_capital", action_input={"country": "France"})
        with tool_run("lookup_capital", arguments={"country": "France"}, tool_call_id="call_1") as tool:
            tool.finish(result="Paris")
        with tool_run("add", arguments={"a": 2, "b": 2}, tool_call_id="call_2") as tool:
            tool.finish(result=4)
        try:
            with tool_run("weather", arguments={"city": "Paris"}, tool_call_id="call_3"):
                raise TimeoutError("weather service did not answer")
        except TimeoutError:
            pass  # the agent would tell the model; the run reported a tool error
        agent.step(action="answer")
        with llm_run(provider="offline", model="offline-1", messages=messages, streaming=True) as llm:
            _stream(llm, "The capital of France is Paris, and 2 + 2 = 4.")
            llm.finish(input_tokens=40, output_tokens=14, cached_input_tokens=14, finish_reason="stop")
        agent.finish(result="The capital of France is Paris, and 2 + 2 = 4.")


def run_demo(quiet: bool = False) -> int:
    """Run the tour; returns the process exit code."""
    from llmhooks.handlers.metrics import MetricsCallbacks
    from llmhooks.handlers.printing import PrintCallbacks

    metrics = MetricsCallbacks()
    handlers = [metrics] if quiet else [PrintCallbacks(), metrics]
    print("llmhooks demo: runs on the offline stand-in provider (no network, no API key)\n")
    with callbacks_context(handlers), run_context(user_id="demo-user", tags=["demo"]):
        _tour()
    snap = metrics.snapshot()
    print("\nmetrics summary:")
    print(json.dumps(_summary(snap), indent=2, default=str))
    return 0


def _summary(snap: dict[str, object]) -> dict[str, object]:
    keep = ("total_calls", "total_errors", "total_tokens", "tokens", "latency_ms", "ttft_ms", "tools")
    return {k: snap[k] for k in keep if k in snap} or snap
