"""Exceptions of llmhooks, kept at the bottom layer so every layer can raise them.

Tree::

    LLMHooksError
    ├── Abort                      control flow: a handler stops the call (always propagates)
    │   ├── BudgetExceeded         a cost budget would be overspent
    │   └── RateLimitExceeded      a rate limit cannot be met
    ├── InvalidHandlerError        (also TypeError) a handler is malformed
    └── MissingExtraError          (also ImportError) an optional extra is not installed

``Abort`` is an ``Exception`` on purpose: callers are meant to catch ``BudgetExceeded``.
Handler isolation lets it through explicitly.
"""

from __future__ import annotations

__all__ = [
    "Abort",
    "BudgetExceeded",
    "InvalidHandlerError",
    "LLMHooksError",
    "MissingExtraError",
    "RateLimitExceeded",
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


class MissingExtraError(LLMHooksError, ImportError):
    """An optional extra is needed; the message gives the exact install command."""
