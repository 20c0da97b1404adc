"""``follow``: print a recording that is still being written, event by event, as ``PrintCallbacks`` would.

    stop = threading.Event()
    follow(open_source("session.jsonl"), RunFilter(types=("llm",)), sys.stdout, stop=stop)

It prints what is there, then polls the source every ``interval`` seconds and prints
each new event of a run that matches the filter as it stands when the event arrives
(a run's error is known only once its error event is in, so with ``errors=True`` only
error lines are printed). It returns when ``stop`` is set, or runs until interrupted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

from llmhooks.events import Event
from llmhooks.handlers.record import ReplayResult
from llmhooks.viewer.filters import RunFilter
from llmhooks.viewer.model import Recording, Run
from llmhooks.viewer.source import Source
from llmhooks.viewer.terminal import tree_printer

__all__ = ["follow", "live_match"]


def live_match(keep: RunFilter, run: Run | None) -> bool:
    """Whether an event of ``run`` is shown while following: ``keep`` as far as the run is known yet."""
    if run is None:
        return not (keep.trace or keep.run or keep.selects_runs)
    if keep.trace is not None and not run.trace_id.startswith(keep.trace):
        return False
    if keep.run is not None and not any(r.run_id.startswith(keep.run) for r in (run, *run.ancestors())):
        return False
    return not keep.selects_runs or keep.matches(run)


def follow(
    source: Source,
    keep: RunFilter,
    stream: TextIO,
    *,
    color: bool = False,
    verbose: bool = False,
    tokens: bool = False,
    interval: float = 0.5,
    stop: threading.Event | None = None,
    transform: Callable[[Event], Event] | None = None,
) -> Recording:
    """Print the events of ``source`` as they are written, until ``stop`` is set; returns what was read.

    Everything already written is printed first, even when ``stop`` is set on entry.

    Args:
        interval: seconds between polls once everything written so far is printed.
        transform: applied to each event before it is shown (the CLI's ``--price``).
    """
    recording = Recording()
    result = ReplayResult()
    emit = tree_printer(stream, color=color, verbose=verbose, tokens=tokens).emit
    while True:
        batch = source.poll(result)
        for event in batch:
            if transform is not None:
                event = transform(event)
            run = recording.add(event)
            if live_match(keep, run):
                emit(event)
        recording.skipped = result.skipped
        if batch:
            continue  # more may be waiting: poll again before sleeping
        stream.flush()
        if stop is None:
            time.sleep(interval)
        elif stop.wait(interval):
            break
    return recording
