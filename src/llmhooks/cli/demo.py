"""``llmhooks demo``: a tour of what llmhooks reports, with no network and no API key.

An ``Agent`` on the offline provider (a deterministic stand-in, not a real model) gets
two local tools and one tool from the bundled MCP server, started over stdio. Its
answer is streamed and printed live by ``PrintCallbacks``; ``MetricsCallbacks`` and
``CostTracker`` (with an illustrative price for the offline model) give the summary;
``EventRecorder`` writes every event to ``llmhooks-demo.jsonl`` (a fresh file each run)
for ``llmhooks view``. The summary ends with where to go next: the recording, this
file, the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmhooks.core import callbacks_context, chain_run, run_context

if TYPE_CHECKING:
    from llmhooks.cli import AddParser

__all__ = ["DEFAULT_RECORDING", "recording_path", "register", "run", "run_demo"]

GOAL = 'Use lookup_capital for France, add 19 and 23, and word_count on "the quick brown fox"'
DEFAULT_RECORDING = "llmhooks-demo.jsonl"

# An illustrative price so the summary shows cost; real models are priced from genai-prices.
DEMO_PRICES = {"offline*": {"input": 0.15, "output": 0.60, "source": "llmhooks demo (illustrative)"}}


def register(add_parser: AddParser) -> None:
    """Add ``llmhooks demo`` and its options."""
    parser = add_parser(
        "demo",
        help="a short tour on the offline provider (no network, no key)",
        description="An agent with local and MCP tools on the offline stand-in provider: the events "
        "it fires, printed live, then a summary. Every event is recorded for `llmhooks view`.",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.add_argument(
        "--record",
        metavar="PATH",
        help=f"where to record the events, emptied first (default: ./{DEFAULT_RECORDING}, or a new "
        "file in the temporary folder if the current folder cannot be written)",
    )
    parser.set_defaults(command_main=run)


def run(args: argparse.Namespace) -> int:
    """``llmhooks demo`` with parsed arguments; returns the exit code."""
    return run_demo(quiet=args.quiet, record=args.record)


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first addend.
        b: second addend.
    """
    return a + b


def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: the text to count.
    """
    return len(text.split())


async def _tour(handlers: list[Any]) -> str:
    from llmhooks.agent import Agent
    from llmhooks.demo_servers import demo_server_config
    from llmhooks.integrations.mcp import MCPClient
    from llmhooks.llm import LLM

    llm = LLM(provider="offline", model="offline-1", token_delay=0.02)
    with callbacks_context(handlers), run_context(user_id="demo-user", tags=["demo"]):
        # one root run, so the MCP session and the agent are one trace in `llmhooks view`
        async with chain_run("llmhooks-demo", inputs=GOAL) as tour:
            async with MCPClient([demo_server_config()]) as mcp:
                agent = Agent(tools=[add, word_count, *mcp.tools()], llm=llm, name="demo-agent")
                answer = "".join([delta async for delta in agent.astream(GOAL)]).strip()
            tour.finish(result=answer)
    return answer


def recording_path(wanted: str | None) -> Path:
    """Where the demo records: ``wanted`` or ``./llmhooks-demo.jsonl``, emptied.

    The default falls back to a new file in the temporary folder when the current folder
    cannot be written; a path the user gave that cannot be written raises ``OSError``.
    """
    path = Path(wanted or DEFAULT_RECORDING)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")  # a fresh file: the recording holds this run only
        return path
    except OSError:
        if wanted is not None:
            raise
        fd, name = tempfile.mkstemp(prefix="llmhooks-demo-", suffix=".jsonl")
        os.close(fd)
        return Path(name)


def run_demo(quiet: bool = False, record: str | None = None) -> int:
    """Run the tour, recording to ``record`` (see ``recording_path``); returns the exit code."""
    from llmhooks.handlers._console import wants_color
    from llmhooks.handlers.cost import CostTracker
    from llmhooks.handlers.metrics import MetricsCallbacks
    from llmhooks.handlers.printing import PrintCallbacks
    from llmhooks.handlers.record import EventRecorder

    color = wants_color(sys.stdout)
    try:
        path = recording_path(record)
    except OSError as exc:
        print(f"llmhooks demo: cannot write the recording to {record!r}: {exc}", file=sys.stderr)
        return 2
    recorder = EventRecorder(path)
    cost = CostTracker(prices=DEMO_PRICES, use_genai_prices=False)
    metrics = MetricsCallbacks()
    handlers: list[Any] = [cost, metrics, recorder]
    if not quiet:
        handlers.insert(1, PrintCallbacks())
    print("llmhooks demo: an agent on the offline stand-in provider (no network, no API key)")
    print(f"goal: {GOAL}\n")
    try:
        answer = asyncio.run(_tour(handlers))
    except Exception as exc:  # the demo must say what went wrong, not dump a traceback
        print(f"\ndemo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        recorder.close()
    print(f"\nanswer: {answer}\n")
    print(_summary(metrics.snapshot(), cost, path, recorder.recorded, color))
    return 0


def _ms(value: float) -> str:
    return f"{value:.0f} ms"


def _spread(summary: dict[str, Any] | None, one: str, many: str, calls: int | None = None) -> str:
    """Percentiles with how many values they cover (a p95 of two calls is their maximum).

    The count is left out when it is ``calls``, already shown on the same line.
    """
    count = (summary or {}).get("count") or 0
    if count == 0:
        return f"no {many}"
    assert summary is not None
    if count == 1:
        return _ms(summary["p50"]) + ("" if calls == 1 else f" (1 {one})")
    spread = f"p50 {_ms(summary['p50'])}, p95 {_ms(summary['p95'])}"
    return spread if calls == count else f"{spread} over {count} {many}"


def _calls(n: int, errors: int) -> str:
    return f"{n} call{'' if n == 1 else 's'}, {errors} error{'' if errors == 1 else 's'}"


def _summary(snap: dict[str, Any], cost: Any, path: Path, recorded: int, color: bool) -> str:
    from llmhooks.events import LLMEndEvent, ToolStartEvent
    from llmhooks.handlers._console import paint
    from llmhooks.handlers.printing import run_label
    from llmhooks.handlers.record import read_events

    labels: dict[str, str] = {}  # tool name -> its name in the tree, e.g. "demo-tools.lookup_capital"
    estimated = False
    for event in read_events(path):
        if isinstance(event, ToolStartEvent):
            labels.setdefault(event.tool_name, run_label(event).removeprefix("tool "))
        elif isinstance(event, LLMEndEvent):
            estimated = estimated or event.usage_estimated
    tokens = snap["tokens"]
    lines = [
        paint("summary", "bold", color),
        f"  LLM calls      {_calls(snap['total_calls'], snap['total_errors'])}",
        f"  latency        {_spread(snap['latency_ms'], 'call', 'calls')}",
        f"  first token    {_spread(snap['ttft_ms'], 'call that streamed text', 'calls that streamed text')}",
        f"  tokens         {tokens['input']} in, {tokens['output']} out, {tokens['cached']} cached, "
        f"{tokens['reasoning']} reasoning"
        + (" (some estimated: a provider sent no counts)" if estimated else ""),
        f"  cost           ${cost.total_cost:.6f} for {cost.request_count} calls (illustrative demo price)",
    ]
    tools = sorted(((labels.get(name, name), row) for name, row in snap.get("tools", {}).items()), key=_first)
    width = max((len(name) for name, _ in tools), default=0) + 2
    for name, row in tools:
        lines.append(
            f"  tool {name:<{width}}{_calls(row['calls'], row['errors'])}, "
            f"{_spread(row['latency_ms'], 'completed call', 'completed calls', row['calls'])}"
        )
    for name, row in sorted(snap.get("mcp_servers", {}).items()):
        lines.append(f"  mcp server {name:<{max(width - 6, 2)}}{_calls(row['calls'], row['errors'])}")
    lines += ["", paint("next", "bold", color), *_next_steps(path, recorded, color)]
    return "\n".join(lines)


def _next_steps(path: Path, recorded: int, color: bool) -> list[str]:
    from llmhooks.handlers._console import paint

    shown = str(path) if not path.is_absolute() else _shorter(path)
    here = Path(__file__).resolve()
    docs = here.parents[3] / "docs"  # a source checkout or an editable install
    docs_text = f"{docs}{os.sep} (handlers.md: every handler used here; cli.md: this command)"
    if not docs.is_dir():
        docs_text = "docs/ in the llmhooks source (README.md lists the pages)"
    return [
        f"  recorded       {recorded} events to {shown}",
        f"  look at them   {paint(f'llmhooks view {shlex.quote(shown)}', 'cyan', color)}",
        f"  the code       {here} (this tour)",
        f"                 {here.parents[1] / 'demo_servers' / 'mcp_tools.py'} (its MCP server)",
        f"  the docs       {docs_text}",
    ]


def _shorter(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _first(item: tuple[str, Any]) -> str:
    return item[0]
