"""``LoggingCallbacks``: every event to Python ``logging``, one line each.

    logging.basicConfig(level=logging.INFO)
    set_global_callbacks([LoggingCallbacks()])
    # INFO llmhooks.events: llm.end run=5f2c0e7a91b3d4c8 openai/gpt-4o 12+40 tokens 230ms $0.000430

Lines go to the logger ``"llmhooks.events"`` (or ``logger=``): error events at
``error_level`` (WARNING), streamed tokens and audio chunks at ``token_level``
(DEBUG, so they cost nothing unless enabled), everything else at ``level``
(INFO). A disabled level costs one ``isEnabledFor`` check.

For log pipelines each record carries ``record.llmhooks``: a flat dict of the
event's scalar fields (``type``, ``run_id``, ``parent_run_id``, ``trace_id``,
``user_id``, ``tags``, provider, model, token counts, latency, cost, tool and
node names, ``error`` as its message...) without payloads such as messages,
responses or tool arguments; ``include_payloads=True`` makes it
``event.to_dict()`` instead (every field, JSON-safe). A JSON formatter such as
``python-json-logger`` writes it as a nested object.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from llmhooks._validate import check_bool, check_log_level
from llmhooks.core.callbacks import Callbacks
from llmhooks.events import (
    AgentEvent,
    AgentStepEvent,
    ChainEvent,
    Event,
    GraphEvent,
    LLMEndEvent,
    LLMErrorEvent,
    LLMEvent,
    LLMStartEvent,
    LLMTokenEvent,
    MCPEvent,
    MCPProgressEvent,
    RealtimeAudioInputEvent,
    RealtimeAudioOutputEvent,
    RetrievalEndEvent,
    RetrievalEvent,
    ToolEvent,
)
from llmhooks.events._safe_str import exception_message
from llmhooks.events.base import ErrorInfo
from llmhooks.events.serialize import to_jsonable

__all__ = ["LoggingCallbacks"]

# payload fields: large, user content, or both; left out of record.llmhooks unless include_payloads
_PAYLOADS = frozenset(
    {
        "messages",
        "prompt",
        "tools",
        "params",
        "response",
        "tool_calls",
        "arguments",
        "result",
        "inputs",
        "outputs",
        "goal",
        "action",
        "action_input",
        "observation",
        "query",
        "documents",
        "data",
        "original",
        "text",
        "session_config",
        "metadata",
        "token",
    }
)
_NOISY = (LLMTokenEvent, RealtimeAudioInputEvent, RealtimeAudioOutputEvent)


def _ms(value: float | None) -> str:
    return "" if value is None else f" {value:.0f}ms"


def _error(event: Any) -> str:
    text = event.error_message if isinstance(event, ErrorInfo) else ""
    kind = getattr(event, "error_type", None)
    if kind and not text.startswith(kind):
        text = f"{kind}: {text}" if text else kind
    if getattr(event, "cancelled", False):
        text += " (cancelled)"
    return f" {text}{_ms(getattr(event, 'latency_ms', None))}"


def _llm(event: Any) -> str:
    name = f"{event.provider}/{event.model}" if event.provider else str(event.model)
    if isinstance(event, LLMEndEvent):
        out = f"{name} {event.input_tokens or 0}+{event.output_tokens or 0} tokens{_ms(event.latency_ms)}"
        if event.cost is not None:
            out += f" ${event.cost:.6f}"
        if event.finish_reason and event.finish_reason not in ("stop", "end_turn"):
            out += f" finish={event.finish_reason}"
        if event.incomplete:
            out += " (incomplete)"
        return out
    if isinstance(event, LLMErrorEvent):
        return name + _error(event)
    if isinstance(event, LLMTokenEvent):
        return f"{name} #{event.index} {event.token!r}"
    if isinstance(event, LLMStartEvent):
        extra = f" {len(event.messages)} messages" if event.messages else ""
        return name + (" streaming" if event.streaming else "") + extra
    return name


def _named(attr: str) -> Callable[[Any], str]:
    def describe(event: Any) -> str:
        name = str(getattr(event, attr, "") or "")
        if isinstance(event, ToolEvent) and event.server_name:
            name = f"{event.server_name}.{name}"
        if isinstance(event, ErrorInfo):
            return name + _error(event)
        if isinstance(event, AgentStepEvent):
            action = event.action if isinstance(event.action, str) else to_jsonable(event.action)
            return f"{name} step {event.step} {str(action)[:60]}"
        if isinstance(event, MCPProgressEvent):
            total = f"/{event.total:g}" if event.total else ""
            return f"{name} {event.tool_name or ''} {event.progress:g}{total}"
        if isinstance(event, RetrievalEndEvent):
            return f"{name} {len(event.documents or ())} documents{_ms(event.latency_ms)}"
        return name + _ms(getattr(event, "latency_ms", None))

    return describe


def _generic(event: Any) -> str:
    return _error(event).strip() if isinstance(event, ErrorInfo) else ""


def _describer(cls: type[Event]) -> Callable[[Any], str]:
    if issubclass(cls, LLMEvent):
        return _llm
    for family, attr in (
        (ToolEvent, "tool_name"),
        (MCPEvent, "server_name"),
        (GraphEvent, "node_id"),
        (AgentEvent, "agent_name"),
        (ChainEvent, "chain_name"),
        (RetrievalEvent, "retriever"),
    ):
        if issubclass(cls, family):
            return _named(attr)
    return _generic


_SCALARS = frozenset({str, int, float, bool})


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, BaseException):
        return exception_message(value) or type(value).__name__  # bounded: a __str__ may hang
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


class LoggingCallbacks(Callbacks):
    """Logs every event, one line each, with structured fields in ``record.llmhooks``.

    Levels are numbers or names, as ``logging`` takes them (``"INFO"``, ``"warning"``,
    ``logging.DEBUG``); they are stored as numbers.

    Args:
        level: level of ordinary events (INFO).
        logger: a ``logging.Logger`` or a logger name (default ``"llmhooks.events"``).
        error_level: level of ``*.error`` events (WARNING).
        token_level: level of streamed tokens and audio chunks (DEBUG).
        include_payloads: put ``event.to_dict()`` (every field) in ``record.llmhooks``.

    Raises:
        TypeError, ValueError: a level that is neither a number >= 0 nor a level name, a
            ``logger`` that is neither a ``Logger`` nor a name, a non-bool ``include_payloads``.
    """

    def __init__(
        self,
        level: int | str = logging.INFO,
        logger: logging.Logger | str | None = None,
        *,
        error_level: int | str = logging.WARNING,
        token_level: int | str = logging.DEBUG,
        include_payloads: bool = False,
    ) -> None:
        if isinstance(logger, logging.Logger):
            self.logger = logger
        elif logger is None or isinstance(logger, str):
            self.logger = logging.getLogger(logger or "llmhooks.events")
        else:
            raise TypeError(
                f"logger must be a logging.Logger or a logger name, got {logger!r} ({type(logger).__name__})"
            )
        self.level: int = check_log_level("level", level)
        self.error_level: int = check_log_level("error_level", error_level)
        self.token_level: int = check_log_level("token_level", token_level)
        self.include_payloads: bool = check_bool("include_payloads", include_payloads)
        self._plans: dict[type[Event], tuple[int, Callable[[Any], str], tuple[str, ...]]] = {}

    def _plan(self, cls: type[Event]) -> tuple[int, Callable[[Any], str], tuple[str, ...]]:
        if issubclass(cls, ErrorInfo):
            level = self.error_level
        elif issubclass(cls, _NOISY):
            level = self.token_level
        else:
            level = self.level
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in _PAYLOADS)
        plan = (level, _describer(cls), names)
        self._plans[cls] = plan
        return plan

    def on_event(self, event: Event) -> None:
        plan = self._plans.get(event.__class__) or self._plan(event.__class__)
        level, describe, names = plan
        logger = self.logger
        if not logger.isEnabledFor(level):
            return
        if self.include_payloads:
            fields = event.to_dict()
        else:
            fields = {"type": event.type}
            for name in names:
                value = getattr(event, name)
                if value is None:
                    continue
                if value.__class__ not in _SCALARS:
                    value = _scalar(value)
                    if value is None:
                        continue
                fields[name] = value
        detail = describe(event)
        if detail:
            logger.log(level, "%s run=%s %s", event.type, event.run_id, detail, extra={"llmhooks": fields})
        else:
            logger.log(level, "%s run=%s", event.type, event.run_id, extra={"llmhooks": fields})
