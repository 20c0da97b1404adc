"""``llmhooks view``: look at a recording in the terminal, in a browser, or in Perfetto.

    from llmhooks.viewer import RunFilter, load, render_traces, write_html

    recording = load("session.jsonl")               # JSONL or SQLite from EventRecorder
    recording = load(RedisSource("redis://127.0.0.1:6379/0"))  # what RedisStreamShipper wrote
    render_traces(recording.traces, sys.stdout)     # time, root run, duration, calls, tokens, cost, errors
    write_html(recording, "report.html")            # one self-contained file
    write_perfetto(recording, "trace.json")         # Chrome trace-event JSON

``load`` reads through ``llmhooks.handlers.record.read_events`` and rebuilds the run
tree (``Recording``, ``Trace``, ``Run``) with roll-ups per subtree (``Rollup``).
Modules: ``source`` (where events come from; ``redis_source``), ``model``, ``filters``, ``terminal``,
``follow``, ``html``, ``perfetto``, ``progress``, ``pricing``.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable

from llmhooks.events import Event
from llmhooks.handlers.record import ReplayResult
from llmhooks.viewer.filters import RunFilter
from llmhooks.viewer.follow import follow
from llmhooks.viewer.html import write_html
from llmhooks.viewer.model import KINDS, Recording, Rollup, Run, Trace
from llmhooks.viewer.perfetto import write_perfetto
from llmhooks.viewer.progress import Progress
from llmhooks.viewer.redis_source import RedisSource
from llmhooks.viewer.source import JsonlSource, Source, SqliteSource, open_source
from llmhooks.viewer.terminal import render_traces, render_tree, use_color

__all__ = [
    "KINDS",
    "JsonlSource",
    "Progress",
    "Recording",
    "RedisSource",
    "Rollup",
    "Run",
    "RunFilter",
    "Source",
    "SqliteSource",
    "Trace",
    "follow",
    "load",
    "open_source",
    "render_traces",
    "render_tree",
    "use_color",
    "write_html",
    "write_perfetto",
]


def load(
    source: Source | str | os.PathLike[str],
    *,
    progress: bool | None = False,
    transform: Callable[[Event], Event] | None = None,
) -> Recording:
    """Read every event of ``source`` (a ``Source``, a recording's path, a redis URL) into a ``Recording``.

    Args:
        progress: draw a progress bar on stderr (``None``: when stderr is a terminal).
        transform: a callable applied to each event as it is read (e.g. a ``Pricer``).

    Raises:
        FileNotFoundError: there is no such file.
    """
    src = source if isinstance(source, Source) else open_source(source)
    result = ReplayResult()
    bar = Progress(f"reading {src.short_name}", enabled=progress)
    if bar.enabled:
        bar.total = src.count()
    recording = Recording()
    add = recording.add
    # Everything read is kept, so the cyclic GC would only rescan a growing heap of live
    # events: off while reading, 100,000 events load about a third faster (bench/view.py).
    paused = gc.isenabled()
    gc.disable()
    try:
        with bar:
            done = 0
            for event in src.read(result):
                add(transform(event) if transform is not None else event)
                done += 1
                if not done & 1023:
                    bar.update(done)
            bar.update(done)
    finally:
        if paused:
            gc.enable()
    recording.skipped = result.skipped
    return recording.finish()
