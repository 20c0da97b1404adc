"""Spans of runs still open when the handler closes or the interpreter exits: ended and exported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk", reason="needs the otel extra")

from opentelemetry.trace import StatusCode
from tests.handlers.otel_support import Otel

from llmhooks import llm_run, tool_run
from llmhooks.handlers.otel import conventions as C

# a process that exits with runs open: one in a held run nobody ends, one in a thread still running
SCRIPT = """
import sys, threading
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from llmhooks import OpenTelemetryCallbacks, agent_run, llm_run, set_global_callbacks, use_run

out = open(sys.argv[1], "w")
exporter = ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\\n")
if sys.argv[2] == "handler-first":   # the global provider is set after the handler is made
    set_global_callbacks([OpenTelemetryCallbacks()])
provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
trace.set_tracer_provider(provider)
if sys.argv[2] != "handler-first":
    set_global_callbacks([OpenTelemetryCallbacks()])

agent = agent_run(agent_name="a").start()
with use_run(agent):
    held = llm_run(provider="openai", model="m").start()
started = threading.Event()
def work():
    with llm_run(provider="openai", model="in-thread"):
        started.set()
        threading.Event().wait()
threading.Thread(target=work, daemon=True).start()
started.wait()
with llm_run(provider="openai", model="done") as run:
    run.finish(response="ok")
print("exiting", flush=True)
"""


@pytest.mark.parametrize("order", ["provider-first", "handler-first"])
def test_runs_open_at_interpreter_exit_are_exported_ended_and_marked(tmp_path: Path, order: str) -> None:
    """Every span reaches the exporter at exit: the open ones with ERROR status and incomplete."""
    out = tmp_path / "spans.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out), order], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "exiting" in done.stdout
    spans = {s["name"]: s for s in map(json.loads, out.read_text().splitlines())}
    assert set(spans) == {"invoke_agent a", "chat m", "chat in-thread", "chat done"}
    for name in ("invoke_agent a", "chat m", "chat in-thread"):
        assert spans[name]["attributes"][C.LLMHOOKS_INCOMPLETE] is True, name
        assert spans[name]["status"]["status_code"] == "ERROR", name
        assert spans[name]["end_time"] is not None
    assert C.LLMHOOKS_INCOMPLETE not in spans["chat done"]["attributes"]
    assert spans["chat m"]["parent_id"] == "0x" + spans["invoke_agent a"]["context"]["span_id"][2:]


def test_close_sets_an_error_status_on_the_spans_it_ends() -> None:
    """``close()`` with runs open: ended once, ERROR status saying why, incomplete."""
    otel = Otel()
    try:
        tool = tool_run("forever", callbacks=otel.callbacks).start()
        llm = llm_run(provider="openai", model="m", callbacks=otel.callbacks).start()
        otel.callbacks.close()
        for name in ("execute_tool forever", "chat m"):
            span = otel.span(name)
            assert (span.attributes or {})[C.LLMHOOKS_INCOMPLETE] is True
            assert span.status.status_code is StatusCode.ERROR
            assert "not ended" in (span.status.description or "")
        tool.finish()
        llm.finish()
        assert len(otel.spans()) == 2
    finally:
        otel.close()
