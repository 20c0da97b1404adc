"""The one isolation path: a handler's failure is counted, logged rarely, and never leaks a secret.

Every place that calls user code on an event (the manager's dispatch loops, background
workers, the bus) reports a failure here::

    report_failure("MyHandler", stats, event, exc)      # counted, logged at most once per 10 s
    report_timeout("MyHandler", stats, event, 2.0)

The log line carries a redacted copy of the exception and its chain: a handler failing
while handling an error event has the caller's exception as its ``__context__``, and
that exception's message may hold what the caller passed (a key in a URL, a prompt).
Logging must never break the observed program, so nothing here raises.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from llmhooks.core.stats import HandlerStats

__all__ = ["LOG_EVERY_S", "log_failure", "report_failure", "report_overridden", "report_timeout"]

logger = logging.getLogger("llmhooks")

LOG_EVERY_S = 10.0
_MAX_KEYS = 1024
_last_logged: dict[tuple[object, str, str], float] = {}


def _due(key: tuple[object, str, str]) -> bool:
    """True if this failure was not logged in the last ``LOG_EVERY_S`` seconds (and note it)."""
    now = time.monotonic()
    last = _last_logged.get(key)
    if last is not None and now - last < LOG_EVERY_S:
        return False
    if len(_last_logged) >= _MAX_KEYS:
        _last_logged.clear()
    _last_logged[key] = now
    return True


def _event_type(event: Any) -> str:
    return str(getattr(event, "type", None) or type(event).__name__)


def _loggable(exc: BaseException) -> BaseException | str:
    """``exc`` with secrets replaced in it and its chain (a string if no copy can be made)."""
    from llmhooks.core.redaction import get_redactor

    try:
        return get_redactor().exception(exc)
    except Exception:
        return f"{type(exc).__name__}: <message withheld: it could not be redacted>"


def report_failure(name: str, stats: HandlerStats | None, event: Any, exc: BaseException) -> None:
    """Count a handler failure and log it (rate-limited, redacted, with traceback)."""
    try:
        if stats is not None:
            stats.add_failure()
        log_failure(f"handler {name}", _event_type(event), exc, stats)
    except Exception:  # pragma: no cover - logging must never break the observed program
        pass


def log_failure(who: str, event_type: str, exc: BaseException, owner: object = None) -> None:
    """Log ``who`` failing on an ``event_type`` event: at most once per 10 s per owner (a
    handler's stats, a subscription), event type and kind of failure; redacted."""
    try:
        if not _due((owner if owner is not None else who, event_type, type(exc).__name__)):
            return
        shown = _loggable(exc)
        if isinstance(shown, BaseException):
            logger.error("llmhooks %s failed on %s event", who, event_type, exc_info=shown)
        else:
            logger.error("llmhooks %s failed on %s event: %s", who, event_type, shown)
    except Exception:  # pragma: no cover - logging must never break the observed program
        pass


def report_timeout(name: str, stats: HandlerStats | None, event: Any, timeout: float | None) -> None:
    """Count a handler timeout and log it (rate-limited)."""
    try:
        if stats is not None:
            stats.add_timeout()
        event_type = _event_type(event)
        if _due((stats if stats is not None else name, event_type, "TimeoutError")):
            logger.warning("llmhooks handler %s timed out after %ss on %s event", name, timeout, event_type)
    except Exception:  # pragma: no cover
        pass


def report_overridden(event: Any, raised: BaseException, kept: BaseException) -> None:
    """A handler raised ``raised`` (an ``Abort``, a ``raise_errors`` failure) on the terminal
    event of a block that was already leaving with the caller's ``kept``: that one wins."""
    try:
        event_type = _event_type(event)
        if _due(("overridden", event_type, type(raised).__name__)):
            logger.warning(
                "llmhooks: a handler raised %s on a %s event while the call was failing with %s; "
                "the call's own exception was kept",
                type(raised).__name__,
                event_type,
                type(kept).__name__,
            )
    except Exception:  # pragma: no cover
        pass
