"""What ``MCPClient`` hands out: tool callables for agents, listings, result values.

tools = client.tools()                 # MCPTool objects
await tools[0](a=1, b=2)               # same as client.call_tool("add", {"a": 1, "b": 2})
tools[0].invoke({"a": 1, "b": 2})      # the same from sync code
tools[0].parameters                    # the server's JSON schema for the arguments
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import mcp_types as types

if TYPE_CHECKING:
    from llmhooks.core.context import CallbacksLike
    from llmhooks.integrations.mcp._client import MCPClient

__all__ = ["MCPPromptInfo", "MCPResourceInfo", "MCPTool", "prompt_messages", "resource_value", "tool_value"]


class MCPTool:
    """An MCP tool as a plain async callable, usable as an agent tool.

    Attributes:
        __name__: the name to show a model: the tool's own name, or
            ``"<server>__<tool>"`` when two servers offer a tool of that name.
        tool_name: the name the server knows it by.
        server_name: the server that offers it.
        description: the server's description (also ``__doc__``).
        parameters: the server's JSON schema for the arguments (also ``json_schema``).

    Calling it runs ``MCPClient.call_tool`` on its server, which reports the tool
    events itself: ``llmhooks_emits_tool_events`` tells an agent not to wrap it again
    (an agent passes its tool call id through ``ainvoke``, or ``invoke`` in sync code).
    """

    llmhooks_emits_tool_events: ClassVar[bool] = True

    def __init__(self, client: MCPClient, server_name: str, spec: types.Tool, name: str) -> None:
        self._client = client
        self.spec = spec
        self.server_name = server_name
        self.tool_name = spec.name
        self.name = name
        self.__name__ = name
        self.__qualname__ = name
        self.description = spec.description or ""
        self.__doc__ = self.description
        self.parameters: dict[str, Any] = dict(spec.input_schema or {"type": "object", "properties": {}})
        self.json_schema = self.parameters

    async def __call__(self, **arguments: Any) -> Any:
        """Call the tool with keyword arguments; returns what ``call_tool`` returns."""
        return await self._client.call_tool(self.tool_name, arguments, server=self.server_name)

    async def ainvoke(
        self, arguments: dict[str, Any] | None = None, *, tool_call_id: str | None = None
    ) -> Any:
        """Call the tool with an arguments dict, tagging its events with ``tool_call_id``."""
        return await self._client.call_tool(
            self.tool_name, arguments, server=self.server_name, tool_call_id=tool_call_id
        )

    def invoke(self, arguments: dict[str, Any] | None = None, *, tool_call_id: str | None = None) -> Any:
        """Sync ``ainvoke``, from any thread, even one whose event loop is running (a sync
        ``Agent.run`` called from async code, a Jupyter cell): handlers run in this thread."""
        return self._client._call_tool_sync(
            self.tool_name, arguments, server=self.server_name, tool_call_id=tool_call_id
        )

    @property
    def callbacks(self) -> CallbacksLike:
        """The handlers its calls report to besides global and scoped ones (the client's ``callbacks=``)."""
        return self._client._callbacks

    def __repr__(self) -> str:
        return f"MCPTool({self.name!r}, server={self.server_name!r})"


@dataclass(frozen=True, slots=True)
class MCPResourceInfo:
    """A resource a server lists."""

    server_name: str
    uri: str
    name: str
    description: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class MCPPromptInfo:
    """A prompt a server lists; ``arguments`` as ``{"name", "description", "required"}`` dicts."""

    server_name: str
    name: str
    description: str | None = None
    arguments: list[dict[str, Any]] = field(default_factory=list)


def resource_info(server_name: str, resource: types.Resource) -> MCPResourceInfo:
    return MCPResourceInfo(
        server_name, str(resource.uri), resource.name, resource.description, resource.mime_type
    )


def prompt_info(server_name: str, prompt: types.Prompt) -> MCPPromptInfo:
    args = [
        {"name": a.name, "description": a.description, "required": bool(a.required)}
        for a in (prompt.arguments or [])
    ]
    return MCPPromptInfo(server_name, prompt.name, prompt.description, args)


def _dump(block: Any) -> Any:
    dump = getattr(block, "model_dump", None)
    return dump(mode="json", by_alias=True, exclude_none=True) if dump is not None else block


def _texts(result: types.CallToolResult) -> list[str]:
    return [b.text for b in result.content if isinstance(b, types.TextContent)]


def tool_value(result: types.CallToolResult) -> Any:
    """A call's value: its text blocks joined by newlines; else its structured content;
    else its content blocks as dicts (images, resources...)."""
    texts = _texts(result)
    if texts:
        return "\n".join(texts)
    if result.structured_content is not None:
        return result.structured_content
    return [_dump(b) for b in result.content]


def error_text(result: types.CallToolResult) -> str:
    """The message of a result flagged ``is_error``."""
    texts = _texts(result)
    return "\n".join(texts) or "the tool reported an error without a message"


def resource_value(result: types.ReadResourceResult) -> Any:
    """A read's value: the text (joined), the bytes of a single blob, else the contents as dicts."""
    contents = result.contents
    texts = [c.text for c in contents if hasattr(c, "text")]
    if texts and len(texts) == len(contents):
        return "\n".join(texts)
    if len(contents) == 1 and hasattr(contents[0], "blob"):
        return base64.b64decode(contents[0].blob)
    return [_dump(c) for c in contents]


def prompt_messages(result: types.GetPromptResult) -> list[dict[str, Any]]:
    """A prompt's messages as ``{"role", "content"}`` dicts (text content as a string)."""
    out: list[dict[str, Any]] = []
    for m in result.messages:
        content = m.content
        text = getattr(content, "text", None)
        out.append({"role": m.role, "content": text if isinstance(text, str) else _dump(content)})
    return out
