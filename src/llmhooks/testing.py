"""Test helpers: record events with a real handler, and reset global state (docs/testing.md).

rec = RecordingCallbacks()
with llm_run(provider="offline", model="m", callbacks=rec) as run:
    run.token("hi")
assert rec.types() == ["llm.start", "llm.token", "llm.end"]

reset()   # between tests: no global or scoped handlers, default redaction
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, TypeVar

from llmhooks.core.callbacks import Callbacks
from llmhooks.events.base import Event

__all__ = ["RecordingCallbacks", "reset"]

E = TypeVar("E", bound=Event)


class RecordingCallbacks(Callbacks):
    """Records every event it receives, in order; thread- and task-safe."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def types(self) -> list[str]:
        """The ``type`` of each recorded event, in order."""
        return [e.type for e in self.events]

    def of_type(self, cls: type[E]) -> list[E]:
        """The recorded events that are instances of ``cls``."""
        return [e for e in self.events if isinstance(e, cls)]

    def for_run(self, run_id: str) -> list[Event]:
        """The events of one run, in order."""
        return [e for e in self.events if e.run_id == run_id]

    def clear(self) -> None:
        """Forget every recorded event."""
        with self._lock:
            self.events.clear()

    def runs(self) -> dict[str, list[str]]:
        """Run id -> the types of its events, in order."""
        out: dict[str, list[str]] = {}
        for e in self.events:
            out.setdefault(e.run_id, []).append(e.type)
        return out

    def children(self, run_id: str) -> list[str]:
        """Ids of the runs whose parent is ``run_id``, in start order."""
        seen: list[str] = []
        for e in self.events:
            if e.parent_run_id == run_id and e.run_id not in seen:
                seen.append(e.run_id)
        return seen

    def tree(self) -> list[tuple[int, str, str]]:
        """``(depth, run_id, start type)`` of every run, depth-first by start order."""
        starts = [e for e in self.events if e.type.endswith("start")]
        by_parent: dict[str | None, list[Event]] = {}
        ids = {e.run_id for e in starts}
        for e in starts:
            parent = e.parent_run_id if e.parent_run_id in ids else None
            by_parent.setdefault(parent, []).append(e)
        out: list[tuple[int, str, str]] = []

        def walk(parent: str | None, depth: int) -> None:
            for e in by_parent.get(parent, []):
                out.append((depth, e.run_id, e.type))
                walk(e.run_id, depth + 1)

        walk(None, 0)
        return out

    def assert_types(self, expected: Sequence[str]) -> None:
        """Assert the recorded types equal ``expected``, showing both if not."""
        actual = self.types()
        assert actual == list(expected), f"expected {list(expected)}, got {actual}"

    def assert_terminated(self) -> None:
        """Assert every started run has exactly one terminal event."""
        counts: dict[str, list[Any]] = {}
        for e in self.events:
            kind = e.type.rsplit(".", 1)[-1]
            counts.setdefault(e.run_id, []).append(kind)
        for run_id, kinds in counts.items():
            starts = sum(k in ("start", "node_start", "inference_start") for k in kinds)
            ends = sum(k in ("end", "error", "node_end", "node_error") for k in kinds)
            assert starts <= 1 and ends == starts, f"run {run_id}: {kinds}"


def reset() -> None:
    """Put llmhooks back to its starting state, for the next test.

    Waits (up to 5 s) for background handlers to deliver what is queued, then clears the
    global handlers, the manager cache, this context's scoped handlers, current run and run
    context, and redaction settings.
    """
    from llmhooks.core.background import flush
    from llmhooks.core.context import _reset
    from llmhooks.core.redaction import reset_redaction

    flush(timeout=5.0)
    _reset()
    reset_redaction()
