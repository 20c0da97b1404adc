"""The conversation and tool formats the ``LLM`` facade takes: OpenAI style, checked early.

    to_messages("Hello")                 # [{"role": "user", "content": "Hello"}]
    to_tools([{"name": "add", "parameters": {...}}])   # OpenAI function tools

Messages are OpenAI chat messages (``role`` ``system``/``user``/``assistant``/``tool``,
``content`` a string or a list of parts, assistant ``tool_calls``, tool
``tool_call_id``); providers translate them. Tools may be given as OpenAI function
tools, as bare ``{"name", "description", "parameters"}`` dicts, in Anthropic's
``input_schema`` form, or as plain functions and ``Tool`` objects (described from the
signature, as ``Agent`` does); they are normalised to OpenAI function tools.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmhooks.llm.response import ChatResponse, ToolCall, Usage, estimate_tokens
from llmhooks.tools import Tool

__all__ = [
    "MessagesLike",
    "ToolsLike",
    "content_text",
    "estimate_input_tokens",
    "estimated_usage",
    "to_messages",
    "to_tools",
    "tool_names",
]

MessagesLike = str | Sequence[Mapping[str, Any] | ChatResponse]
ToolsLike = Sequence[Mapping[str, Any] | Callable[..., Any] | Tool] | None
"""What ``tools=`` takes: dicts (OpenAI, bare or Anthropic form), functions and ``Tool`` objects."""

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def to_messages(messages: MessagesLike) -> list[dict[str, Any]]:
    """Return ``messages`` as a list of OpenAI-style message dicts.

    A string becomes one user message; a ``ChatResponse`` in the list becomes its
    assistant message.

    Raises:
        TypeError: ``messages`` is not a string or a list of message dicts.
        ValueError: a message has no known ``role``.
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, Mapping) or not isinstance(messages, Sequence):
        raise TypeError(
            "messages must be a string or a list of {'role': ..., 'content': ...} dicts, "
            f"got {type(messages).__name__}"
        )
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if isinstance(message, ChatResponse):
            out.append(message.to_message())
            continue
        if not isinstance(message, Mapping):
            raise TypeError(
                f"messages[{i}] must be a dict with 'role' and 'content', got {type(message).__name__}"
            )
        role = message.get("role")
        if role not in _ROLES:
            raise ValueError(f"messages[{i}] has role {role!r}; use one of {', '.join(sorted(_ROLES))}")
        out.append(dict(message))
    if not out:
        raise ValueError("messages is empty: give at least one message")
    return out


def to_tools(tools: ToolsLike) -> list[dict[str, Any]] | None:
    """Return ``tools`` as OpenAI function tools, or None when there are none.

    A function or ``Tool`` is described as ``Agent`` describes it (``Tool.from_function``:
    name, docstring summary, JSON schema from the signature).

    Raises:
        TypeError: a tool is not a function, ``Tool`` or dict, or has no name.
        ValueError: two tools share a name.
    """
    if not tools:
        return None
    if isinstance(tools, (Mapping, Tool)) or callable(tools):
        tools = [tools]
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            if not (isinstance(tool, Tool) or callable(tool)):
                raise TypeError(
                    f"tools[{i}] must be a function, a Tool or a dict such as {{'type': 'function', "
                    f"'function': {{'name': ..., 'parameters': {{...}}}}}}, got {type(tool).__name__}"
                )
            tool = Tool.from_function(tool).schema()
        fn = tool.get("function") if tool.get("type") == "function" else tool
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise TypeError(f"tools[{i}] has no function name: {dict(tool)!r}")
        params = fn.get("parameters", fn.get("input_schema")) or {"type": "object", "properties": {}}
        spec: dict[str, Any] = {"name": fn["name"], "parameters": dict(params)}
        if fn.get("description"):
            spec["description"] = fn["description"]
        out.append({"type": "function", "function": spec})
    names = tool_names(out)
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ValueError(f"two tools are named {name!r}; pass name= to tell them apart")
    return out


def tool_names(tools: list[dict[str, Any]] | None) -> list[str]:
    """The function names of normalised tools."""
    return [t["function"]["name"] for t in tools or ()]


def content_text(content: Any) -> str:
    """The text of a message ``content``: a string, or the text parts of a list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
            elif isinstance(part, str):
                parts.append(part)
        return "".join(parts)
    return str(content)


def estimate_input_tokens(messages: Sequence[Mapping[str, Any]] | None) -> int:
    """A rough prompt token count: the text of every message, plus a few tokens per message."""
    total = 0
    for message in messages or ():
        if not isinstance(message, Mapping):  # e.g. an SDK object: count its text roughly
            total += estimate_tokens(str(getattr(message, "content", "") or "")) + 4
            continue
        total += estimate_tokens(content_text(message.get("content"))) + 4
        for call in message.get("tool_calls") or ():
            fn = (call.get("function") if isinstance(call, Mapping) else None) or {}
            total += estimate_tokens(str(fn.get("name", "")) + str(fn.get("arguments", "")))
    return total


def estimated_usage(messages: Any, text: str, calls: Sequence[ToolCall]) -> Usage:
    """Counts estimated from the prompt and the answer, marked ``estimated``."""
    i = estimate_input_tokens(messages if isinstance(messages, list) else None)
    o = estimate_tokens(text) + sum(estimate_tokens(c.name + str(c.arguments)) for c in calls)
    return Usage(input_tokens=i, output_tokens=o, total_tokens=i + o, estimated=True)
