"""Exceptions of llmhooks, kept at the bottom layer so every layer can raise them.

Tree::

    LLMHooksError
    ├── Abort                      control flow: a handler stops the call (always propagates)
    │   ├── BudgetExceeded         a cost budget would be overspent
    │   │   └── BudgetUnavailable  a shared budget's Redis did not answer (policy "refuse")
    │   └── RateLimitExceeded      a rate limit cannot be met
    │       └── RateLimitUnavailable  a shared rate limit's Redis did not answer (policy "refuse")
    ├── InvalidHandlerError        (also TypeError) a handler is malformed
    │   └── InvalidSubscriberError (also RuntimeError) an ``EventManager`` subscriber is malformed
    ├── InvalidEventClassError     (also TypeError, ValueError) ``register`` got no event class
    ├── UnregisteredEventError     (also ValueError, RuntimeError) a strict bus got an unregistered event
    ├── MissingExtraError          (also ImportError) an optional extra is not installed
    ├── ToolArgumentError          (also ValueError) a model called a tool with arguments unfit for it
    ├── MaxStepsExceeded           an agent was still calling tools when max_steps ran out
    ├── RedisUnavailable           (also ConnectionError) Redis did not answer within the timeout
    └── MCPClientError             the MCP client's errors; ``server_name`` when known
        ├── MCPConfigError         (also ValueError) a server config is malformed
        ├── MCPConnectionError     (also ConnectionError) a server failed to start, died or is closed
        ├── MCPTimeoutError        (also TimeoutError) a server did not answer in time
        └── MCPToolError           a tool call failed on the server, or the tool is unknown

The bus errors also subclass the builtins vision-agents' ``EventManager`` raises in
the same cases, so a migrating program's ``except`` clauses still catch them.

The MCP client's errors quote what failed, often a command line (``npx server --api-key
sk-...``) or a server's own message: their message and ``reason`` pass through redaction when
built (``core.redaction`` installs the filter; this module imports nothing of ours), so a secret
reaches neither ``str(exc)`` nor ``exc.args``, a log line or an event.

``Abort`` is an ``Exception`` on purpose: callers are meant to catch ``BudgetExceeded``.
Handler isolation lets it through explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "Abort",
    "BudgetExceeded",
    "BudgetUnavailable",
    "InvalidEventClassError",
    "InvalidHandlerError",
    "InvalidSubscriberError",
    "LLMHooksError",
    "MCPClientError",
    "MCPConfigError",
    "MCPConnectionError",
    "MCPTimeoutError",
    "MCPToolError",
    "MaxStepsExceeded",
    "MissingExtraError",
    "RateLimitExceeded",
    "RateLimitUnavailable",
    "RedisUnavailable",
    "ToolArgumentError",
    "UnregisteredEventError",
]


class LLMHooksError(Exception):
    """Base class of every exception llmhooks raises."""


class Abort(LLMHooksError):
    """Raised by a handler to stop the call it observes; never isolated."""


class BudgetExceeded(Abort):
    """A call would take spending over a budget.

    Attributes:
        limit: the budget, in the budget's currency.
        spent: what had been spent (or committed) when the call was refused.
        user_id: the user whose budget it is, or ``None`` for a global budget.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: float | None = None,
        spent: float | None = None,
        user_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.spent = spent
        self.user_id = user_id


class RateLimitExceeded(Abort):
    """A call cannot be admitted within its rate limit."""


class InvalidHandlerError(LLMHooksError, TypeError):
    """A handler is malformed; ``.handler`` holds the offending object."""

    def __init__(self, message: str, handler: object = None) -> None:
        super().__init__(message)
        self.handler = handler


class InvalidSubscriberError(InvalidHandlerError, RuntimeError):
    """An ``EventManager`` subscriber is malformed (no event type, or more arguments than the event)."""


class InvalidEventClassError(LLMHooksError, TypeError, ValueError):
    """``EventManager.register`` was given something that is not an event class."""


class UnregisteredEventError(LLMHooksError, ValueError, RuntimeError):
    """A strict ``EventManager`` was sent an event (or a dict ``type``) it has no registered class for."""


class MissingExtraError(LLMHooksError, ImportError):
    """An optional extra is needed; the message gives the exact install command."""


class BudgetUnavailable(BudgetExceeded):
    """A call was refused because the shared budget's Redis did not answer (``on_unavailable="refuse"``)."""


class RateLimitUnavailable(RateLimitExceeded):
    """A call refused because the shared rate limit's Redis did not answer (``on_unavailable="refuse"``)."""


class ToolArgumentError(LLMHooksError, ValueError):
    """The model called a tool with arguments that do not fit its schema."""


class MaxStepsExceeded(LLMHooksError):
    """The model was still calling tools when ``max_steps`` ran out."""


class RedisUnavailable(LLMHooksError, ConnectionError):
    """Redis did not answer within the timeout, or failed moments ago (see ``down_for``)."""


_message_filter: Callable[[str], str] | None = None


def install_message_filter(scrub: Callable[[str], str]) -> None:
    """Pass the messages of errors that quote outside text (the MCP client's) through ``scrub``."""
    global _message_filter
    _message_filter = scrub


def _scrubbed(text: Any) -> Any:
    scrub = _message_filter
    if scrub is None or type(text) is not str:
        return text
    try:
        return scrub(text)
    except Exception:  # never let a failing filter replace the error being raised
        return text


class MCPClientError(LLMHooksError):
    """Base of the MCP client's errors; ``server_name`` names the server when known.

    The message is redacted when the error is built (see the module docstring).
    """

    def __init__(self, message: str, *, server_name: str | None = None) -> None:
        LLMHooksError.__init__(self, _scrubbed(message))
        self.server_name = server_name


class MCPConfigError(MCPClientError, ValueError):
    """A server config is malformed; raised by ``MCPClient(...)``."""


class MCPConnectionError(MCPClientError, ConnectionError):
    """A server could not be reached, failed to start, died, sent invalid JSON or is closed.

    ``reason`` is the same text as the ``MCPDisconnectEvent``'s.
    """

    def __init__(self, message: str, *, server_name: str | None = None, reason: str | None = None) -> None:
        MCPClientError.__init__(self, message, server_name=server_name)
        self.reason = _scrubbed(reason)


class MCPTimeoutError(MCPClientError, TimeoutError):
    """A server did not complete the handshake, or answer a call, within the timeout."""


class MCPToolError(MCPClientError):
    """A tool call failed: the server flagged its result ``is_error`` or answered with an error.

    Attributes:
        tool_name: the tool as the server names it.
        result: the server's ``CallToolResult`` when there was one.
        code: the JSON-RPC error code for an error answer.
    """

    def __init__(
        self,
        message: str,
        *,
        server_name: str | None = None,
        tool_name: str | None = None,
        result: Any = None,
        code: int | None = None,
    ) -> None:
        MCPClientError.__init__(self, message, server_name=server_name)
        self.tool_name = tool_name
        self.result = result
        self.code = code
