"""Tools for agents: plain functions (sync or async) described by a JSON schema.

The schema comes from the signature, the type hints and the docstring::

    def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        '''Current weather for a city.

        Args:
            city: the city name, e.g. "Paris".
            unit: temperature unit.
        '''

    tool = Tool.from_function(get_weather)
    tool.schema()        # {"type": "function", "function": {"name": "get_weather", ...}}
    tool.invoke({"city": "Paris"})          # validated first: bad arguments raise ToolArgumentError

A callable that already carries a JSON schema in a ``parameters`` attribute (an MCP tool
from ``MCPClient.tools()``) is used as it is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import enum
import inspect
import re
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from llmhooks.errors import ToolArgumentError

__all__ = ["Tool", "ToolArgumentError", "as_tools"]


_JSON_TYPES: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _type_schema(hint: Any) -> dict[str, Any]:
    if hint is inspect.Parameter.empty or hint is Any:
        return {}
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = get_args(hint)
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            union = _type_schema(options[0])
        else:
            union = {"anyOf": [_type_schema(a) for a in options]}
        return _nullable(union) if len(options) < len(args) else union
    if origin is Literal:
        values = list(get_args(hint))
        schema: dict[str, Any] = {"enum": values}
        kinds = {type(v) for v in values}
        if len(kinds) == 1 and next(iter(kinds)) in _JSON_TYPES:
            schema["type"] = _JSON_TYPES[next(iter(kinds))]
        return schema
    if origin in (list, tuple, set, frozenset, Sequence) or hint in (list, tuple, set):
        args = get_args(hint)
        out: dict[str, Any] = {"type": "array"}
        if args and args[0] is not Ellipsis:
            out["items"] = _type_schema(args[0])
        return out
    if origin in (dict, Mapping) or hint is dict:
        return {"type": "object"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [m.value for m in hint]}
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    return {}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` also accepting ``null``: an ``X | None`` parameter, which models fill with null."""
    if not schema:  # Any: already accepts null
        return schema
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    out = dict(schema)
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif isinstance(kind, list):
        out["type"] = [*kind, "null"]
    elif "enum" not in out:
        return {"anyOf": [schema, {"type": "null"}]}
    return out


_ARG_LINE = re.compile(r"^\s{2,}(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Summary and per-argument descriptions from a Google-style docstring."""
    if not doc:
        return "", {}
    text = inspect.cleandoc(doc)
    summary_lines: list[str] = []
    params: dict[str, str] = {}
    section = None
    current = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            section = "args"
            continue
        if stripped.endswith(":") and stripped[:-1] in ("Returns", "Raises", "Yields", "Examples", "Example"):
            section = "other"
            continue
        if section is None:
            if not stripped and summary_lines:
                section = "body"
            elif stripped:
                summary_lines.append(stripped)
        elif section == "args":
            match = _ARG_LINE.match("  " + line if not line.startswith("  ") else line)
            if match and not line.startswith("        "):
                current = match.group(1).lstrip("*")
                params[current] = match.group(2).strip()
            elif current and stripped:
                params[current] += " " + stripped
    return " ".join(summary_lines), params


@dataclass
class Tool:
    """A callable the model may call, with its name, description and JSON schema."""

    fn: Callable[..., Any]
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    server_name: str | None = None
    is_async: bool = False
    # True for tools that report their own tool runs (MCP tools): they have
    # invoke/ainvoke(arguments, tool_call_id=...) and are not wrapped in a second tool run
    emits_events: bool = False

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any] | Tool, *, name: str | None = None, description: str | None = None
    ) -> Tool:
        """Describe ``fn`` from its signature, type hints and docstring.

        Raises:
            TypeError: ``fn`` is not callable.
        """
        if isinstance(fn, Tool):
            return fn
        if not callable(fn):
            raise TypeError(f"a tool must be a function or Tool, got {type(fn).__name__}")
        tool_name = name or getattr(fn, "name", None) or getattr(fn, "__name__", None)
        if not isinstance(tool_name, str) or not tool_name:
            raise TypeError(f"cannot name tool {fn!r}: pass name=")
        summary, arg_docs = _parse_docstring(getattr(fn, "__doc__", None))
        given = getattr(fn, "parameters", None)
        call_method = type(fn).__dict__.get("__call__")  # instances with an async __call__
        is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call_method)
        if isinstance(given, Mapping):
            return cls(
                fn=fn,
                name=tool_name,
                description=description or getattr(fn, "description", None) or summary,
                parameters=dict(given),
                server_name=getattr(fn, "server_name", None),
                is_async=is_async,
                emits_events=bool(getattr(fn, "llmhooks_emits_tool_events", False)),
            )
        try:
            hints = typing.get_type_hints(fn)
        except Exception:
            hints = {}
        props: dict[str, Any] = {}
        required: list[str] = []
        for pname, param in inspect.signature(fn).parameters.items():
            if pname in ("self", "cls") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            schema = _type_schema(hints.get(pname, param.annotation))
            if pname in arg_docs:
                schema["description"] = arg_docs[pname]
            if param.default is param.empty:
                required.append(pname)
            elif param.default is None or isinstance(param.default, (str, int, float, bool)):
                schema["default"] = param.default
            props[pname] = schema
        parameters: dict[str, Any] = {"type": "object", "properties": props, "required": required}
        return cls(
            fn=fn,
            name=tool_name,
            description=description or summary,
            parameters=parameters,
            is_async=is_async,
        )

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-tool definition (our LLM facade converts it per provider)."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def validate(self, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check ``arguments`` against the schema; return them as a dict.

        Raises:
            ToolArgumentError: not an object, a required argument missing, an unknown
                argument (when the schema lists its properties), or a value of the wrong type.
        """
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            kind = type(arguments).__name__
            raise ToolArgumentError(f"{self.name}: arguments must be an object, got {kind}")
        args = dict(arguments)
        props: dict[str, Any] = self.parameters.get("properties") or {}
        missing = [r for r in self.parameters.get("required") or () if r not in args]
        if missing:
            raise ToolArgumentError(f"{self.name}: missing required argument(s) {', '.join(missing)}")
        if props and self.parameters.get("additionalProperties") is not True:
            unknown = [k for k in args if k not in props]
            if unknown and not self._takes_kwargs():
                raise ToolArgumentError(
                    f"{self.name}: unknown argument(s) {', '.join(unknown)}; expected {', '.join(props)}"
                )
        for key, value in args.items():
            spec = props.get(key)
            problem = _mismatch(value, spec) if isinstance(spec, Mapping) else None
            if problem is not None:
                raise ToolArgumentError(f"{self.name}: argument {key!r} {problem}")
        return args

    def _takes_kwargs(self) -> bool:
        try:
            params = inspect.signature(self.fn).parameters.values()
        except (TypeError, ValueError):
            return True
        return any(p.kind is p.VAR_KEYWORD for p in params)

    def invoke(self, arguments: Mapping[str, Any] | None = None, *, tool_call_id: str | None = None) -> Any:
        """Validate and call (sync); an async tool is run to completion.

        From a thread whose event loop is running (sync code called from async code, a
        Jupyter cell), an async tool runs on a fresh loop in a helper thread, with this
        context, since that loop cannot run it while this call waits.
        """
        args = self.validate(arguments)
        if self.emits_events:
            return self.fn.invoke(args, tool_call_id=tool_call_id)  # type: ignore[attr-defined]
        result = self.fn(**args)
        if inspect.isawaitable(result):
            return _run_to_completion(result)
        return result

    async def ainvoke(
        self, arguments: Mapping[str, Any] | None = None, *, tool_call_id: str | None = None
    ) -> Any:
        """Validate and call (async); a sync tool runs in a thread carrying the context."""
        args = self.validate(arguments)
        if self.emits_events:
            return await self.fn.ainvoke(args, tool_call_id=tool_call_id)  # type: ignore[attr-defined]
        if self.is_async:
            return await self.fn(**args)
        from llmhooks.core.threads import to_thread

        result = await to_thread(self.fn, **args)
        if inspect.isawaitable(result):
            return await result
        return result


async def _await(value: Awaitable[Any]) -> Any:
    return await value


def _run_to_completion(value: Awaitable[Any]) -> Any:
    """Await ``value`` from sync code: here when no loop runs in this thread, else in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(value))
    ctx = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="llmhooks-tool") as pool:
        return pool.submit(ctx.run, asyncio.run, _await(value)).result()


def _mismatch(value: Any, spec: Mapping[str, Any]) -> str | None:
    """Why ``value`` does not fit the JSON schema ``spec`` (its type, enum, anyOf), or None."""
    expected = spec.get("type")
    if expected and not _matches(value, expected):
        return f"must be {expected}, got {type(value).__name__} {value!r}"
    allowed = spec.get("enum")
    if allowed is not None and value not in allowed:
        return f"must be one of {allowed}, got {value!r}"
    options = spec.get("anyOf") or spec.get("oneOf")
    if (
        isinstance(options, list)
        and options
        and all(isinstance(o, Mapping) and _mismatch(value, o) is not None for o in options)
    ):
        kinds = [o.get("type", "enum" if "enum" in o else "any") for o in options]
        return f"must be one of the types {kinds}, got {type(value).__name__} {value!r}"
    return None


def _matches(value: Any, expected: str | list[str]) -> bool:
    if isinstance(expected, list):
        return any(_matches(value, e) for e in expected)
    if expected == "string":
        return isinstance(value, str)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "array":
        return isinstance(value, list)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "null":
        return value is None
    return True


def as_tools(tools: Sequence[Callable[..., Any] | Tool]) -> list[Tool]:
    """Turn functions (and Tools) into Tools, refusing duplicate names.

    Raises:
        ValueError: two tools share a name.
    """
    out: list[Tool] = []
    seen: set[str] = set()
    for item in tools:
        tool = Tool.from_function(item)
        if tool.name in seen:
            raise ValueError(f"two tools are named {tool.name!r}; pass name= to tell them apart")
        seen.add(tool.name)
        out.append(tool)
    return out
