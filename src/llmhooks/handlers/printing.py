"""``PrintCallbacks``: readable console output while you develop.

    agent = Agent(tools=[search], callbacks=PrintCallbacks())
    agent.run("Weather in Paris?")

    ▶ agent
      ▶ llm openai/gpt-4o
      ✔ llm openai/gpt-4o 410ms 52 in / 18 out tokens $0.000310
      ▶ tool search
      ✔ tool search 120ms
      ▶ llm openai/gpt-4o stream
        It is sunny in Paris today.
      ✔ llm openai/gpt-4o 380ms 90 in / 9 out tokens
    ✔ agent 960ms

Runs are indented under their parent run; streamed tokens are written inline as
they arrive (a line per stream: when streams interleave, each switch starts a
new line tagged with the run id). End lines show duration, tokens (``(estimated)``
when the provider sent no counts and they were estimated from the text) and cost
(when a ``CostTracker`` runs before this handler). Failures are marked ``✘`` in red:
errors, a tool that returned ``success=False``, an MCP server that could not connect or
went away (a session the client closed is ``✔``). ``verbose=True`` adds
prompts, tool arguments and results, agent steps, MCP progress and logs, and
realtime/VLM events.

Colour follows ``NO_COLOR``, ``FORCE_COLOR``, ``TERM=dumb`` and whether the output is a
terminal (``color=`` overrides them), via ``rich`` if it is installed, else ANSI codes.
``file=None`` means ``sys.stdout`` at the time of each write. When the reader of the
output goes away (``python app.py | head``), printing stops quietly and the program
goes on: a broken pipe is not the observed program's failure.
"""

from __future__ import annotations

import errno
import functools
import logging
import sys
import threading
from typing import Any, TextIO

from llmhooks._validate import check_bool, check_int, check_methods, check_with
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import (
    AgentEndEvent,
    AgentEvent,
    AgentStartEvent,
    AgentStepEvent,
    ChainEvent,
    Event,
    GraphEvent,
    LLMEndEvent,
    LLMStartEvent,
    LLMTokenEvent,
    MCPConnectEvent,
    MCPDisconnectEvent,
    MCPEvent,
    MCPLoggingEvent,
    MCPProgressEvent,
    RetrievalEndEvent,
    RetrievalEvent,
    ToolEndEvent,
    ToolEvent,
    ToolStartEvent,
)
from llmhooks.events.base import ErrorInfo
from llmhooks.events.serialize import to_jsonable
from llmhooks.handlers._console import ANSI, RESET, wants_color

__all__ = ["PrintCallbacks", "run_label"]

logger = logging.getLogger("llmhooks")

Segment = tuple[str, str | None]  # (text, style name understood by rich and by ANSI)
_UNICODE = ("▶", "✔", "✘", "·")
_ASCII = (">", "+", "x", "-")
_STARTS = frozenset({"start", "node_start", "inference_start"})
_ENDS = frozenset({"end", "node_end", "inference_completed"})
# the reason MCPClient gives a session it closed itself (docs/mcp.md, "Disconnect reasons")
_MCP_CLOSED_BY_CLIENT = "closed by client"


def _duration(ms: float | None) -> str:
    if ms is None:
        return ""
    return f" {ms:.0f}ms" if ms < 1000 else f" {ms / 1000:.2f}s"


def _preview(value: Any, width: int) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and value and isinstance(value[-1], dict):  # chat messages: the last one
        value = value[-1].get("content", value[-1])
    if not isinstance(value, str):  # never a value's own __repr__/__str__: it may hang the caller
        value = to_jsonable(value)
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _tokens(event: LLMEndEvent) -> str:
    cached = f" ({event.cached_input_tokens} cached)" if event.cached_input_tokens else ""
    estimated = " (estimated)" if event.usage_estimated else ""
    return f" {event.input_tokens or 0} in{cached} / {event.output_tokens or 0} out tokens{estimated}"


@functools.cache
def _rich_console_class() -> type[Any] | None:
    try:
        from rich.console import Console
    except ImportError:
        return None

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich's default exits the program; a handler must not end the program it observes
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    return _Console


def run_label(event: Event) -> str:
    """What a run is called in the tree: ``llm openai/gpt-4o``, ``tool demo-tools.lookup_capital``..."""
    if isinstance(event, (LLMStartEvent, LLMEndEvent)) or event.type.startswith("llm."):
        parts = (getattr(event, "provider", None), getattr(event, "model", None))
        model = "/".join(p for p in parts if p)
        return f"llm {model}" if model else "llm"
    if isinstance(event, ToolEvent):
        return (
            f"tool {event.server_name}.{event.tool_name}" if event.server_name else f"tool {event.tool_name}"
        )
    if isinstance(event, GraphEvent):
        return f"node {event.node_id}"
    if isinstance(event, AgentEvent):
        return f"agent {event.agent_name}" if event.agent_name else "agent"
    if isinstance(event, ChainEvent):
        return f"chain {event.chain_name}"
    if isinstance(event, RetrievalEvent):
        return f"retrieval {event.retriever}" if event.retriever else "retrieval"
    if isinstance(event, MCPEvent):
        return f"mcp {event.server_name}"
    family = event.type.split(".", 1)[0]
    name = getattr(event, "model", None) or getattr(event, "provider", None)
    return f"{family} {name}" if name else family


class PrintCallbacks(Callbacks):
    """Prints events as an indented tree of runs, streamed tokens inline; thread- and task-safe.

    Args:
        verbose: also print payload previews and minor events (see the module docstring).
        file: where to write (default: ``sys.stdout`` at each write).
        color: force colour on or off (default: from the environment and the terminal,
            see the module docstring).
        show_tokens: write streamed tokens inline (default True).
        width: longest preview of a payload, in characters.

    Raises:
        TypeError, ValueError: an argument of the wrong kind (``file="out.txt"``: open it first).
    """

    def __init__(
        self,
        verbose: bool = False,
        *,
        file: TextIO | None = None,
        color: bool | None = None,
        show_tokens: bool = True,
        width: int = 80,
    ) -> None:
        self.verbose = check_bool("verbose", verbose)
        self.file = check_methods(
            "file",
            file,
            ("write",),
            "a text stream (sys.stderr, open(path, 'w'), io.StringIO())",
            allow_none=True,
        )
        self.color = check_with(
            "color", color, lambda c: c is None or isinstance(c, bool), "True, False or None"
        )
        self.show_tokens = check_bool("show_tokens", show_tokens)
        self.width: int = check_int("width", width, minimum=1)
        self._lock = threading.Lock()
        self._depth: dict[str, int] = {}
        self._streamed: set[str] = set()
        self._open: str | None = None  # run whose tokens the current line holds
        self._stream_id = 0
        self._mode: tuple[bool, Any, tuple[str, ...]] = (False, None, _ASCII)
        self._gone = False  # the current stream's reader went away: write nothing more to it
        self._connected: set[str] = set()  # run ids of MCP sessions that connected

    # output

    def _stream(self) -> TextIO:
        stream = self.file or sys.stdout
        if id(stream) != self._stream_id:
            self._stream_id = id(stream)
            self._mode = self._detect(stream)
            self._gone = False
        return stream

    def _detect(self, stream: TextIO) -> tuple[bool, Any, tuple[str, ...]]:
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        symbols = _UNICODE if encoding.startswith("utf") else _ASCII
        color = wants_color(stream, self.color)
        console = None
        console_class = _rich_console_class() if color else None
        if console_class is not None:
            # colour was decided here: rich must not decide again from the environment
            console = console_class(
                file=stream,
                force_terminal=True,
                no_color=False,
                highlight=False,
                markup=False,
                emoji=False,
                soft_wrap=True,
            )
        return color, console, symbols

    def _write(self, stream: TextIO, segments: list[Segment], end: str = "\n") -> None:
        if self._gone:
            return
        try:
            self._write_to(stream, segments, end)
        except BrokenPipeError:
            self._gone = True
            logger.debug("PrintCallbacks: the reader of %r went away; printing stops", stream)

    def _write_to(self, stream: TextIO, segments: list[Segment], end: str) -> None:
        color, console, _ = self._mode
        if console is not None:
            from rich.text import Text

            text = Text()
            for chunk, style in segments:
                text.append(chunk, style=style or "")
            console.print(text, end=end)
            return
        if color:
            out = "".join(f"{ANSI[s]}{t}{RESET}" if s else t for t, s in segments)
        else:
            out = "".join(t for t, _ in segments)
        try:
            stream.write(out + end)
        except UnicodeEncodeError:  # a console that cannot show some of the model's text
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write((out + end).encode(encoding, "replace").decode(encoding))
        stream.flush()

    def _line(self, stream: TextIO, depth: int, segments: list[Segment]) -> None:
        if self._open is not None:
            self._write(stream, [], "\n")
            self._open = None
        self._write(stream, [("  " * depth, None), *segments])

    # events

    def on_llm_token(self, event: LLMTokenEvent) -> None:
        if not self.show_tokens:
            return
        with self._lock:
            stream = self._stream()
            run_id = event.run_id
            self._streamed.add(run_id)
            if self._open != run_id:
                if self._open is not None:
                    self._write(stream, [], "\n")
                depth = self._depth.get(run_id, 0) + 1
                tag = f"[{run_id[:6]}] " if self._open is not None or len(self._streamed) > 1 else ""
                self._write(stream, [("  " * depth, None), (tag, "dim")], "")
                self._open = run_id
            self._write(stream, [(event.token, None)], "")

    def on_event(self, event: Event) -> None:
        kind = event.type.rsplit(".", 1)[-1]
        with self._lock:
            stream = self._stream()
            symbols = self._mode[2]
            run_id = event.run_id
            if kind in _STARTS:
                parent = self._depth.get(event.parent_run_id or "")
                depth = 0 if parent is None else parent + 1
                self._depth[run_id] = depth
                self._line(
                    stream,
                    depth,
                    [(symbols[0] + " ", "cyan"), (run_label(event), "bold"), *self._start(event)],
                )
            elif kind in _ENDS or isinstance(event, MCPDisconnectEvent):
                known = self._depth.pop(run_id, None) if kind in _ENDS else None
                depth = self._child_depth(event) if known is None else known
                symbol, style = (symbols[2], "red") if self._failed(event) else (symbols[1], "green")
                self._line(
                    stream, depth, [(symbol + " ", style), (run_label(event), "bold"), *self._end(event)]
                )
                self._streamed.discard(run_id)
                self._connected.discard(run_id)
            elif isinstance(event, ErrorInfo):
                depth = self._depth.pop(run_id, self._child_depth(event))
                text = f" {event.error_message}"
                kind_name = getattr(event, "error_type", None)
                if kind_name and not event.error_message.startswith(kind_name):
                    text = f" {kind_name}: {event.error_message}"
                segments: list[Segment] = [
                    (symbols[2] + " ", "red"),
                    (run_label(event), "bold"),
                    (text, "red"),
                ]
                segments.append((_duration(getattr(event, "latency_ms", None)), "dim"))
                self._line(stream, depth, segments)
                self._streamed.discard(run_id)
            elif isinstance(event, MCPConnectEvent):
                self._connected.add(run_id)
                detail = f" connected ({event.transport or '?'}, {event.tools_count or 0} tools)"
                self._line(
                    stream,
                    self._child_depth(event),
                    [(symbols[0] + " ", "cyan"), (run_label(event), "bold"), (detail, None)],
                )
            elif isinstance(event, AgentStepEvent):
                detail = f" step {event.step}: {_preview(event.action, self.width)}"
                if self.verbose and event.observation is not None:
                    detail += f" -> {_preview(event.observation, self.width)}"
                self._line(stream, self._depth.get(run_id, 0) + 1, [(symbols[3], "dim"), (detail, None)])
            elif self.verbose:
                detail = self._minor(event)
                self._line(
                    stream,
                    self._child_depth(event),
                    [(symbols[3] + " ", "dim"), (run_label(event), "bold"), (detail, "dim")],
                )

    @staticmethod
    def _failed(event: Event) -> bool:
        if isinstance(event, ToolEndEvent):
            return not event.success
        if isinstance(event, MCPDisconnectEvent):
            return event.reason != _MCP_CLOSED_BY_CLIENT
        return False

    def _child_depth(self, event: Event) -> int:
        parent = self._depth.get(event.parent_run_id or "")
        return 0 if parent is None else parent + 1

    def _start(self, event: Event) -> list[Segment]:
        out: list[Segment] = []
        if isinstance(event, LLMStartEvent) and event.streaming:
            out.append((" stream", "dim"))
        if self.verbose:
            if isinstance(event, LLMStartEvent):
                preview = _preview(event.messages if event.messages else event.prompt, self.width)
            elif isinstance(event, ToolStartEvent):
                preview = _preview(event.arguments, self.width)
            elif isinstance(event, AgentStartEvent):
                preview = _preview(event.goal, self.width)
            else:
                preview = _preview(
                    getattr(event, "inputs", None) or getattr(event, "query", None), self.width
                )
            if preview:
                out.append((f" {preview}", "dim"))
        return out

    def _end(self, event: Event) -> list[Segment]:
        out: list[Segment] = [(_duration(getattr(event, "latency_ms", None)), "dim")]
        if isinstance(event, LLMEndEvent):
            if event.input_tokens is not None or event.output_tokens is not None:
                out.append((_tokens(event), None))
            if event.cost is not None:
                out.append((f" ${event.cost:.6f}", "yellow"))
            if event.incomplete:
                out.append((" (incomplete)", "dim"))
            if self.verbose and event.run_id not in self._streamed:
                preview = _preview(event.response, self.width)
                if preview:
                    out.append((f" -> {preview}", "dim"))
        elif isinstance(event, ToolEndEvent):
            if not event.success:
                out.append((" (failed)", "red"))
            if self.verbose and event.result is not None:
                out.append((f" -> {_preview(event.result, self.width)}", "dim"))
        elif isinstance(event, AgentEndEvent) and self.verbose and event.result is not None:
            out.append((f" -> {_preview(event.result, self.width)}", "dim"))
        elif isinstance(event, RetrievalEndEvent):
            out.append((f" {len(event.documents or ())} documents", None))
        elif isinstance(event, MCPDisconnectEvent):
            what = "disconnected" if event.run_id in self._connected else "failed to connect"
            failed = self._failed(event)
            reason = f": {event.reason}" if event.reason else ""
            out.append((f" {what}{reason}", "red" if failed else None))
        return out

    def _minor(self, event: Event) -> str:
        if isinstance(event, MCPProgressEvent):
            total = f"/{event.total:g}" if event.total else ""
            message = f" {event.message}" if event.message else ""
            return f" {event.tool_name or ''} {event.progress:g}{total}{message}"
        if isinstance(event, MCPLoggingEvent):
            return f" [{event.level}] {_preview(event.data, self.width)}"
        text = getattr(event, "text", None)
        return f" {event.type}" + (f" {_preview(text, self.width)}" if text else "")
