"""Redaction of secrets in event payloads, applied before any handler sees an event.

(Placeholder interface for the instrumentation issue: ``redact_fields`` receives
the payload fields of a run's event and returns them with secrets replaced.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["redact_fields"]


def redact_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Return ``fields`` with secret-looking values replaced."""
    return fields
