"""Cost of ``llmhooks view``: the terminal view and the HTML report, for 10,000 and 100,000 events.

Run: python bench/view.py [--quick]   (one process, interleaved repeats, medians of thread CPU time)

Recordings are written by EventRecorder from real runs (agent -> streamed LLM call, two tool
calls, one failing now and then, a step, a second LLM call: 15 events per trace). The
baseline is reading the file with ``read_events`` (parsing every event), measured in the
same run; each figure is printed as a ratio to it:

- load: ``llmhooks.viewer.load`` (read_events plus rebuilding traces, runs and roll-ups);
- list: the trace table of a loaded recording (``llmhooks view FILE`` is load + list);
- trees: every trace drawn by PrintCallbacks (``--tree``);
- html: ``write_html`` of a loaded recording (``--html`` is load + html);
- perfetto: ``write_perfetto``.

With chromium and playwright installed, the 100,000-event report is also opened in headless
chromium: time for its script to parse the data and draw (the page's own measure), row
elements in the DOM, and the time of a search and a collapse-all in one 100,000-event trace.
Those are wall-clock milliseconds in another process, so they are printed as they are.
"""

from __future__ import annotations

import gc
import io
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from llmhooks import EventRecorder, agent_run, callbacks_context, llm_run, tool_run
from llmhooks.handlers.record import read_events
from llmhooks.viewer import Recording, load, render_traces, render_tree, write_html, write_perfetto

SIZES = (10_000, 100_000)


def many_traces(path: Path, events: int) -> None:
    """``events`` events in traces of 15: agent, streamed call, two tools, step, second call."""
    i = 0
    with EventRecorder(path, flush_every=1000) as recorder, callbacks_context([recorder]):
        while recorder.recorded < events:
            i += 1
            with agent_run(goal=f"task {i}", agent_name="worker") as agent:
                msgs = [{"role": "user", "content": f"task {i}"}]
                with llm_run(provider="openai", model="gpt-4o", messages=msgs, streaming=True) as run:
                    for word in ("The ", "answer ", "is ", str(i), "."):
                        run.token(word)
                    run.finish(input_tokens=12, output_tokens=5, cost=0.0001)
                for name in ("search", "fetch"):
                    with tool_run(name, arguments={"q": f"item {i}"}) as tool:
                        if name == "fetch" and i % 50 == 0:
                            tool.error(TimeoutError("slow"))
                        else:
                            tool.finish(result={"hits": [1, 2, 3]})
                agent.step(action="answer")
                with llm_run(provider="openai", model="gpt-4o-mini", messages=msgs) as run:
                    run.finish(response=f"done {i}", input_tokens=30, output_tokens=4)


def one_trace(path: Path, events: int) -> None:
    """One agent run holding ``events // 2`` tool calls (one trace of ``events`` events)."""
    recorder = EventRecorder(path, flush_every=1000)
    with recorder, callbacks_context([recorder]), agent_run(goal="one big trace", agent_name="busy"):
        for i in range(events // 2 - 1):
            with tool_run("step", arguments={"item": f"item-{i}"}) as tool:
                tool.finish(result=i)


def cpu_ms(fn: Callable[[], object]) -> float:
    """CPU time of ``fn()``; its result is freed (and earlier garbage collected) outside the timing."""
    gc.collect()
    t0 = time.thread_time_ns()
    result = fn()
    elapsed = time.thread_time_ns() - t0
    del result
    gc.collect()
    return elapsed / 1e6


def bench_size(folder: Path, events: int, repeats: int) -> dict[str, float]:
    path = folder / f"many-{events}.jsonl"
    many_traces(path, events)
    recording = load(path)

    def trees() -> None:
        out = io.StringIO()
        for trace in recording.traces:
            render_tree(trace, out)

    cases: dict[str, Callable[[], object]] = {
        "read_events": lambda: sum(1 for _ in read_events(path)),
        "load": lambda: load(path),
        "list": lambda: render_traces(recording.traces, io.StringIO()),
        "trees": trees,
        "html": lambda: write_html(recording, folder / "report.html"),
        "perfetto": lambda: write_perfetto(recording, folder / "trace.json"),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):  # interleaved: each repeat runs every case once
        for name, fn in cases.items():
            times[name].append(cpu_ms(fn))
    medians = {name: statistics.median(values) for name, values in times.items()}
    size_mb = path.stat().st_size / 1e6
    html_mb = (folder / "report.html").stat().st_size / 1e6
    print(f"\n{events:,} events ({len(recording.traces):,} traces, {len(recording.runs):,} runs), ", end="")
    print(f"JSONL {size_mb:.1f} MB, HTML {html_mb:.1f} MB; read_events {medians['read_events']:.0f} ms")
    base = medians["read_events"]
    print(f"  {'step':<10} {'ms':>9} {'x read':>8} {'command':<28} {'x read':>7}")
    commands = {
        "list": "llmhooks view FILE",
        "trees": "llmhooks view FILE --tree",
        "html": "--html",
        "perfetto": "--perfetto",
    }
    for name in ("load", "list", "trees", "html", "perfetto"):
        ms = medians[name]
        line = f"  {name:<10} {ms:>9.1f} {ms / base:>8.2f}"
        if name in commands:
            line += f" {commands[name]:<28} {(medians['load'] + ms) / base:>7.2f}"
        print(line)
    return medians


def bench_browser(folder: Path, events: int) -> None:
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        print("\nbrowser: skipped (needs chromium and playwright)")
        return
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    reports = {"many traces": folder / "report.html"}
    path = folder / f"one-{events}.jsonl"
    one_trace(path, events)
    big: Recording = load(path)
    reports["one trace"] = write_html(big, folder / "one.html")
    print(f"\nbrowser (headless chromium, wall ms), {events:,} events")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=flags)
        for label, report in reports.items():
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            t0 = time.perf_counter()
            page.goto(report.resolve().as_uri())
            page.wait_for_selector("html[data-ready='1']", timeout=120_000)
            ready = (time.perf_counter() - t0) * 1000
            script = float(page.evaluate("document.documentElement.dataset.loadMs"))
            rows = page.eval_on_selector_all(".row", "rows => rows.length")
            figures = page.evaluate(
                """() => {
                  const input = document.querySelector('.search');
                  const t0 = performance.now();
                  input.value = 'item-4242';
                  input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));
                  const t1 = performance.now();
                  input.value = 'item-4243';
                  input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));
                  const t2 = performance.now();
                  document.querySelector('.collapse').click();
                  const t3 = performance.now();
                  document.querySelector('.expand').click();
                  const t4 = performance.now();
                  const tree = document.querySelector('.tree');
                  tree.scrollTop = tree.scrollHeight / 2;
                  tree.dispatchEvent(new Event('scroll'));
                  return {first: t1 - t0, again: t2 - t1, collapse: t3 - t2, expand: t4 - t3};
                }"""
            )
            print(
                f"  {label:<12} file {report.stat().st_size / 1e6:5.1f} MB  open {ready:6.0f}"
                f"  script {script:5.0f}"
                f"  rows in DOM {rows:3d}  search {figures['first']:5.0f} (again {figures['again']:4.0f})"
                f"  collapse all {figures['collapse']:4.0f}  expand all {figures['expand']:4.0f}"
            )
            page.close()
        browser.close()


def main() -> None:
    quick = "--quick" in sys.argv
    repeats = 3 if quick else 5
    print("llmhooks view: CPU time per step, median of interleaved repeats, as a ratio to read_events")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for events in SIZES:
            bench_size(folder, events, repeats)
        bench_browser(folder, SIZES[-1])


if __name__ == "__main__":
    main()
