"""Cost of the instrumentation decorators and of redaction, per call.

    python bench/instrument.py

Interleaved rounds, medians, each figure also as a ratio to the undecorated call
measured in the same run. Target (the issue): a decorated no-op call with one
handler costs <= 1.5 us; LlamaIndex's llm_chat_callback pair costs about 55 us
for the same (their figure, quoted, not measured here). The hand-written
``with llm_run(...)`` block is printed as the floor the core sets: the decorator
cannot be cheaper than the run it opens.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from llmhooks import CallbackManager, Callbacks, LLMEndEvent, LLMStartEvent, llm_run
from llmhooks.core.redaction import configure_redaction, redact_fields, reset_redaction
from llmhooks.instrument import instrument_llm, instrument_tool, llm_chat_callback

TARGET_US = 1.5
LLAMAINDEX_US = 55.0
ROUNDS = 9
N = 20_000

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that answers briefly and precisely."},
    {"role": "user", "content": "Summarise the causes of the decline of the Roman empire in three points."},
]


class EndOnly(Callbacks):
    """Takes only llm.end, like a cost tracker."""

    def on_llm_end(self, event: LLMEndEvent) -> None:
        pass


class StartEnd(Callbacks):
    """Takes llm.start and llm.end."""

    def on_llm_start(self, event: LLMStartEvent) -> None:
        pass

    def on_llm_end(self, event: LLMEndEvent) -> None:
        pass


class ToolOnly(Callbacks):
    """Listens to tools only: LLM calls are not its business."""

    def on_tool_end(self, event: Any) -> None:
        pass


def _no_op(messages: list[dict[str, str]]) -> str:
    return "ok"


def _cases() -> dict[str, Callable[[], Any]]:
    end_only, start_end, tool_only = (CallbackManager([h]) for h in (EndOnly(), StartEnd(), ToolOnly()))

    def decorated(callbacks: Any) -> Callable[[], Any]:
        fn = instrument_llm(provider="p", model="m", callbacks=callbacks)(_no_op)
        return lambda: fn(MESSAGES)

    class MyLLM:
        model = "my-model"
        temperature = 0.2

        def __init__(self, callbacks: Any) -> None:
            self.callbacks = callbacks
            self.api_key = "sk-not-a-real-key-0123456789"

        @llm_chat_callback()
        def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> str:
            return "ok"

    method_llm = MyLLM(end_only)

    def manual() -> Any:
        with llm_run(provider="p", model="m", messages=MESSAGES, callbacks=end_only) as run:
            run.finish(response=_no_op(MESSAGES))

    tool = instrument_tool(callbacks=end_only)(_no_op)
    return {
        "undecorated call (baseline)": lambda: _no_op(MESSAGES),
        "decorated, no handler at all": decorated(None),
        "decorated, 1 handler on tools only": decorated(tool_only),
        "decorated, 1 handler (llm.end only)": decorated(end_only),
        "decorated, 1 handler (start + end)": decorated(start_end),
        "llm_chat_callback method, 1 handler": lambda: method_llm.chat(MESSAGES),
        "instrument_tool, 1 handler (no llm)": lambda: tool(MESSAGES),
        "hand-written llm_run (core floor)": manual,
    }


def _per_call_us(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def _measure(cases: dict[str, Callable[[], Any]], n: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for fn in cases.values():  # warm up
        _per_call_us(fn, n // 10)
    for _ in range(ROUNDS):
        for name, fn in cases.items():
            samples[name].append(_per_call_us(fn, n))
    return {k: statistics.median(v) for k, v in samples.items()}


def _streams() -> dict[str, Callable[[], Any]]:
    items = [f"tok{i} " for i in range(100)]
    handler = CallbackManager([EndOnly()])

    def plain() -> Iterator[str]:
        yield from items

    @instrument_llm(model="m", callbacks=handler)
    def stream() -> Iterator[str]:
        yield from items

    class Tokens(Callbacks):
        def on_llm_token(self, event: Any) -> None:
            pass

    @instrument_llm(model="m", callbacks=CallbackManager([Tokens()]))
    def stream_tokens() -> Iterator[str]:
        yield from items

    return {
        "plain generator, 100 items (baseline)": lambda: sum(1 for _ in plain()),
        "decorated stream, handler on llm.end": lambda: sum(1 for _ in stream()),
        "decorated stream, handler on tokens": lambda: sum(1 for _ in stream_tokens()),
    }


def _redaction() -> dict[str, Callable[[], Any]]:
    start = {
        "messages": MESSAGES,
        "prompt": None,
        "temperature": 0.7,
        "max_tokens": 256,
        "tools": None,
        "streaming": False,
        "params": {"top_p": 1.0},
    }
    text = "The empire declined because of economic troubles, overreliance on slave labour... " * 4
    counter = iter(range(10**9))

    def end_fresh() -> Any:
        # a new response string each call: the full scan, nothing cached
        return redact_fields({"response": f"{next(counter)} {text}", "input_tokens": 10, "output_tokens": 60})

    leaky = {"messages": [{"role": "user", "content": "my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123"}]}
    return {
        "dict copy of the start payload (baseline)": lambda: dict(start),
        "start payload, 2 messages (seen before)": lambda: redact_fields(start),
        "end payload, fresh 340-char response": end_fresh,
        "payload holding a key (copy + replace)": lambda: redact_fields(leaky),
    }


def _report(title: str, figures: dict[str, float], unit_per: str, targets: dict[str, float]) -> None:
    base_name = next(iter(figures))
    base = figures[base_name]
    print(f"\n{title}")
    for name, us in figures.items():
        line = f"  {name:<42} {us:8.2f} us{unit_per}  x{us / base:7.1f}"
        if name in targets:
            verdict = "PASS" if us <= targets[name] else "MISS"
            line += f"   target <= {targets[name]} us: {verdict}"
        print(line)


def main() -> None:
    reset_redaction()
    t0 = time.perf_counter()
    calls = _measure(_cases(), N)
    target = {
        "decorated, 1 handler (llm.end only)": TARGET_US,
        "decorated, 1 handler (start + end)": TARGET_US,
    }
    _report("Decorated no-op call (per call)", calls, "", target)
    best = calls["decorated, 1 handler (llm.end only)"]
    ratio = LLAMAINDEX_US / best
    print(f"  reference: LlamaIndex decorator pair ~{LLAMAINDEX_US:.0f} us (issue's figure) -> x{ratio:.0f}")
    overhead = calls["decorated, 1 handler (llm.end only)"] - calls["hand-written llm_run (core floor)"]
    print(f"  decorator's own share over the hand-written run: {overhead:+.2f} us")
    _report("Streams (per stream of 100 items)", _measure(_streams(), N // 20), "", {})
    _report("Redaction (per payload)", _measure(_redaction(), N), "", {})
    configure_redaction(capture_content=False)
    blank_case = {"start payload, capture_content=False": lambda: redact_fields({"messages": MESSAGES})}
    blanked = _measure(blank_case, N)
    reset_redaction()
    for name, us in blanked.items():
        print(f"  {name:<42} {us:8.2f} us")
    print(f"\n({time.perf_counter() - t0:.0f} s, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
