"""Server configs for ``MCPClient``: plain dicts, checked once at construction.

{"name": "files", "command": "python", "args": ["server.py"], "env": {"K": "V"}}   # stdio
{"name": "search", "url": "http://127.0.0.1:8000/mcp", "headers": {"Authorization": "..."}}
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from llmhooks.integrations.mcp._errors import MCPConfigError

__all__ = ["ServerConfig", "parse_configs"]

_STDIO_KEYS = frozenset({"name", "transport", "command", "args", "env", "cwd", "timeout"})
_HTTP_KEYS = frozenset({"name", "transport", "url", "headers", "timeout"})
_TRANSPORTS = {
    "stdio": "stdio",
    "streamable_http": "streamable_http",
    "streamable-http": "streamable_http",
    "http": "streamable_http",
}


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One server, validated: ``transport`` is ``"stdio"`` or ``"streamable_http"``."""

    name: str
    transport: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None

    def describe(self) -> str:
        """A short human description, for error messages."""
        if self.transport == "stdio":
            return " ".join([str(self.command), *self.args])
        return str(self.url)


def _fail(index: int, message: str) -> MCPConfigError:
    return MCPConfigError(f"MCP server config #{index}: {message}")


def _default_name(config: Mapping[str, Any]) -> str:
    if "url" in config:
        parts = urlsplit(str(config["url"]))
        return parts.hostname or "server"
    args = [str(a) for a in config.get("args") or ()]
    scripts = [a for a in args if not a.startswith("-")]
    base = os.path.basename(scripts[-1] if scripts else str(config.get("command", "server")))
    return re.sub(r"\.(py|js|ts|mjs)$", "", base) or "server"


def _parse_one(index: int, config: Any) -> ServerConfig:
    if not isinstance(config, Mapping):
        raise _fail(index, f"expected a dict, got {type(config).__name__}")
    has_cmd, has_url = "command" in config, "url" in config
    if has_cmd == has_url:
        raise _fail(
            index,
            "give either 'command' (stdio, e.g. {'command': 'python', 'args': ['server.py']}) "
            "or 'url' (streamable HTTP, e.g. {'url': 'http://127.0.0.1:8000/mcp'})",
        )
    transport = "stdio" if has_cmd else "streamable_http"
    given = config.get("transport")
    if given is not None and _TRANSPORTS.get(str(given)) != transport:
        key = "command" if has_cmd else "url"
        raise _fail(index, f"transport {given!r} does not match a config with {key!r}")
    allowed = _STDIO_KEYS if has_cmd else _HTTP_KEYS
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise _fail(index, f"unknown key(s) {unknown} for a {transport} server; allowed: {sorted(allowed)}")
    name = config.get("name", _default_name(config))
    if not isinstance(name, str) or not name:
        raise _fail(index, f"'name' must be a non-empty string, got {name!r}")
    timeout = config.get("timeout")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise _fail(index, f"'timeout' must be a positive number of seconds, got {timeout!r}")
    if has_cmd:
        command = config["command"]
        if not isinstance(command, str) or not command:
            raise _fail(index, f"'command' must be a non-empty string, got {command!r}")
        args = config.get("args") or []
        if isinstance(args, str) or not isinstance(args, Sequence):
            raise _fail(index, f"'args' must be a list of strings, got {args!r}")
        env = config.get("env")
        if env is not None and not isinstance(env, Mapping):
            raise _fail(index, f"'env' must be a dict of strings, got {type(env).__name__}")
        cwd = config.get("cwd")
        return ServerConfig(
            name=name,
            transport=transport,
            command=command,
            args=tuple(str(a) for a in args),
            env={str(k): str(v) for k, v in env.items()} if env is not None else None,
            cwd=str(cwd) if cwd is not None else None,
            timeout=float(timeout) if timeout is not None else None,
        )
    url = config["url"]
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise _fail(index, f"'url' must be an http(s) URL such as 'http://127.0.0.1:8000/mcp', got {url!r}")
    headers = config.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise _fail(index, f"'headers' must be a dict of strings, got {type(headers).__name__}")
    return ServerConfig(
        name=name,
        transport=transport,
        url=url,
        headers={str(k): str(v) for k, v in headers.items()},
        timeout=float(timeout) if timeout is not None else None,
    )


def parse_configs(configs: Any) -> list[ServerConfig]:
    """Validate ``configs`` (a dict or a list of dicts) and return them in order.

    Raises:
        MCPConfigError: a config is malformed, or two servers share a name.
    """
    if isinstance(configs, Mapping):
        configs = [configs]
    if isinstance(configs, (str, bytes)) or not isinstance(configs, Sequence):
        raise MCPConfigError(f"MCPClient takes a list of server config dicts, got {type(configs).__name__}")
    if not configs:
        raise MCPConfigError("MCPClient needs at least one server config")
    parsed = [_parse_one(i, c) for i, c in enumerate(configs)]
    seen: set[str] = set()
    for cfg in parsed:
        if cfg.name in seen:
            raise MCPConfigError(
                f"two MCP servers are named {cfg.name!r}; give each config a distinct 'name'",
                server_name=cfg.name,
            )
        seen.add(cfg.name)
    return parsed
