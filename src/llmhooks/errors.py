"""Exceptions of llmhooks, kept at the bottom layer so every layer can raise them.

Tree::

    LLMHooksError
    ├── Abort                      control flow: a handler stops the call (always propagates)
    │   ├── BudgetExceeded         a cost budget would be overspent
    │   └── RateLimitExceeded      a rate limit cannot be met
    ├── InvalidHandlerError        (also TypeError) a handler is malformed
    │   └── InvalidSubscriberError (also RuntimeError) an ``EventManager`` subscriber is malformed
    ├── InvalidEventClassError     (also TypeError, ValueError) ``register`` got no event class
    ├── UnregisteredEventError     (also ValueError, RuntimeError) a strict bus got an unregistered event
    └── MissingExtraError          (also ImportError) an optional extra is not installed

The bus errors also subclass the builtins vision-agents' ``EventManager`` raises in
the same cases, so a migrating program's ``except`` clauses still catch them.

``Abort`` is an ``Exception`` on purpose: callers are meant to catch ``BudgetExceeded``.
Handler isolation lets it through explicitly.
"""

from __future__ import annotations

__all__ = [
    "Abort",
    "BudgetExceeded",
    "InvalidEventClassError",
    "InvalidHandlerError",
    "InvalidSubscriberError",
    "LLMHooksError",
    "MissingExtraError",
    "RateLimitExceeded",
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
