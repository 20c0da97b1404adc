"""The HTML report in a real browser: Debian's chromium, headless, driven by Playwright.

One browser for the whole module (a new page per test). Each test reads the DOM after
the page's script ran: tree rows, roll-up figures, search, collapse, focus, compare,
the side panel; every request the page makes is logged, and only the file itself may
be one. A screenshot is kept in $LLMHOOKS_TEST_ARTIFACTS when set (.ci/run sets it), else under
the pytest temporary directory (path printed).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmhooks import EventRecorder, agent_run, callbacks_context, llm_run, tool_run
from llmhooks.viewer import Recording, RunFilter, load, write_html
from llmhooks.viewer.source import open_source

from .conftest import SECRET, Made

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - the test extra installs it
    sync_api = None
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# .ci/run sets LLMHOOKS_REQUIRE_BROWSER (CI services set CI): there a missing browser fails the
# tests, so a green CI always means the report was tested in a browser; elsewhere they skip
REQUIRE_BROWSER = any(
    os.environ.get(name, "") not in ("", "0", "false") for name in ("LLMHOOKS_REQUIRE_BROWSER", "CI")
)

# as /work/.library/env/machines/python-svc.md says Chromium must start here (root, closed network)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = (
    '<img src="http://127.0.0.1:9/leak.png" onerror="window.pwned=1"></script><script>window.pwned=2</script>'
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless chromium for the module, with a fresh profile."""
    missing = []
    if sync_api is None:
        missing.append("playwright (pip install -e '.[test]')")
    if CHROMIUM is None:
        missing.append("chromium on PATH (apt-get install chromium; .ci/run installs it)")
    if missing:
        reason = "the HTML report's browser tests need " + " and ".join(missing)
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason}; LLMHOOKS_REQUIRE_BROWSER or CI is set, so they must run", pytrace=False)
        pytest.skip(reason)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        yield context
        context.close()


class Page:
    """A page on a report, with every request it makes."""

    def __init__(self, context: Any, path: Path) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # nothing may leave: anything but the report itself is logged above, then refused here
        self.page.route(
            "**/*", lambda route: route.continue_() if route.request.url == self.url else route.abort()
        )
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("html[data-ready='1']")

    def rows(self, pane: int = 1) -> list[str]:
        """Run ids of the tree rows drawn in ``pane``, top to bottom."""
        return list(
            self.page.eval_on_selector_all(
                f".pane[data-pane='{pane}'] .tree .row:not([hidden])",
                "rows => rows.sort((a, b) => a.dataset.index - b.dataset.index).map(r => r.dataset.run)",
            )
        )

    def figures(self, pane: int = 1) -> dict[str, str]:
        """The roll-up figures in ``pane``'s heading, by key."""
        return dict(
            self.page.eval_on_selector_all(
                f".pane[data-pane='{pane}'] .rollup [data-k]",
                "els => els.map(e => [e.dataset.k, e.querySelector('b').textContent])",
            )
        )

    def open_trace(self, trace_id: str) -> None:
        self.page.click(f"#trace-list .row[data-trace='{trace_id}']")

    def row(self, run_id: str, pane: int = 1) -> Any:
        return self.page.locator(f".pane[data-pane='{pane}'] .tree .row:not([hidden])[data-run='{run_id}']")

    def close(self) -> None:
        assert self.errors == []
        assert set(self.requests) == {self.url}, self.requests  # only the file itself was ever fetched
        self.page.close()


@pytest.fixture(scope="module")
def recording(
    agent_rec: Made, graph_rec: Made, sdk_rec: Made, tmp_path_factory: pytest.TempPathFactory
) -> Recording:
    """The three producers' recordings, plus a tool call whose payload is hostile markup, as one."""
    hostile = tmp_path_factory.mktemp("hostile") / "hostile.jsonl"
    with (
        EventRecorder(hostile) as recorder,
        callbacks_context([recorder]),
        tool_run("render", arguments={"html": HOSTILE}) as run,
    ):
        run.finish(result=HOSTILE)
    sources = [open_source(p) for p in (agent_rec.jsonl, graph_rec.jsonl, sdk_rec.jsonl, hostile)]
    return Recording.from_events(itertools.chain.from_iterable(s.read() for s in sources)).finish()


@pytest.fixture(scope="module")
def report(recording: Recording, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_html(recording, tmp_path_factory.mktemp("report") / "report.html", title="viewer test")


@pytest.fixture
def page(browser: Any, report: Path) -> Iterator[Page]:
    view = Page(browser, report)
    yield view
    view.close()


def by_name(recording: Recording, name: str) -> Any:
    return next(t for t in recording.traces if t.name == name)


def fmt_ms(ms: float) -> str:
    """The page's duration format."""
    return f"{ms:.1f}ms" if ms < 10 else f"{round(ms)}ms" if ms < 1000 else f"{ms / 1000:.2f}s"


def test_report_lists_traces_and_draws_the_first_tree(
    page: Page, recording: Recording, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The trace list has every trace; pane 1 draws the first one's runs depth first, with its roll-up."""
    listed = page.page.eval_on_selector_all(
        "#trace-list .row:not([hidden])", "rows => rows.map(r => r.dataset.trace)"
    )
    assert sorted(listed) == sorted(t.trace_id for t in recording.traces)
    first = recording.traces[0]
    assert page.rows() == [r.run_id for r, _ in first.walk()]
    helper = by_name(recording, "agent helper")
    page.open_trace(helper.trace_id)
    assert page.rows() == [r.run_id for r, _ in helper.walk()]
    roll = helper.rollup
    assert page.figures() == {
        "duration": fmt_ms(roll.duration_ms),
        "runs": str(roll.runs),
        "calls": str(roll.calls),
        "tools": str(roll.tools),
        "tokens": f"{roll.tokens:,}",
        "cost": f"${roll.cost:.6f}",
        "errors": str(roll.errors),
    }
    failed = [r.run_id for r in helper.runs if r.status == "error"]
    marked = page.page.eval_on_selector_all(".tree .row.err", "rows => rows.map(r => r.dataset.run)")
    assert sorted(marked) == sorted(failed)
    agent_row = page.row(helper.root.run_id)
    assert (
        agent_row.locator(".errmark").text_content() == f"✘{roll.errors}"
    )  # errors below, marked on the parent
    page.row(helper.root.children[1].run_id).click()
    kept = os.environ.get("LLMHOOKS_TEST_ARTIFACTS")  # a folder CI keeps; else pytest's temporary one
    folder = Path(kept) if kept else tmp_path_factory.mktemp("artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "viewer-report.png"
    page.page.screenshot(path=str(shot))
    print(f"report screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_collapsing_a_run_hides_its_subtree(page: Page, recording: Recording) -> None:
    """The toggle hides every descendant row; the second click brings them back."""
    graph = by_name(recording, "chain LangGraph")
    page.open_trace(graph.trace_id)
    tools = graph.root.children[1]
    page.row(tools.run_id).locator(".tog").click()
    assert page.row(tools.run_id).get_attribute("aria-expanded") == "false"
    hidden = {c.run_id for c in tools.children}
    assert page.rows() == [r.run_id for r, _ in graph.walk() if r.run_id not in hidden]
    page.row(graph.root.run_id).locator(".tog").click()
    assert page.rows() == [graph.root.run_id]
    page.row(graph.root.run_id).locator(".tog").click()
    page.row(tools.run_id).locator(".tog").click()
    assert page.rows() == [r.run_id for r, _ in graph.walk()]


def test_search_narrows_the_rows_to_matches_and_their_ancestors(page: Page, recording: Recording) -> None:
    """Typing in the search box keeps matching runs (in names, payloads, errors) and their ancestors."""
    helper = by_name(recording, "agent helper")
    page.open_trace(helper.trace_id)
    search = page.page.locator(".pane[data-pane='1'] .search")
    search.fill("atlantis")
    search.press("Enter")
    keep = RunFilter(text="atlantis")  # the page's search agrees with --text
    want = [r.run_id for r, _ in helper.walk() if r.run_id in keep.shown(helper)]
    lookup = next(r for r in helper.runs if r.name == "tool demo-tools.lookup_capital")
    assert lookup.run_id in want and len(want) < len(helper.runs)
    assert page.rows() == want
    matches = sum(1 for r in helper.runs if keep.matches(r))
    assert page.page.text_content(".pane[data-pane='1'] .count") == f"{matches} matches"
    search.fill("exploded: boom")
    search.press("Enter")
    hits = page.page.eval_on_selector_all(".tree .row.hit", "rows => rows.map(r => r.dataset.run)")
    explode = next(r for r in helper.runs if r.name == "tool explode")
    assert explode.run_id in hits and len(page.rows()) < len(helper.runs)
    search.fill("")
    search.press("Enter")
    assert len(page.rows()) == len(helper.runs)


def test_side_panel_shows_inputs_outputs_usage_and_metadata_as_recorded(
    page: Page, recording: Recording, report: Path
) -> None:
    """Clicking a run shows its recorded payloads; a secret redacted in the recording stays redacted."""
    keyed = by_name(recording, "agent keyed")
    page.open_trace(keyed.trace_id)
    tool = next(r for r in keyed.runs if r.kind == "tool")
    page.row(tool.run_id).click()
    detail = page.page.locator("#detail")
    assert detail.get_attribute("data-run") == tool.run_id
    assert detail.locator("h2").text_content() == "tool lookup_key"
    inputs = detail.locator("details[data-section='inputs'] pre").text_content() or ""
    assert '"api_key": "[REDACTED]"' in inputs and '"service": "billing"' in inputs
    assert '"result": "looked up billing"' in (
        detail.locator("details[data-section='outputs'] pre").text_content() or ""
    )
    assert "viewer-user" in (detail.text_content() or "")
    llm = next(r for r in keyed.runs if r.kind == "llm")
    page.row(llm.run_id).click()
    usage = detail.locator("details[data-section='usage'] pre").text_content() or ""
    assert f'"input_tokens": {llm.input_tokens}' in usage and '"cost":' in usage
    assert SECRET not in report.read_text() and SECRET not in page.page.content()


def test_focus_on_a_subtree_and_back(page: Page, recording: Recording) -> None:
    """Double-click focuses a run: only its subtree, its roll-up, a breadcrumb back to the trace."""
    graph = by_name(recording, "chain LangGraph")
    page.open_trace(graph.trace_id)
    tools = graph.root.children[1]
    page.row(tools.run_id).dblclick()
    assert page.rows() == [r.run_id for r, _ in tools.walk()]
    figures = page.figures()
    assert (figures["runs"], figures["tools"], figures["errors"], figures["calls"]) == ("3", "2", "1", "0")
    crumbs = page.page.locator(".pane[data-pane='1'] .crumbs a")
    assert crumbs.all_text_contents()[1:] == ["chain LangGraph", "node tools"]
    assert page.row(tools.run_id).get_attribute("data-depth") == "0"
    crumbs.first.click()
    assert page.rows() == [r.run_id for r, _ in graph.walk()]


def test_two_traces_side_by_side(page: Page, recording: Recording) -> None:
    """Compare opens a second pane; the trace list then fills the pane last clicked."""
    helper, graph = by_name(recording, "agent helper"), by_name(recording, "chain LangGraph")
    page.open_trace(helper.trace_id)
    page.page.check("#compare")
    assert page.page.locator(".pane").count() == 2
    page.open_trace(graph.trace_id)
    assert page.rows(1) == [r.run_id for r, _ in helper.walk()]
    assert page.rows(2) == [r.run_id for r, _ in graph.walk()]
    page.page.click(".pane[data-pane='1'] .crumbs")
    page.open_trace(by_name(recording, "agent keyed").trace_id)
    assert page.rows(1) == [r.run_id for r, _ in by_name(recording, "agent keyed").walk()]
    assert page.rows(2) == [r.run_id for r, _ in graph.walk()]
    page.page.uncheck("#compare")
    assert page.page.locator(".pane").count() == 1


def test_payloads_are_shown_as_text_and_nothing_is_fetched(
    page: Page, recording: Recording, report: Path
) -> None:
    """Markup in a payload is text: no element made from it, no script run, no request (CSP forbids any)."""
    hostile = by_name(recording, "tool render")
    page.open_trace(hostile.trace_id)
    page.row(hostile.root.run_id).click()
    shown = page.page.locator("#detail details[data-section='inputs'] pre").text_content() or ""
    assert json.dumps(HOSTILE) in shown  # the recorded string, as JSON text
    assert page.page.evaluate("window.pwned") is None
    assert page.page.locator("#detail img").count() == 0
    assert "default-src 'none'" in (
        page.page.get_attribute("meta[http-equiv='Content-Security-Policy']", "content") or ""
    )
    text = report.read_text()
    assert "http://" not in text.split('id="llmhooks-data"')[0]  # no link, font or script from elsewhere
    # page.close() (the fixture) checks that the only request was the file itself


def big_recording(folder: Path) -> Path:
    """One agent with 2,000 tool calls (4,000 events) and 1,500 one-call traces (3,000 events)."""
    path = folder / "big.jsonl"
    with EventRecorder(path, flush_every=1000) as recorder, callbacks_context([recorder]):
        with agent_run(goal="many tools", agent_name="busy"):
            for i in range(2000):
                with tool_run("step", arguments={"item": f"item-{i}"}) as run:
                    run.finish(result=i)
        for i in range(1500):
            with llm_run(
                provider="openai", model="gpt-4o", messages=[{"role": "user", "content": f"q{i}"}]
            ) as run:
                run.finish(input_tokens=3, output_tokens=1)
    return path


def test_a_big_report_draws_only_the_rows_in_view(browser: Any, tmp_path: Path) -> None:
    """7,000 events: a few dozen row elements exist at any time, scrolling draws the right ones."""
    recording = load(big_recording(tmp_path))
    report = write_html(recording, tmp_path / "big.html")
    view = Page(browser, report)
    busy = recording.traces[0]
    assert len(busy.runs) == 2001
    drawn = view.page.eval_on_selector_all(".tree .row", "rows => rows.length")
    listed = view.page.eval_on_selector_all("#trace-list .row", "rows => rows.length")
    assert drawn < 80 and listed < 80
    view.page.eval_on_selector(
        ".tree", "t => { t.scrollTop = t.scrollHeight; t.dispatchEvent(new Event('scroll')); }"
    )
    last = f".tree .row:not([hidden])[data-run='{busy.runs[-1].run_id}']"
    view.page.wait_for_function(f'() => document.querySelector("{last}") !== null')
    assert view.page.eval_on_selector_all(".tree .row", "rows => rows.length") < 80
    search = view.page.locator(".search")
    search.fill("ITEM-1999")
    search.press("Enter")
    assert view.rows() == [busy.root.run_id, busy.runs[-1].run_id]
    view.close()


@pytest.mark.parametrize("required", ["1", ""])
def test_a_missing_browser_fails_where_it_is_required_and_skips_elsewhere(
    tmp_path: Path, required: str
) -> None:
    """With LLMHOOKS_REQUIRE_BROWSER (set by .ci/run) and no chromium, the browser tests fail, not skip."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "LLMHOOKS_REQUIRE_BROWSER")}
    env.update(PATH=str(tmp_path), LLMHOOKS_REQUIRE_BROWSER=required)  # no chromium on this PATH
    test = f"{__file__}::test_a_big_report_draws_only_the_rows_in_view"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", "-p", "no:cacheprovider", test],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert "need chromium on PATH" in proc.stdout, proc.stdout
    if required:
        assert proc.returncode == 1 and "1 error" in proc.stdout and "must run" in proc.stdout
    else:
        assert proc.returncode == 0 and "1 skipped" in proc.stdout
