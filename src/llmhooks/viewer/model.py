"""Rebuild runs and traces from recorded events, with roll-ups per subtree.

    recording = Recording.from_events(read_events("session.jsonl"))
    for trace in recording.traces:                 # in order of their first event
        trace.root.name, trace.rollup.calls, trace.rollup.tokens, trace.rollup.cost
        for run, depth in trace.walk():            # the run tree, depth first, children by start
            run.kind, run.status, run.duration_ms, run.rollup.errors

A run is what a start event opened (``llm.start``, ``tool.start``, ``graph.node_start``,
``mcp.connect``...) and its end or error event closed; every other event with the same
``run_id`` (tokens, agent steps, MCP progress and logs) belongs to it. Events may arrive
in any order: a child seen before its parent is linked when the parent shows up, and a run
whose parent never shows up is a root of its trace. ``add`` is incremental (for
``--follow``); roll-ups are computed on demand and cached until the next ``add``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from llmhooks.events import Event
from llmhooks.events.base import ErrorInfo

__all__ = ["KINDS", "Recording", "Rollup", "Run", "Trace"]

# run kind by event family (the part of ``type`` before the dot)
_KIND = {
    "llm": "llm",
    "tool": "tool",
    "agent": "agent",
    "graph": "node",
    "chain": "chain",
    "retrieval": "retrieval",
    "mcp": "mcp",
    "realtime": "realtime",
    "vlm": "vlm",
}
KINDS: tuple[str, ...] = tuple(_KIND.values())
"""Every run kind, as ``--type`` takes them."""

_START, _END, _ERROR, _TOKEN, _OTHER = range(5)
_STARTS = frozenset({"start", "node_start", "inference_start", "connect", "connected"})
_ENDS = frozenset({"end", "node_end", "inference_completed", "disconnect", "disconnected"})
_SUSTAINED = frozenset({"realtime.error"})  # an error the session goes on after
_CALL_KINDS = frozenset({"llm", "vlm"})
_BASE_FIELDS = frozenset(
    {"type", "run_id", "parent_run_id", "trace_id", "timestamp", "user_id", "tags", "metadata"}
)
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "cache_write_input_tokens",
    "reasoning_tokens",
    "usage_estimated",
    "latency_ms",
    "time_to_first_token_ms",
    "finish_reason",
    "cost",
)
_roles: dict[str, int] = {}


def _role(type_name: str) -> int:
    role = _roles.get(type_name)
    if role is None:
        family, _, action = type_name.partition(".")
        if family not in _KIND:  # e.g. bus.handler_error: about a handler, not a run
            role = _OTHER
        elif type_name == "llm.token":
            role = _TOKEN
        elif action in _STARTS:
            role = _START
        elif action in _ENDS:
            role = _END
        elif action == "error" or action.endswith("_error"):
            role = _OTHER if type_name in _SUSTAINED else _ERROR
        else:
            role = _OTHER
        _roles[type_name] = role
    return role


def run_name(event: Event) -> str:
    """How a run is called in lists and trees (as ``PrintCallbacks`` labels it): ``llm openai/gpt-4o``."""
    family = event.type.partition(".")[0]
    if family == "llm":
        provider, model = getattr(event, "provider", None), getattr(event, "model", None)
        return f"llm {provider}/{model}" if provider else f"llm {model}"
    if family == "tool":
        server, tool = getattr(event, "server_name", None), getattr(event, "tool_name", "")
        return f"tool {server}.{tool}" if server else f"tool {tool}"
    field, default = _NAME_FIELDS.get(family, ("model", None))
    name = getattr(event, field, None) or (getattr(event, "provider", None) if field == "model" else None)
    if name:
        return f"{_NAME_WORDS.get(family, family)} {name}"
    return default or family


_NAME_FIELDS = {  # family -> (field naming the run, name when it is empty)
    "graph": ("node_id", "node"),
    "agent": ("agent_name", "agent"),
    "chain": ("chain_name", "chain"),
    "retrieval": ("retriever", "retrieval"),
    "mcp": ("server_name", "mcp"),
}
_NAME_WORDS = {"graph": "node"}


@dataclass(slots=True)
class Rollup:
    """Totals over a run and everything under it.

    ``calls`` counts LLM (and VLM) calls, ``tools`` tool calls, ``errors`` runs that
    failed (and sustained errors such as a realtime error); ``cost`` is ``None`` when
    no call in the subtree carried one, and ``unpriced`` counts calls that had none.
    ``start``/``end`` are epoch seconds of the subtree's first and last moments.
    """

    runs: int = 0
    calls: int = 0
    tools: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    unpriced: int = 0
    errors: int = 0
    start: float = 0.0
    end: float = 0.0

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @property
    def duration_ms(self) -> float:
        """Wall time from the subtree's first start to its last end."""
        return max(0.0, (self.end - self.start) * 1000.0)

    def add(self, other: Rollup) -> None:
        """Fold ``other`` (a child's roll-up) into this one."""
        self.runs += other.runs
        self.calls += other.calls
        self.tools += other.tools
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        if other.cost is not None:
            self.cost = other.cost if self.cost is None else self.cost + other.cost
        self.unpriced += other.unpriced
        self.errors += other.errors
        self.start = min(self.start, other.start)
        self.end = max(self.end, other.end)


class Run:
    """One run of the tree: what it was, when, how it ended, what it cost, and its children.

    ``status`` is ``"ok"``, ``"error"`` or ``"running"`` (no end event recorded).
    ``start_event``/``end_event`` are the recorded events (``end_event`` is the error
    event for a failed run); ``events`` holds the others, tokens excepted, in order.
    """

    __slots__ = (
        "_rollup",
        "children",
        "cost",
        "end",
        "end_event",
        "error",
        "error_type",
        "events",
        "input_tokens",
        "kind",
        "latency_ms",
        "model",
        "name",
        "output_tokens",
        "parent",
        "parent_id",
        "run_id",
        "start",
        "start_event",
        "status",
        "sustained_errors",
        "tokens",
        "tool",
        "trace_id",
    )

    def __init__(self, event: Event) -> None:
        self.run_id = event.run_id
        self.parent_id = event.parent_run_id or None
        self.trace_id = event.trace_id
        self.start = event.timestamp
        self.end: float | None = None
        self.latency_ms: float | None = None
        self.status = "running"
        self.error: str | None = None
        self.error_type: str | None = None
        self.sustained_errors = 0
        self.kind = ""
        self.name = ""
        self.model: str | None = None
        self.tool: str | None = None
        self._identify(event)
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cost: float | None = None
        self.tokens: list[str] = []
        self.start_event: Event | None = None
        self.end_event: Event | None = None
        self.events: list[Event] = []
        self.parent: Run | None = None
        self.children: list[Run] = []
        self._rollup: Rollup | None = None

    def __repr__(self) -> str:
        return f"<Run {self.name!r} {self.status} {self.run_id}>"

    def _identify(self, event: Event) -> None:
        """Kind, name, model and tool from ``event`` (its start, or the first event seen of it)."""
        family = event.type.partition(".")[0]
        self.kind = _KIND.get(family, family)
        self.name = run_name(event)
        self.model = getattr(event, "model", None) or self.model
        self.tool = getattr(event, "tool_name", None) if self.kind == "tool" else None

    @property
    def duration_ms(self) -> float | None:
        """The recorded latency, else the time between its start and end events; ``None`` if running."""
        if self.latency_ms is not None:
            return self.latency_ms
        if self.end is None:
            return None
        return max(0.0, (self.end - self.start) * 1000.0)

    @property
    def rollup(self) -> Rollup:
        """Totals over this run and its descendants, cached: after ``Recording.add``, call ``rollups()``."""
        if self._rollup is None:
            _compute_rollups([self])
        assert self._rollup is not None
        return self._rollup

    def walk(self) -> Iterator[tuple[Run, int]]:
        """This run and its descendants, depth first, children in start order, with their depth."""
        stack: list[tuple[Run, int]] = [(self, 0)]
        while stack:
            run, depth = stack.pop()
            yield run, depth
            stack.extend((child, depth + 1) for child in reversed(run.children))

    def ancestors(self) -> Iterator[Run]:
        """The parent, its parent, and so on up to the root."""
        run = self.parent
        while run is not None:
            yield run
            run = run.parent

    def detail(self) -> dict[str, Any]:
        """What the side panel shows: inputs, outputs, usage, metadata and other events (JSON-safe).

        Values are the recorded ones, already redacted by llmhooks when the events were built.
        """
        start = self.start_event.to_dict() if self.start_event is not None else {}
        end = self.end_event.to_dict() if self.end_event is not None else {}
        inputs = {k: v for k, v in start.items() if k not in _BASE_FIELDS and v is not None}
        outputs = {  # what the end added: not the identity fields it repeats from the start
            k: v for k, v in end.items() if k not in _BASE_FIELDS and v is not None and start.get(k) != v
        }
        usage = {k: outputs.pop(k) for k in _USAGE_FIELDS if k in outputs}
        if self.tokens:
            usage["streamed_tokens"] = len(self.tokens)
            if not outputs.get("response"):
                outputs["streamed_text"] = "".join(self.tokens)
        metadata: dict[str, Any] = {}
        tags: list[Any] = []
        user_id = None
        for data in (start, end):
            metadata.update(data.get("metadata") or {})
            tags.extend(t for t in data.get("tags") or () if t not in tags)
            user_id = data.get("user_id") or user_id
        others = []
        for event in self.events:
            data = event.to_dict()
            item = {k: v for k, v in data.items() if k not in _BASE_FIELDS and v is not None}
            others.append(
                {"type": event.type, "at_ms": round((event.timestamp - self.start) * 1000, 3), **item}
            )
        return {
            "run": {
                "name": self.name,
                "kind": self.kind,
                "status": self.status,
                "error": self.error,
                "run_id": self.run_id,
                "parent_run_id": self.parent_id,
                "trace_id": self.trace_id,
                "start": self.start,
                "duration_ms": self.duration_ms,
                "user_id": user_id,
                "tags": tags,
            },
            "inputs": inputs,
            "outputs": outputs,
            "usage": usage,
            "metadata": metadata,
            "events": others,
        }

    def text(self) -> str:
        """Everything searchable about the run, lower-cased: name, error, ids, payloads."""
        parts = [self.name, self.kind, self.error or "", self.run_id]
        parts.append(json.dumps(self.detail(), ensure_ascii=False, default=str))
        return "\n".join(parts).lower()


class Trace:
    """The runs sharing one ``trace_id``: their roots, every run, and every event in order."""

    __slots__ = ("events", "roots", "runs", "trace_id")

    def __init__(self, trace_id: str) -> None:
        self.trace_id = trace_id
        self.roots: list[Run] = []
        self.runs: list[Run] = []
        self.events: list[Event] = []

    def __repr__(self) -> str:
        return f"<Trace {self.trace_id} {len(self.runs)} runs>"

    @property
    def root(self) -> Run:
        """The first root run (the one the trace is named after)."""
        return self.roots[0]

    @property
    def name(self) -> str:
        """The root run's name, with ``+N`` when the trace has several roots."""
        extra = f" +{len(self.roots) - 1}" if len(self.roots) > 1 else ""
        return self.root.name + extra

    @property
    def start(self) -> float:
        """Epoch seconds of the trace's first event."""
        return self.events[0].timestamp

    @property
    def rollup(self) -> Rollup:
        """Totals over every root of the trace."""
        total: Rollup | None = None
        for root in self.roots:
            part = root.rollup
            if total is None:
                total = Rollup(start=part.start, end=part.end)
            total.add(part)
        return total if total is not None else Rollup(start=self.start, end=self.start)

    def walk(self) -> Iterator[tuple[Run, int]]:
        """Every run of the trace, root by root, depth first, with its depth."""
        for root in self.roots:
            yield from root.walk()


class Recording:
    """The traces and runs rebuilt from a sequence of events; add more at any time.

    Thread-unsafe: feed it from one thread.
    """

    def __init__(self) -> None:
        self.traces: list[Trace] = []
        self.runs: dict[str, Run] = {}
        self.events = 0
        self.skipped = 0  # unreadable records, as the reader counted them
        self._traces: dict[str, Trace] = {}
        self._orphans: dict[str, list[Run]] = {}  # parent id -> children seen before it
        self._dirty = False

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Recording:
        """A recording of ``events``, in the order given."""
        recording = cls()
        add = recording.add
        for event in events:
            add(event)
        return recording

    def trace(self, trace_id: str) -> Trace | None:
        """The trace with this id, or the only one whose id starts with it."""
        found = self._traces.get(trace_id)
        if found is not None:
            return found
        matches = [t for t in self.traces if t.trace_id.startswith(trace_id)]
        return matches[0] if len(matches) == 1 else None

    def run(self, run_id: str) -> Run | None:
        """The run with this id, or the only one whose id starts with it."""
        found = self.runs.get(run_id)
        if found is not None:
            return found
        matches = [r for r in self.runs.values() if r.run_id.startswith(run_id)]
        return matches[0] if len(matches) == 1 else None

    def add(self, event: Event) -> Run | None:
        """Take one event into the tree; returns the run it belongs to (``None`` for one with no run id)."""
        self.events += 1
        self._dirty = True
        trace_id = event.trace_id or event.run_id or "-"
        trace = self._traces.get(trace_id)
        if trace is None:
            trace = self._traces[trace_id] = Trace(trace_id)
            self.traces.append(trace)
        trace.events.append(event)
        if not event.run_id:
            return None
        run = self.runs.get(event.run_id)
        role = _role(event.type)
        if run is None:
            run = self._open(event, trace)
            if role != _START:  # its start is not in the recording: begin where we first saw it
                run.start = event.timestamp - (getattr(event, "latency_ms", None) or 0.0) / 1000.0
        if role == _TOKEN:
            run.tokens.append(getattr(event, "token", ""))
        elif role == _START:
            if run.start_event is None:
                if run.events or run.tokens or run.end_event is not None:  # opened by a later event
                    run.start = event.timestamp
                    run._identify(event)
                run.start_event = event
            else:
                run.events.append(event)
        elif role in (_END, _ERROR):
            self._close(run, event, role)
        else:
            run.events.append(event)
            if event.type in _SUSTAINED and isinstance(event, ErrorInfo):
                run.sustained_errors += 1
                run.error = run.error or event.error_message
        return run

    def _open(self, event: Event, trace: Trace) -> Run:
        run = Run(event)
        self.runs[run.run_id] = run
        trace.runs.append(run)
        parent = self.runs.get(run.parent_id) if run.parent_id else None
        if parent is not None:
            run.parent = parent
            parent.children.append(run)
        else:
            trace.roots.append(run)
            if run.parent_id:
                self._orphans.setdefault(run.parent_id, []).append(run)
        waiting = self._orphans.pop(run.run_id, None)
        if waiting:  # children recorded before this run: adopt them
            for child in waiting:
                child_trace = self._traces.get(child.trace_id or child.run_id or "-")
                if child_trace is not None and child in child_trace.roots:
                    child_trace.roots.remove(child)
                child.parent = run
                run.children.append(child)
            run.children.sort(key=_start_of)
        return run

    def _close(self, run: Run, event: Event, role: int) -> None:
        if run.end_event is not None:  # a second end (a producer bug): keep it, as an event
            run.events.append(event)
            return
        if run.start_event is None and run.kind != _KIND.get(event.type.partition(".")[0]):
            run._identify(event)  # opened by a progress or log event: the end says what it is
        run.end_event = event
        run.end = event.timestamp
        run.latency_ms = getattr(event, "latency_ms", None)
        if run.model is None or getattr(event, "model", None):
            run.model = getattr(event, "model", None) or run.model
        if role == _ERROR:
            run.status = "error"
            assert isinstance(event, ErrorInfo)
            run.error = event.error_message or event.type
            run.error_type = getattr(event, "error_type", None)
            if run.error_type is None and isinstance(event.error, dict):
                run.error_type = event.error.get("error_type")
        elif getattr(event, "success", True) is False:
            run.status = "error"
            run.error = "failed"
        else:
            run.status = "ok"
        input_tokens = getattr(event, "input_tokens", None)
        output_tokens = getattr(event, "output_tokens", None)
        if input_tokens is not None or output_tokens is not None:
            run.input_tokens = input_tokens or 0
            run.output_tokens = output_tokens or 0
        run.cost = getattr(event, "cost", None)

    def rollups(self) -> None:
        """Compute (or recompute after ``add``) every run's roll-up, in one pass."""
        if self._dirty:
            for run in self.runs.values():
                run._rollup = None
            _compute_rollups([r for t in self.traces for r in t.roots])
            self._dirty = False

    def finish(self) -> Recording:
        """Sort children by start and compute roll-ups; returns ``self``."""
        for run in self.runs.values():
            if len(run.children) > 1:
                run.children.sort(key=_start_of)
        for trace in self.traces:
            trace.roots.sort(key=_start_of)
        self.rollups()
        return self


def _start_of(run: Run) -> float:
    return run.start


def _compute_rollups(roots: list[Run]) -> None:
    """Post-order over the subtrees of ``roots``, without recursion (trees may be deep)."""
    order: list[Run] = []
    stack = list(roots)
    while stack:
        run = stack.pop()
        if run._rollup is not None:
            continue
        order.append(run)
        stack.extend(run.children)
    for run in reversed(order):  # children before parents
        is_call = run.kind in _CALL_KINDS
        end = run.end
        if end is None:  # still running, or cut off: it lasted at least until its last event
            end = max([run.start, *(e.timestamp for e in run.events)])
        own = Rollup(
            runs=1,
            calls=1 if is_call else 0,
            tools=1 if run.kind == "tool" else 0,
            input_tokens=run.input_tokens or 0,
            output_tokens=run.output_tokens or 0,
            cost=run.cost,
            unpriced=1 if is_call and run.cost is None else 0,
            errors=(1 if run.status == "error" else 0) + run.sustained_errors,
            start=run.start,
            end=end,
        )
        for child in run.children:
            if child._rollup is not None:
                own.add(child._rollup)
        run._rollup = own
