"""Redaction: secrets in event payloads are replaced before any handler sees them.

Runs pass the payload of every start, end, error and step event through
``redact_fields`` (``core/runs/``); producers that build events by hand pass
them through ``redact_event``. Two rules, on by default:

- a value under a key named like a secret (``api_key``, ``authorization``,
  ``password``, ``secret``, ``token``, ``cookie``, ``dsn``, ``pin``...) is replaced,
  in dicts, in ``("Authorization", "...")`` pairs and in objects' attributes;
- a string shaped like a credential (``sk-...``, ``Bearer ...``, ``AKIA...``, a JWT, a
  private-key block, ``password=...``, ``--api-key VALUE``, the password in
  ``scheme://user:pass@host``...) has that part replaced.

Users add their own patterns, key names or function, and can stop message
contents from being captured at all::

    configure_redaction(patterns=[r"ACME-[0-9]{8}"], keys=["ssn"])
    configure_redaction(capture_content=False)   # "<redacted: 123 chars>", counts kept

The walk copies only what changes: a payload with nothing to hide is returned
as the very same objects, and the caller's data is never mutated. Dicts, lists,
tuples, sets, dataclasses, pydantic models (LangChain messages), plain objects and
exceptions (with their chains) are walked, each once, within a time and size budget
that fails closed. Streamed token events skip redaction (a secret split across deltas
would evade it anyway); the end event carries the joined text and is redacted.

The package: ``_rules`` (what is a secret), ``_text`` (finding it in text), ``_walk``
(one pass over a payload), ``_objects`` and ``_exceptions`` (copies), ``_blank``
(``capture_content=False``), ``_redactor`` (``Redactor``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from llmhooks.core.redaction._blank import CONTENT_FIELDS, blank
from llmhooks.core.redaction._redactor import REDACTED, Redactor
from llmhooks.core.redaction._walk import _flat_dicts
from llmhooks.errors import install_message_filter
from llmhooks.events.base import Event

__all__ = [
    "CONTENT_FIELDS",
    "REDACTED",
    "Redactor",
    "blank",
    "configure_redaction",
    "content_captured",
    "get_redactor",
    "redact_event",
    "redact_fields",
    "redact_metadata",
    "redact_payload",
    "redact_text",
    "redact_value",
    "reset_redaction",
]

_active = Redactor()


def configure_redaction(
    *,
    patterns: Iterable[str | re.Pattern[str]] = (),
    keys: Iterable[str] = (),
    redact: Callable[[str], str] | None = None,
    capture_content: bool = True,
    enabled: bool = True,
    replacement: str = REDACTED,
    time_budget: float = 0.25,
    max_nodes: int = 100_000,
) -> Redactor:
    """Replace the process-wide redaction rules; returns the new ``Redactor``.

    The built-in rules always apply (unless ``enabled=False``); ``patterns``,
    ``keys`` and ``redact`` add to them. See ``Redactor`` for each argument.

    Raises:
        ValueError: a pattern is not a valid regular expression, or a budget is out of range.
        TypeError: ``redact`` is not callable.
    """
    global _active
    _active = Redactor(
        patterns=patterns,
        keys=keys,
        redact=redact,
        capture_content=capture_content,
        enabled=enabled,
        replacement=replacement,
        time_budget=time_budget,
        max_nodes=max_nodes,
    )
    return _active


def get_redactor() -> Redactor:
    """The process-wide ``Redactor``."""
    return _active


def reset_redaction() -> None:
    """Back to the built-in rules with content captured (for tests)."""
    global _active
    _active = Redactor()


def content_captured() -> bool:
    """False under ``capture_content=False``: text emitted without redaction (streamed
    tokens) should then be passed through ``blank`` by its producer."""
    return _active.capture_content


def redact_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Return ``fields`` with secret-looking values replaced (the same dict if none)."""
    return _active.fields(fields)


def redact_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Return run metadata with secrets replaced (the same dict if none)."""
    return _active.metadata(metadata)


def redact_event(event: Event) -> Event:
    """Return ``event`` or a redacted copy; for events built outside a run."""
    return _active.event(event)


def redact_value(value: Any) -> Any:
    """Return ``value`` with secrets replaced, copying only what changes."""
    return _active.value(value)


def redact_text(text: str) -> str:
    """Return ``text`` with secret-shaped parts replaced."""
    return _active.text(text)


install_message_filter(redact_text)  # the MCP client's errors quote command lines: see llmhooks.errors


def redact_payload(name: str, value: Any) -> Any:
    """One payload field of a run's event, as ``redact_fields`` would give it (the same object if clean)."""
    r = _active
    # inlined for the commonest fields: a response or prompt already seen (or too short), and
    # a list of messages whose keys and strings are all known clean
    if r.capture_content and r.enabled:
        t = type(value)
        if t is str:
            if value in r._clean.small or len(value) < r._min_len:
                return value
        elif t is list and _flat_dicts(value, r._safe_keys, r._clean.small, r._min_len):
            return value
    return r.payload(name, value)
