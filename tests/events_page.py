"""The generated parts of docs/events.md: field tables rendered from the event classes.

    python -m tests.events_page --write     # rewrite the generated parts in place
    python -m tests.events_page             # exit 1 if the page is out of date

The page is hand-written prose with marked regions that this module fills in::

    <!-- generated: LLMEndEvent -->

    ...type, handler methods, terminal, the class summary, its field table...

    <!-- end generated -->

A region names an event class, or ``common`` (the fields every event has), ``index``
(every event type at a glance) or ``aliases`` (field names of other systems). Each
field's meaning comes from an ``Attributes:`` section of a class docstring when one has
it, else from ``MEANINGS`` below; a field with neither is an error, so a new field
cannot reach the page without a meaning. ``tests/test_events_page.py`` fails when the
page differs from what this renders now.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from llmhooks import events
from llmhooks.events import Event, event_types
from llmhooks.events._model import FieldSpec, field_specs

PAGE = Path(__file__).resolve().parents[1] / "docs" / "events.md"
COMMAND = "python -m tests.events_page --write"
REGION = re.compile(r"(<!-- generated: (\S+) -->\n)(.*?)(<!-- end generated -->)", re.S)
SPECIAL = ("common", "index", "aliases")

# One line per field, looked up as "Class.field" along the class's MRO (so a family's
# base class gives its fields once: "LLMEvent.provider"), then as the bare field name
# (for fields that mean the same in every family).
MEANINGS: dict[str, str] = {
    # every event
    "Event.run_id": "id of the run this event belongs to (16 hex chars); every event of one run has the same",
    "Event.parent_run_id": "`run_id` of the run that was current when this run started; None for a root run",
    "Event.trace_id": "id shared by every run of one tree (32 hex chars, as OpenTelemetry's trace ids)",
    "Event.timestamp": "when the event was made, seconds since the epoch (`time.time()`)",
    "Event.user_id": "the user the work is for, from `run_context(user_id=...)`",
    "Event.tags": "labels from the run, `run_context(tags=...)` and integrations (LangChain config tags)",
    "Event.metadata": "free-form values from the run, `run_context(metadata=...)` and integrations",
    # shared by several families
    "latency_ms": "wall time from the run's start to this event, in milliseconds",
    "incomplete": "True when the run was stopped early (a stream closed before its end): not an error",
    "error": "the exception (a redacted copy), or its text; `to_dict()` gives type and message",
    "error_type": "the exception's class name",
    "cancelled": "True when the task was cancelled or interrupted rather than failing",
    "error_code": "the provider's error code, e.g. the HTTP status as text",
    "is_recoverable": "True when retrying may succeed (rate limit, timeout, connection failure, 5xx)",
    "context": "what the error is about: the parameter or request at fault, when known",
    # LLM
    "LLMEvent.provider": "who serves the model: `openai`, `anthropic`, `offline`, ...",
    "LLMEvent.model": "the model name as requested (or as the provider reported it)",
    "LLMStartEvent.messages": 'the chat messages, as `{"role", "content"}` dicts (redacted)',
    "LLMStartEvent.prompt": "the prompt of a completion-style call (redacted)",
    "LLMStartEvent.temperature": "sampling temperature, when the call set one",
    "LLMStartEvent.max_tokens": "the output-token cap, when the call set one",
    "LLMStartEvent.tools": "the tool schemas offered to the model",
    "LLMStartEvent.streaming": "True when the answer is streamed (token events follow)",
    "LLMStartEvent.params": "other request parameters (`top_p`, `seed`, ...), redacted",
    "LLMTokenEvent.token": "the streamed text delta",
    "LLMTokenEvent.index": "0, 1, 2, ... within the run",
    "LLMTokenEvent.is_first": "True on the run's first token",
    "LLMTokenEvent.time_to_first_token_ms": "on the first token: milliseconds from the start to it",
    "LLMTokenEvent.content_index": "in a Responses-style stream: the content part the delta belongs to",
    "LLMTokenEvent.item_id": "in a Responses-style stream: the id of the output item it belongs to",
    "LLMTokenEvent.output_index": "in a Responses-style stream: the output item's position",
    "LLMTokenEvent.sequence_number": "in a Responses-style stream: the server event's sequence number",
    "LLMEndEvent.response": "the answer: its text, or the provider's response object",
    "LLMEndEvent.input_tokens": "prompt tokens, cached ones included",
    "LLMEndEvent.output_tokens": "generated tokens, reasoning ones included",
    "LLMEndEvent.total_tokens": "`input_tokens + output_tokens`",
    "LLMEndEvent.cached_input_tokens": "the part of `input_tokens` read from the provider's prompt cache",
    "LLMEndEvent.cache_write_input_tokens": "the part of `input_tokens` written to the prompt cache",
    "LLMEndEvent.reasoning_tokens": "the part of `output_tokens` spent on reasoning",
    "LLMEndEvent.input_audio_tokens": "the audio part of `input_tokens` (realtime voice)",
    "LLMEndEvent.output_audio_tokens": "the audio part of `output_tokens` (realtime voice)",
    "LLMEndEvent.usage_estimated": "True when the counts were estimated (the provider reported none)",
    "LLMEndEvent.time_to_first_token_ms": "for a stream: milliseconds from the start to the first token",
    "LLMEndEvent.finish_reason": "why the model stopped: `stop`, `length`, `tool_calls`, ...",
    "LLMEndEvent.tool_calls": "the tool calls the model asked for",
    "LLMEndEvent.cost": "USD, set by `CostTracker` for the handlers after it; None when not priced",
    "LLMEndEvent.item_id": "the id of the output item the answer is, when the provider gives one",
    "LLMEndEvent.original": "the provider's own response object, when the producer keeps it",
    "LLMEndEvent.response_id": "the id the provider gave its answer (`chatcmpl-...`, `msg_...`), when known",
    "LLMEndEvent.response_model": "the model the provider says answered (a dated snapshot, say), when known",
    # tool
    "ToolEvent.tool_name": "the tool's name",
    "ToolEvent.tool_call_id": "the model's id for this call, when a model asked for it",
    "ToolEvent.server_name": "the MCP server the tool belongs to; None for a local tool",
    "ToolStartEvent.arguments": "the arguments, by name (redacted)",
    "ToolEndEvent.result": "what the tool returned",
    "ToolEndEvent.success": "False when the tool reported a failure in its result",
    "ToolEndEvent.error": "the failure's text when `success` is False (seed 004's field); else None",
    "ToolErrorEvent.error": "the exception (a redacted copy), or its text; `to_dict()`: type and message",
    "ToolErrorEvent.success": "always False: a failed tool, as seed 004's `ToolEndEvent(success=False)`",
    "ToolErrorEvent.result": "None: the tool gave no result",
    "ToolErrorEvent.arguments": "the arguments the tool was called with (redacted)",
    # MCP
    "MCPEvent.server_name": "the server's name from its config",
    "MCPConnectEvent.transport": "`stdio` or `streamable_http`",
    "MCPConnectEvent.tools_count": "tools the server listed",
    "MCPConnectEvent.resources_count": "resources the server listed",
    "MCPConnectEvent.prompts_count": "prompts the server listed",
    "MCPDisconnectEvent.reason": "why the session ended: `closed by client`, or what went wrong",
    "MCPProgressEvent.tool_name": "the tool whose call reports progress",
    "MCPProgressEvent.progress": "progress so far, as the server sent it",
    "MCPProgressEvent.total": "the total, when the server knows it",
    "MCPProgressEvent.message": "the server's progress message",
    "MCPLoggingEvent.tool_name": "the tool being called when the message came, if exactly one was",
    "MCPLoggingEvent.level": "the MCP log level: `debug`, `info`, `warning`, `error`, ...",
    "MCPLoggingEvent.data": "the logged data (text or JSON), redacted",
    "MCPLoggingEvent.logger_name": "the server-side logger, when it named one",
    # agent
    "AgentEvent.agent_name": "the agent's name (`Agent(name=...)`, `agent_run(agent_name=...)`)",
    "AgentStartEvent.goal": "what the agent was asked to do",
    "AgentStepEvent.step": "the step number, from 1",
    "AgentStepEvent.action": "what the step did: a tool name, a list of names, or `final_answer`",
    "AgentStepEvent.action_input": "the action's arguments",
    "AgentStepEvent.observation": "what came of it: tool results, or the answer",
    "AgentEndEvent.result": "the agent's answer",
    "AgentEndEvent.steps": "how many steps were taken",
    # chain
    "ChainEvent.chain_name": "the chain's name (`LangGraph` for a whole graph)",
    "ChainStartEvent.inputs": "what the chain was given",
    "ChainEndEvent.result": "what the chain returned",
    # graph
    "GraphEvent.node_id": "the node's name in its graph",
    "GraphEvent.node_type": "what kind of node it is, when the producer says",
    "GraphEvent.step": "the graph engine's step counter (LangGraph's `langgraph_step`, from 1)",
    "GraphNodeStartEvent.inputs": "the state the node was given",
    "GraphNodeEndEvent.outputs": "what the node returned (LangGraph: the state update)",
    # retrieval
    "RetrievalEvent.retriever": "the retriever's name",
    "RetrievalStartEvent.query": "the query (redacted)",
    "RetrievalEndEvent.documents": "what was found (LangChain documents as page_content/metadata dicts)",
    # realtime
    "RealtimeEvent.provider": "who serves the session",
    "RealtimeEvent.session_id": "the provider's id for the session",
    "RealtimeConnectedEvent.session_config": "the session's configuration (voice, modalities, ...)",
    "RealtimeConnectedEvent.capabilities": "what the session can do (`audio`, `text`, ...)",
    "RealtimeDisconnectedEvent.reason": "why the session closed",
    "RealtimeDisconnectedEvent.was_clean": "False when the connection was lost rather than closed",
    "RealtimeDisconnectedEvent.close_code": "the websocket close code, when a close frame came",
    "RealtimeAudioInputEvent.data": "the audio sent (base64, as sent); only with content capture",
    "RealtimeAudioOutputEvent.data": "the audio received, as for the input event; only with content capture",
    "audio_bytes": "the audio's decoded size in bytes (always set)",
    "duration_ms": "the audio's length in milliseconds, from the session's audio format",
    "audio_format": "the session's audio format: `audio/pcm`, `audio/pcmu`, `audio/pcma`",
    "sample_rate": "samples per second of that format",
    "item_id": "the provider's id of the conversation item this belongs to",
    "response_id": "the provider's id of the response this belongs to",
    "RealtimeResponseEvent.text": "the response's text (so far)",
    "RealtimeResponseEvent.is_complete": "False for a partial response",
    "RealtimeResponseEvent.status": "the response's status: `completed`, `cancelled`, `failed`, ...",
    "RealtimeResponseEvent.conversation_item_id": "the id of the conversation item the response made",
    "original": "the provider's own event, as received",
    "RealtimeUserTranscriptionEvent.text": "what the user said",
    "RealtimeAgentTranscriptionEvent.text": "what the agent said",
    "RealtimeErrorEvent.error": "the session's error (an exception or its text)",
    "RealtimeErrorEvent.error_type": "the provider's error type (`invalid_request_error`...)",
    "RealtimeErrorEvent.context": "what the error is about: the parameter or client event at fault",
    # VLM
    "VLMEvent.inference_id": "id shared by the events of one inference",
    "VLMEvent.provider": "who serves the model, as for `LLMEvent`",
    "VLMEvent.model": "the vision-language model",
    "VLMInferenceStartEvent.frames_count": "frames (images) sent to the model",
    "VLMInferenceStartEvent.image_bytes": "decoded size of the images sent inline (not those given by URL)",
    "VLMInferenceCompletedEvent.text": "the model's answer",
    "VLMInferenceCompletedEvent.input_tokens": "prompt tokens, as for `LLMEndEvent`",
    "VLMInferenceCompletedEvent.output_tokens": "generated tokens, as for `LLMEndEvent`",
    "VLMInferenceCompletedEvent.frames_processed": "frames the model processed",
    "VLMInferenceCompletedEvent.detections": "what was detected: a count, or the detections",
    "VLMErrorEvent.error": "the inference's error (an exception or its text)",
    # handler
    "HandlerErrorEvent.handler": "the subscriber that raised (its qualified name)",
    "HandlerErrorEvent.event_type": "the `type` of the event it raised on",
    "HandlerErrorEvent.error": "the exception it raised (a redacted copy)",
    "HandlerErrorEvent.event": "the event it raised on",
}

_ATTRIBUTES = re.compile(r"^\s*Attributes:\s*$")
_ATTRIBUTE = re.compile(r"^\s+(\w+):\s*(.+)$")


def docstring_meanings(doc: str | None) -> dict[str, str]:
    """Field meanings from a Google-style ``Attributes:`` section of ``doc`` (first line of each)."""
    found: dict[str, str] = {}
    lines = inspect.cleandoc(doc or "").splitlines()
    inside = False
    for line in lines:
        if _ATTRIBUTES.match(line):
            inside = True
            continue
        if inside:
            if line and not line[0].isspace():
                break
            match = _ATTRIBUTE.match(line)
            if match:
                found.setdefault(match.group(1), match.group(2).strip())
    return found


def summary(cls: type) -> str:
    """The first paragraph of the class docstring, on one line."""
    doc = inspect.cleandoc(vars(cls).get("__doc__") or "")
    return " ".join(doc.split("\n\n", 1)[0].split()).replace("``", "`")


def meaning(cls: type, name: str, used: set[str] | None = None) -> str:
    """The one-line meaning of field ``name`` of ``cls``; raises ``LookupError`` if it has none."""
    for klass in cls.__mro__:
        from_doc = docstring_meanings(vars(klass).get("__doc__")).get(name)
        if from_doc:
            return from_doc
        key = f"{klass.__name__}.{name}"
        if key in MEANINGS:
            if used is not None:
                used.add(key)
            return MEANINGS[key]
    if name in MEANINGS:
        if used is not None:
            used.add(name)
        return MEANINGS[name]
    raise LookupError(
        f"{cls.__name__}.{name} has no meaning: add an 'Attributes:' line to its class docstring "
        f"or an entry '{cls.__name__}.{name}' to MEANINGS in tests/events_page.py"
    )


def event_classes() -> dict[str, type[Event]]:
    """llmhooks' own event classes by name (a user's or a test's subclass with a ``type`` is left out)."""
    return {c.__name__: c for c in event_types().values() if c.__module__.startswith("llmhooks.")}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(spec: FieldSpec) -> str:
    if spec.factory is None:
        return repr(spec.default)
    if spec.factory in (list, dict, set, tuple):
        return repr(spec.factory())
    return f"{spec.factory.__module__}.{spec.factory.__qualname__}()"


COMMON = tuple(s.name for s in field_specs(Event))


def field_table(cls: type, specs: Iterable[FieldSpec], used: set[str] | None = None) -> list[str]:
    """A markdown table of ``specs``: name, type, default, meaning."""
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for spec in specs:
        rows.append(
            f"| `{spec.name}` | `{_cell(spec.annotation)}` | `{_cell(_default(spec))}` "
            f"| {_cell(meaning(cls, spec.name, used))} |"
        )
    return rows


def handler_methods(cls: type[Event]) -> str:
    return f"`{cls.handler_method}` / `{cls.handler_method}_async`"


def render_class(cls: type[Event], used: set[str] | None = None) -> list[str]:
    """The generated part of one class's section."""
    terminal = "**terminal**" if cls.terminal else "not terminal"
    lines = [f"`{cls.type}` · {handler_methods(cls)} · {terminal}", ""]
    text = summary(cls)
    if text:
        lines += [text, ""]
    own = [s for s in field_specs(cls) if s.name not in COMMON]
    if own:
        lines += field_table(cls, own, used)
    else:
        lines.append("Only the common fields.")
    other_names = class_aliases().get(cls.__name__)
    if other_names:
        lines += ["", "Also named: " + ", ".join(f"`{n}`" for n in other_names) + "."]
    if cls.aliases:
        aliases = ", ".join(f"`{a}` → `{t}`" for a, t in sorted(cls.aliases.items()))
        lines += ["", f"Aliases: {aliases}."]
    return lines


def _family(cls: type) -> type:
    """The family base of ``cls``: its last ancestor below ``Event`` (itself for a direct subclass)."""
    family = cls
    for klass in cls.__mro__:
        if klass is Event:
            break
        if isinstance(klass, type) and issubclass(klass, Event):
            family = klass
    return family


def render_index(order: Iterable[str] = ()) -> list[str]:
    """Every event type, in the order of the page's sections (``order``), then the rest."""
    classes = event_classes()
    names = [n for n in order if n in classes] + sorted(set(classes) - set(order))
    rows = ["| type | class | family | handler methods | terminal |", "|---|---|---|---|---|"]
    for cls in (classes[n] for n in names):
        family = _family(cls).__name__
        terminal = "yes" if cls.terminal else ""
        rows.append(
            f"| `{cls.type}` | [`{cls.__name__}`](#{cls.__name__.lower()}) | `{family}` "
            f"| {handler_methods(cls)} | {terminal} |"
        )
    return rows


def class_aliases() -> dict[str, list[str]]:
    """Class name -> the other names ``llmhooks.events`` exports it under (seed 004's class names)."""
    classes = event_classes()
    found: dict[str, list[str]] = {}
    for name in events.__all__:
        obj = getattr(events, name)
        if isinstance(obj, type) and name != obj.__name__ and classes.get(obj.__name__) is obj:
            found.setdefault(obj.__name__, []).append(name)
    return found


def render_aliases(order: Iterable[str] = ()) -> list[str]:
    """One row per class that has another name or field aliases, in the page's order."""
    classes = event_classes()
    names = [n for n in order if n in classes] + sorted(set(classes) - set(order))
    other_names = class_aliases()
    rows = []
    for name in names:
        cls = classes[name]
        fields = ", ".join(f"`{a}` → `{t}`" for a, t in sorted(cls.aliases.items()))
        known_as = ", ".join(f"`{n}`" for n in other_names.get(name, []))
        if fields or known_as:
            rows.append(f"| `{name}` | {known_as} | {fields} |")
    if not rows:
        return ["No event class has other names or field aliases yet."]
    return ["| class | also named | field aliases (alias → field) |", "|---|---|---|", *rows]


def render_region(name: str, order: Iterable[str] = (), used: set[str] | None = None) -> list[str]:
    """The lines of region ``name``; ``order`` is the page's region names, for the index."""
    if name == "common":
        return field_table(Event, field_specs(Event), used)
    if name == "index":
        return render_index(order)
    if name == "aliases":
        return render_aliases(order)
    classes = event_classes()
    if name not in classes:
        raise LookupError(f"docs/events.md has a region for {name!r}, which is no event class")
    return render_class(classes[name], used)


def render(page: str, used: set[str] | None = None) -> str:
    """``page`` with every generated region rendered from the classes as they are now.

    Raises:
        LookupError: a region names no class, an event class has no region, or a field
            has no meaning.
    """
    names = [m.group(2) for m in REGION.finditer(page)]
    missing = [n for n in event_classes() if n not in names]
    missing += [s for s in SPECIAL if s not in names]
    if missing:
        raise LookupError(
            "docs/events.md has no generated region for "
            + ", ".join(missing)
            + ": add '<!-- generated: NAME -->' and '<!-- end generated -->' lines to its family's "
            + f"section, then run {COMMAND}"
        )

    def fill(match: re.Match[str]) -> str:
        body = "\n".join(render_region(match.group(2), names, used))
        # blank lines around: a table must not run into the marker comments
        return f"{match.group(1)}\n{body}\n\n{match.group(4)}"

    return REGION.sub(fill, page)


def unused_meanings() -> list[str]:
    """``MEANINGS`` keys that no field of any event class uses (stale entries)."""
    used: set[str] = set()
    for cls in (Event, *event_classes().values()):
        for spec in field_specs(cls):
            meaning(cls, spec.name, used)
    return sorted(set(MEANINGS) - used)


def main(argv: list[str] | None = None, path: Path = PAGE) -> int:
    """Check the page (exit status 1 when out of date), or rewrite it with ``--write``."""
    args = sys.argv[1:] if argv is None else argv
    page = path.read_text()
    new = render(page)
    if "--write" in args:
        if new != page:
            path.write_text(new)
        print(f"{path}: {'rewritten' if new != page else 'up to date'}")
        return 0
    if new != page:
        print(f"{path} is out of date: run {COMMAND}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
