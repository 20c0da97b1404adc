"""What an exception means for a call: ``(error_code, is_recoverable)`` on its error event.

The core knows protocols, not SDKs: an HTTP status (an exception's ``status_code``, or
its ``response.status_code``), and Python's ``TimeoutError`` and ``ConnectionError``.
Integrations that know an SDK's exceptions register a classifier
(``llmhooks.integrations.errors`` for the openai and anthropic SDKs and httpx), asked
first; the first that returns a result wins::

    register_classifier(lambda exc: ("quota", False) if isinstance(exc, QuotaError) else None)
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["RECOVERABLE_STATUS", "Classifier", "classify_error", "register_classifier"]

Classifier = Callable[[BaseException], "tuple[str | None, bool] | None"]

RECOVERABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
_classifiers: list[Classifier] = []


def register_classifier(classifier: Classifier) -> None:
    """Ask ``classifier`` before the built-in rules (once; registering it again does nothing)."""
    if classifier not in _classifiers:
        _classifiers.insert(0, classifier)


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, if any (200s mean an error sent inside a stream)."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) and not 200 <= status < 300 else None


def classify_error(exc: BaseException) -> tuple[str | None, bool]:
    """Return ``(error_code, is_recoverable)`` for ``exc``.

    ``error_code`` is the HTTP status (a string) when there is one; rate limits,
    timeouts, connection failures and 5xx answers are recoverable.
    """
    for classifier in _classifiers:
        try:
            found = classifier(exc)
        except Exception:  # a broken classifier must not break the error event
            continue
        if found is not None:
            return found
    status = http_status(exc)
    if status is not None:
        return str(status), status in RECOVERABLE_STATUS or status >= 500
    code = getattr(exc, "code", None)
    code_text = str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) and code else None
    return code_text, isinstance(exc, (TimeoutError, ConnectionError))
