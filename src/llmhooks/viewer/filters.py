"""Which traces and runs to show: by trace, run, run type, model, tool, error and text.

    keep = RunFilter(types=("tool",), errors=True)        # failed tool calls
    for trace in keep.traces(recording):                  # traces holding at least one
        shown = keep.shown(trace)                         # their run ids, with ancestors

Every run criterion (``types``, ``model``, ``tool``, ``errors``, ``text``) must hold for
the same run. ``trace`` and ``run`` (id prefixes) choose where to look: one trace, or
the subtree of one run. A matching run is shown with its ancestors, so it keeps its
place in the tree. ``model`` and ``tool`` are case-insensitive substrings, or
shell-style patterns when they hold ``*``, ``?`` or ``[``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from llmhooks._validate import check_choice
from llmhooks.viewer.model import KINDS, Recording, Run, Trace

__all__ = ["RunFilter"]


def _text_test(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip().lower()


def _like(pattern: str, values: Iterable[str | None]) -> bool:
    wild = any(c in pattern for c in "*?[")
    for value in values:
        if value is None:
            continue
        value = value.lower()
        if fnmatch.fnmatchcase(value, pattern) if wild else pattern in value:
            return True
    return False


@dataclass(frozen=True, slots=True)
class RunFilter:
    """A selection of runs; the default selects everything.

    Args:
        trace: a trace id or a prefix of one.
        run: a run id (or prefix): only its subtree.
        types: run kinds (``"llm"``, ``"tool"``, ``"agent"``, ``"node"``...; see ``KINDS``).
        model: model name, substring or pattern.
        tool: tool name (``name`` or ``server.name``), substring or pattern.
        errors: only runs that failed.
        text: a substring of a run's name, error or recorded inputs and outputs.

    Raises:
        ValueError: an unknown run type, or an empty string.
    """

    trace: str | None = None
    run: str | None = None
    types: tuple[str, ...] = ()
    model: str | None = None
    tool: str | None = None
    errors: bool = False
    text: str | None = None

    def __post_init__(self) -> None:
        types = (self.types,) if isinstance(self.types, str) else tuple(self.types)
        for kind in types:
            check_choice("types", kind, KINDS)
        object.__setattr__(self, "types", types)
        for name in ("trace", "run"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"{name} must be a non-empty id or id prefix, got {value!r}")
        object.__setattr__(self, "model", _text_test("model", self.model))
        object.__setattr__(self, "tool", _text_test("tool", self.tool))
        object.__setattr__(self, "text", _text_test("text", self.text))

    @property
    def selects_runs(self) -> bool:
        """Whether a run criterion is set (otherwise every run of the chosen traces is shown)."""
        return bool(self.types or self.model or self.tool or self.errors or self.text)

    def matches(self, run: Run) -> bool:
        """Whether ``run`` meets every run criterion (``trace`` and ``run`` aside)."""
        if self.types and run.kind not in self.types:
            return False
        if self.errors and run.status != "error" and not run.sustained_errors:
            return False
        if self.model is not None and not _like(self.model, (run.model,)):
            return False
        if self.tool is not None:
            if run.kind != "tool":
                return False
            server = run.name[5:] if run.name.startswith("tool ") else None
            if not _like(self.tool, (run.tool, server)):
                return False
        return self.text is None or self.text in run.text()

    def _scope(self, trace: Trace) -> list[Run]:
        """The runs of ``trace`` to look in: all, or the subtree of ``run``."""
        if self.run is None:
            return [r for r, _ in trace.walk()]
        found = [r for r in trace.runs if r.run_id.startswith(self.run)]
        return [r for root in found[:1] for r, _ in root.walk()]

    def traces(self, recording: Recording) -> list[Trace]:
        """The traces to list: in the chosen trace, holding a chosen run, with a matching run."""
        out = []
        for trace in recording.traces:
            if self.trace is not None and not trace.trace_id.startswith(self.trace):
                continue
            if not trace.runs:
                continue
            scope = self._scope(trace)
            if scope and (not self.selects_runs or any(self.matches(r) for r in scope)):
                out.append(trace)
        return out

    def shown(self, trace: Trace) -> set[str]:
        """Ids of the runs of ``trace`` to draw: the matching ones and their ancestors (within ``run``)."""
        scope = self._scope(trace)
        if not self.selects_runs:
            return {r.run_id for r in scope}
        top = scope[0] if self.run is not None and scope else None
        keep: set[str] = set()
        for run in scope:
            if run.run_id in keep or not self.matches(run):
                continue
            keep.add(run.run_id)
            if run is top:
                continue
            for parent in run.ancestors():
                if parent.run_id in keep:
                    break
                keep.add(parent.run_id)
                if parent is top:
                    break
        return keep
