"""What the openai and anthropic SDKs' exceptions (and httpx's) mean for an error event.

Registered with ``llmhooks.events.classify`` when ``llmhooks`` is imported (lazily: this
module is loaded on the first error, and imports none of those SDKs). Classes are
matched by name, so an SDK that is not installed costs nothing.

- An error sent inside a stream (HTTP status 200): the provider's error type
  (Anthropic's ``body["error"]["type"]``, OpenAI's ``exc.type``) is the ``error_code``;
  overloads, rate limits, server and timeout errors are recoverable.
- ``APIConnectionError``, ``APITimeoutError``, ``RateLimitError`` (both SDKs) and httpx's
  transport errors (a cut stream, a timeout) are recoverable.
"""

from __future__ import annotations

from llmhooks.events.classify import RECOVERABLE_STATUS, http_status

__all__ = ["classify_sdk_error"]

_RECOVERABLE_TYPES = frozenset(
    {"overloaded_error", "api_error", "rate_limit_error", "server_error", "rate_limit_exceeded", "timeout"}
)
_RECOVERABLE_CLASSES = frozenset({"APITimeoutError", "APIConnectionError", "RateLimitError"})
_TRANSPORT_CLASSES = frozenset({"TransportError", "TimeoutException", "StreamError"})


def provider_error_type(exc: BaseException) -> str | None:
    """The provider's error type: Anthropic's ``body["error"]["type"]``, OpenAI's ``exc.type``."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return inner["type"]  # type: ignore[no-any-return]
        if isinstance(body.get("type"), str) and body.get("type") != "error":
            return body["type"]  # type: ignore[no-any-return]
    kind = getattr(exc, "type", None)
    return kind if isinstance(kind, str) else None


def classify_sdk_error(exc: BaseException) -> tuple[str | None, bool] | None:
    """``(error_code, is_recoverable)`` for an SDK or transport exception, or None to pass."""
    names = {c.__name__ for c in type(exc).__mro__}
    kind = provider_error_type(exc)
    known = names & (_RECOVERABLE_CLASSES | _TRANSPORT_CLASSES)
    if kind is None and not known:
        return None  # not an SDK's: the core's rules apply
    status = http_status(exc)
    if status is not None:
        return str(status), status in RECOVERABLE_STATUS or status >= 500
    code = getattr(exc, "code", None)
    error_code = kind or (str(code) if isinstance(code, (str, int)) and code else None)
    recoverable = (
        kind in _RECOVERABLE_TYPES or bool(known) or isinstance(exc, (TimeoutError, ConnectionError))
    )
    return error_code, recoverable
