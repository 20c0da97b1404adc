"""``llmhooks view PATH``: the traces of a recording, a trace's tree, an HTML report, a Perfetto file.

    llmhooks view session.jsonl                       # one line per trace
    llmhooks view session.jsonl --trace 4bf9          # that trace as a tree
    llmhooks view session.db --type tool --errors     # traces with failed tool calls, and those calls
    llmhooks view session.jsonl --follow              # print events as they are recorded
    llmhooks view session.jsonl --html report.html    # one self-contained page
    llmhooks view session.jsonl --perfetto trace.json # Chrome trace-event JSON
    llmhooks view redis://127.0.0.1:6379/0            # what RedisStreamShipper put in its stream

Filters (``--trace``, ``--run``, ``--type``, ``--model``, ``--tool``, ``--errors``,
``--text``) choose the traces listed and, in trees, the runs drawn (with their
ancestors); ``--html`` and ``--perfetto`` take the traces they choose.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from llmhooks.cli import AddParser

__all__ = ["add_arguments", "register", "run"]


def register(add_parser: AddParser) -> None:
    """Add ``llmhooks view`` and its options."""
    parser = add_parser("view", help="look at a recording: traces, trees, HTML, Perfetto")
    add_arguments(parser)
    parser.set_defaults(command_main=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``view`` subcommand's arguments on ``parser``."""
    parser.add_argument(
        "path",
        help="a recording written by EventRecorder (.jsonl, or .db/.sqlite), or a redis:// URL "
        "whose stream RedisStreamShipper wrote",
    )
    parser.add_argument(
        "--stream",
        metavar="KEY",
        help="with a redis:// URL: the stream's key (default llmhooks:events, the shipper's)",
    )
    pick = parser.add_argument_group("filters (all must hold for the same run)")
    pick.add_argument("--trace", metavar="ID", help="one trace (an id or a prefix of one); shows its tree")
    pick.add_argument("--run", metavar="ID", help="the subtree of one run (id or prefix); shows it as a tree")
    pick.add_argument(
        "--type",
        metavar="KIND",
        action="append",
        default=[],
        help="run kind: llm, tool, agent, node, chain...",
    )
    pick.add_argument("--model", help="model name: a substring, or a pattern such as 'gpt-4*'")
    pick.add_argument("--tool", help="tool name: a substring, or a pattern")
    pick.add_argument("--errors", action="store_true", help="only runs that failed")
    pick.add_argument("--text", help="text in a run's name, error, inputs or outputs")
    show = parser.add_argument_group("output")
    show.add_argument("--tree", action="store_true", help="draw every listed trace as a tree")
    show.add_argument(
        "--verbose", "-v", action="store_true", help="in trees: inputs, outputs, progress, logs"
    )
    show.add_argument("--tokens", action="store_true", help="in trees: streamed tokens, as recorded")
    show.add_argument("--follow", "-f", action="store_true", help="keep printing events as they are recorded")
    show.add_argument("--interval", type=float, default=0.5, help="--follow: seconds between polls (0.5)")
    show.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    show.add_argument("--perfetto", metavar="FILE", help="write Chrome trace-event JSON (Perfetto)")
    show.add_argument(
        "--price", action="store_true", help="price calls recorded without a cost (genai-prices)"
    )
    show.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _fail(message: str) -> int:
    print(f"llmhooks view: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    """Run ``llmhooks view`` with parsed ``args``; returns the exit code."""
    from llmhooks.errors import MissingExtraError
    from llmhooks.viewer import RunFilter, load, open_source, use_color

    try:
        keep = RunFilter(
            trace=args.trace,
            run=args.run,
            types=tuple(k.strip() for kinds in args.type for k in kinds.split(",") if k.strip()),
            model=args.model,
            tool=args.tool,
            errors=args.errors,
            text=args.text,
        )
    except ValueError as exc:
        return _fail(str(exc))
    if args.follow and (args.html or args.perfetto):
        return _fail("--follow prints to the terminal; write --html or --perfetto without it")
    if args.interval <= 0:
        return _fail(f"--interval must be > 0, got {args.interval}")
    transform: Any = None
    if args.price:
        from llmhooks.viewer.pricing import Pricer

        try:
            transform = Pricer()
        except MissingExtraError as exc:
            return _fail(str(exc))
    from llmhooks.viewer.redis_source import is_redis_url, shown_url

    remote = is_redis_url(args.path)
    where = shown_url(args.path) if remote else args.path  # no password in what is printed
    if args.stream is not None and not remote:
        return _fail(f"--stream goes with a redis:// URL, not a file: {args.path}")
    out = sys.stdout
    color = use_color(out)
    try:
        source = open_source(args.path, stream=args.stream)
    except (MissingExtraError, ValueError) as exc:
        return _fail(str(exc))
    if args.follow:
        from llmhooks.viewer import follow

        if not remote and not os.path.exists(args.path):
            print(f"llmhooks view: waiting for {args.path} to be written", file=sys.stderr)
        # runs until Ctrl-C: the KeyboardInterrupt ends the command in cli.main, quietly, status 130
        try:
            follow(
                source,
                keep,
                out,
                color=color,
                verbose=args.verbose,
                tokens=args.tokens,
                interval=args.interval,
                transform=transform,
            )
        except OSError as exc:  # Redis gone while following (RedisUnavailable), a file unreadable
            return _fail(f"cannot read {where}: {exc}")
        return 0
    try:
        recording = load(source, progress=False if args.no_progress else None, transform=transform)
    except FileNotFoundError as exc:
        return _fail(str(exc) if remote else f"no such file: {args.path}")
    except OSError as exc:  # RedisUnavailable is a ConnectionError
        return _fail(f"cannot read {where}: {exc}")
    except Exception as exc:  # a file that is no recording at all (not JSONL, not our SQLite table)
        return _fail(f"{args.path} is not a recording llmhooks can read: {type(exc).__name__}: {exc}")
    traces = keep.traces(recording)
    skipped = f", {recording.skipped} unreadable record(s) skipped" if recording.skipped else ""
    total = len(recording.traces)
    shown = f" ({len(traces)} match)" if len(traces) != total else ""
    counted = f"{_count(recording.events, 'event')}, {_count(total, 'trace')}"
    print(f"{where}: {counted}{shown}{skipped}", file=out)
    if args.html or args.perfetto:
        return _write(args, recording, traces)
    if not traces:
        print("no trace matches these filters" if total else "the recording holds no runs", file=out)
        return 0
    from llmhooks.viewer import render_traces, render_tree

    tree = args.tree or args.trace is not None or args.run is not None
    if not tree or len(traces) > 1:
        render_traces(traces, out, color=color)
    if tree:
        for trace in traces:
            focus = None
            if keep.run is not None:
                focus = next((r for r in trace.runs if r.run_id.startswith(keep.run)), None)
            print(file=out)
            render_tree(
                trace,
                out,
                shown=keep.shown(trace) if keep.selects_runs else None,
                focus=focus,
                color=color,
                verbose=args.verbose,
                tokens=args.tokens,
            )
    return 0


def _write(args: argparse.Namespace, recording: Any, traces: list[Any]) -> int:
    from llmhooks.viewer import Progress, write_html, write_perfetto
    from llmhooks.viewer.redis_source import is_redis_url, shown_url

    runs = sum(len(t.runs) for t in traces)
    made = f"{_count(len(traces), 'trace')}, {_count(runs, 'run')}"
    enabled = False if args.no_progress else None
    try:
        if args.html:
            with Progress(f"writing {os.path.basename(args.html)}", runs, enabled=enabled) as bar:
                title = shown_url(args.path) if is_redis_url(args.path) else os.path.basename(args.path)
                write_html(recording, args.html, traces=traces, title=title, step=bar.update)
            print(f"wrote {args.html}: {made} (open it in a browser)")
        if args.perfetto:
            with Progress(f"writing {os.path.basename(args.perfetto)}", runs, enabled=enabled) as bar:
                write_perfetto(recording, args.perfetto, traces=traces, step=bar.update)
            print(f"wrote {args.perfetto}: {made} (open it at ui.perfetto.dev)")
    except OSError as exc:
        return _fail(f"cannot write: {exc}")
    return 0
