"""Redaction: secrets in event payloads are replaced before any handler sees them.

Runs pass the payload of every start, end, error and step event through
``redact_fields`` (``core/runs.py``); producers that build events by hand pass
them through ``redact_event``. Two rules, on by default:

- a value under a key named like a secret (``api_key``, ``authorization``,
  ``password``, ``secret``, ``token``, ``cookie``...) in any dict is replaced;
- a string shaped like a credential (``sk-...``, ``sk-ant-...``, ``Bearer ...``,
  ``AKIA...``, ``ghp_...``, ``xoxb-...``, ``AIza...``, a JWT, a private-key block,
  the password in ``scheme://user:pass@host``, a ``?api_key=...`` parameter of a
  ``scheme://`` URL) has that part replaced.

Users add their own patterns, key names or function, and can stop message
contents from being captured at all::

    configure_redaction(patterns=[r"ACME-[0-9]{8}"], keys=["ssn"])
    configure_redaction(capture_content=False)   # "<redacted: 123 chars>", counts kept

The walk copies only what changes: a payload with nothing to hide is returned
as the very same objects, and the caller's messages are never mutated.
Streamed token events skip redaction (a secret split across deltas would evade
it anyway); the end event carries the joined text and is redacted.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from llmhooks.events.base import Event

logger = logging.getLogger("llmhooks")

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

REDACTED = "[REDACTED]"

# payload fields holding what users and models said; blanked when capture_content=False
CONTENT_FIELDS = frozenset(
    {
        "messages", "prompt", "response", "tool_calls", "arguments", "result", "goal",
        "action_input", "observation", "inputs", "outputs", "query", "documents", "text",
        "original",
    }
)  # fmt: skip

_KEY_PATTERN = (
    r"(?i:api[-_ ]?key|apikey|secret|passw(?:or)?d|passphrase|authori[sz]ation|cookie|credential"
    r"|private[-_ ]?key|access[-_ ]?key|session[-_ ]?(?:id|key)"
    r"|(?:^|[-_. ])(?:auth|token|pwd|bearer|signature)$)"
    r"|(?-i:[a-z0-9](?:Token|Auth|Pwd)$)"
)

# (pattern, name of the group kept in front of the replacement or None)
_SECRET_PATTERNS: tuple[tuple[str, str | None], ...] = (
    (r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}", None),
    (r"(?P<k1>\b(?:[Bb]earer|BEARER)\s+)[A-Za-z0-9._~+/\-]{12,}=*", "k1"),
    (r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b", None),
    (r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})", None),
    (r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", None),
    (r"\bAIza[0-9A-Za-z_\-]{35}", None),
    (r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", None),
    (r"\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}", None),
    (r"\bhf_[A-Za-z0-9]{30,}", None),
    (r"\b(?:gsk_|xai-)[A-Za-z0-9]{20,}", None),
    (r"-----BEGIN[A-Z ]*PRIVATE KEY-----(?:.|\n)*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)", None),
    (r"(?P<k2>://[^\s:/@]*:)[^\s/@]{3,}(?=@)", "k2"),
    (
        r"(?P<k3>[?&](?i:api[-_]?key|access[-_]?token|token|secret|password|sig|signature|key)=)[^&#\s]+",
        "k3",
    ),
)
# a cheap first pass: every built-in pattern contains one of these literals; few first
# characters and no case-insensitive parts keep the regex engine's scan fast (~6 ns a char)
_PREFILTER = (
    r"sk-|earer|EARER|A[KSGIR][IPDO]A|gh[pousr]_|github_pat_|xox|AIza|eyJ|k_(?:live|test)_|hf_|gsk_"
    r"|xai-|PRIVATE KEY|://"
)
_MIN_LEN = 12  # no built-in pattern matches a shorter string

_SCALARS = frozenset({type(None), bool, int, float, complex})
_MAX_DEPTH = 24
_CACHE_MAX = 4096
# clean strings are remembered (system prompts and histories come back every call),
# within a bound on the memory they keep alive
_CLEAN_MAX_CHARS = 65_536
_CLEAN_TOTAL_CHARS = 4_000_000


def _compile_secrets(extra: Iterable[str | re.Pattern[str]]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    parts = [p for p, _ in _SECRET_PATTERNS]
    keep = tuple(k for _, k in _SECRET_PATTERNS if k)
    for p in extra:
        src = p.pattern if isinstance(p, re.Pattern) else p
        try:
            re.compile(src)
        except re.error as exc:
            raise ValueError(f"redaction pattern {src!r} is not a valid regular expression: {exc}") from None
        parts.append(f"(?:{src})")
    return re.compile("|".join(parts)), keep


class Redactor:
    """Replaces secrets (and, if asked, message contents) in event payloads.

    Args:
        patterns: extra regular expressions; every match in a string is replaced.
        keys: extra key names (case-insensitive, exact) whose values are replaced.
        redact: a function applied to every string after the built-in rules,
            returning the string to use (the same string when nothing is secret).
            It must be deterministic: clean strings are remembered.
        capture_content: False replaces message contents, prompts, responses,
            tool arguments and results... by ``"<redacted: N chars>"``, keeping
            lengths, counts, roles and keys.
        enabled: False turns every rule off (payloads pass through untouched).
        replacement: what a secret is replaced by.

    Thread-safe: its state after construction is caches that tolerate races.
    """

    __slots__ = (
        "_clean",
        "_clean_chars",
        "_extra_keys",
        "_fn",
        "_fn_failed",
        "_keep",
        "_key_cache",
        "_key_re",
        "_min_len",
        "_prefilter",
        "_secret_re",
        "capture_content",
        "enabled",
        "replacement",
    )

    def __init__(
        self,
        *,
        patterns: Iterable[str | re.Pattern[str]] = (),
        keys: Iterable[str] = (),
        redact: Callable[[str], str] | None = None,
        capture_content: bool = True,
        enabled: bool = True,
        replacement: str = REDACTED,
    ) -> None:
        if redact is not None and not callable(redact):
            raise TypeError(f"redact must be a function taking and returning a string, got {redact!r}")
        if isinstance(patterns, (str, re.Pattern)):
            patterns = [patterns]
        if isinstance(keys, str):
            keys = [keys]
        extra = list(patterns)
        self._secret_re, self._keep = _compile_secrets(extra)
        # user patterns have no known literal, so they disable the cheap first pass
        self._prefilter = None if extra else re.compile(_PREFILTER)
        self._min_len = _MIN_LEN if not extra and redact is None else 1
        self._key_re = re.compile(_KEY_PATTERN)
        self._extra_keys = frozenset(k.lower() for k in keys)
        self._fn = redact
        self._fn_failed = False  # logged once, not per string
        self.capture_content = bool(capture_content)
        self.enabled = bool(enabled)
        self.replacement = replacement
        self._key_cache: dict[str, bool] = {}
        self._clean: dict[str, None] = {}
        self._clean_chars = 0

    # keys and strings

    def is_secret_key(self, key: str) -> bool:
        """True if a value under ``key`` is replaced whatever it looks like."""
        hit = self._key_cache.get(key)
        if hit is None:
            hit = bool(self._key_re.search(key)) or key.lower() in self._extra_keys
            if len(self._key_cache) >= _CACHE_MAX:
                self._key_cache.clear()
            self._key_cache[key] = hit
        return hit

    def _sub(self, m: re.Match[str]) -> str:
        for name in self._keep:
            kept = m.group(name)
            if kept is not None:
                return kept + self.replacement
        return self.replacement

    def _user_rule(self, s: str) -> str:
        # a broken user rule must neither break the observed call nor leak: hide the string
        try:
            new = self._fn(s)  # type: ignore[misc]
            if isinstance(new, str):
                return new
            problem: BaseException = TypeError(f"the redact function returned {type(new).__name__}, not str")
        except Exception as exc:
            problem = exc
        if not self._fn_failed:
            self._fn_failed = True
            logger.error("llmhooks redact function failed; hiding the whole value", exc_info=problem)
        return self.replacement

    def text(self, s: str) -> str:
        """``s`` with secret-shaped parts replaced (``s`` itself when there are none)."""
        if len(s) < self._min_len or s in self._clean:
            return s
        new = s
        prefilter = self._prefilter
        if prefilter is None or prefilter.search(s) is not None:
            new = self._secret_re.sub(self._sub, s)
        if self._fn is not None:
            new = self._user_rule(new)
        if new == s:
            n = len(s)
            if n <= _CLEAN_MAX_CHARS:
                clean = self._clean
                if len(clean) >= _CACHE_MAX or self._clean_chars + n > _CLEAN_TOTAL_CHARS:
                    clean.clear()
                    self._clean_chars = 0
                clean[s] = None
                self._clean_chars += n
            return s
        return new

    # values

    def value(self, value: Any) -> Any:
        """``value`` with secrets replaced; containers are copied only where they change."""
        if not self.enabled:
            return value
        return self._value(value, 0)

    def _value(self, v: Any, depth: int) -> Any:
        t = type(v)
        if t is str:
            return self.text(v)
        if t in _SCALARS:
            return v
        if depth > _MAX_DEPTH:
            return v
        if t is dict:
            return self._dict(v, depth)
        if t is list or t is tuple:
            return self._seq(v, depth)
        if isinstance(v, BaseException):
            return self.exception(v, depth)
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, Mapping):
            return self._dict(v, depth)
        return v  # other objects are passed as they are: producers hand over plain data

    def _secret_value(self, v: Any) -> Any:
        # keep "not set" visible: None, "" and booleans say nothing secret
        if v is None or v == "" or type(v) is bool:
            return v
        return self.replacement

    def _dict(self, d: Mapping[Any, Any], depth: int) -> Any:
        # hot path (every message of every call): lookups inlined, nothing copied unless changed
        out: dict[Any, Any] | None = None
        key_cache = self._key_cache
        clean = self._clean
        min_len = self._min_len
        for k, item in d.items():
            secret = key_cache.get(k) if type(k) is str else False
            if secret is None:
                secret = self.is_secret_key(k)
            if secret:
                new = self._secret_value(item)
            else:
                t = type(item)
                if t is str:
                    if len(item) < min_len or item in clean:
                        continue
                    new = self.text(item)
                elif t in _SCALARS:
                    continue
                else:
                    new = self._value(item, depth + 1)
            if new is not item:
                if out is None:
                    out = dict(d)
                out[k] = new
        return d if out is None else out

    def _seq(self, seq: list[Any] | tuple[Any, ...], depth: int) -> Any:
        out: list[Any] | None = None
        clean = self._clean
        min_len = self._min_len
        for i, item in enumerate(seq):
            t = type(item)
            if t is dict:
                new = self._dict(item, depth + 1)
            elif t is str:
                if len(item) < min_len or item in clean:
                    continue
                new = self.text(item)
            elif t in _SCALARS:
                continue
            else:
                new = self._value(item, depth + 1)
            if new is not item:
                if out is None:
                    out = list(seq)
                out[i] = new
        if out is None:
            return seq
        return tuple(out) if type(seq) is tuple else out

    def exception(self, exc: BaseException, depth: int = 0) -> BaseException | str:
        """``exc``, or a copy of the same type whose message and attributes are redacted.

        If a copy cannot be made (an exception type with an unusual constructor),
        returns the string ``"TypeName: redacted message"`` instead.
        """
        if not self.enabled or depth > 4:
            return exc
        args = exc.args
        new_args = self._seq(args, depth + 1) if args else args
        attrs = getattr(exc, "__dict__", None)
        new_attrs = self._dict(attrs, depth + 1) if attrs else attrs
        cause, context = exc.__cause__, exc.__context__
        new_cause = self.exception(cause, depth + 1) if cause is not None else None
        new_context = self.exception(context, depth + 1) if context is not None else None
        if new_args is args and new_attrs is attrs and new_cause is cause and new_context is context:
            try:
                text = str(exc)
            except Exception:
                return exc
            if self.text(text) is text:
                return exc
        try:
            new = type(exc).__new__(type(exc), *new_args)
            new.args = tuple(new_args)
            if new_attrs:
                new.__dict__.update(new_attrs)
            new.__traceback__ = exc.__traceback__
            new.__cause__ = new_cause if isinstance(new_cause, BaseException) else None
            new.__context__ = new_context if isinstance(new_context, BaseException) else None
            new.__suppress_context__ = exc.__suppress_context__
            text = str(new)
            if self.text(text) is text:
                return new
        except Exception:
            pass
        try:
            message = self.text(str(exc))
        except Exception:
            message = "<message unavailable>"
        return f"{type(exc).__name__}: {message}"

    # payloads and events

    def fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A run's event payload with secrets (and, if configured, contents) replaced.

        Field names are the event's own schema, so they are not tested as keys.
        """
        if not self.enabled:
            return fields
        out: dict[str, Any] | None = None
        blank_content = not self.capture_content
        clean = self._clean
        min_len = self._min_len
        for k, v in fields.items():
            t = type(v)
            if t in _SCALARS:
                continue
            if blank_content and k in CONTENT_FIELDS:
                new = blank(self._value(v, 0))
            elif t is str:
                if len(v) < min_len or v in clean:
                    continue
                new = self.text(v)
            elif t is list:
                new = self._seq(v, 0)
            elif t is dict:
                new = self._dict(v, 0)
            else:
                new = self._value(v, 0)
            if new is not v:
                if out is None:
                    out = dict(fields)
                out[k] = new
        return fields if out is None else out

    def metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Run metadata with secrets replaced (by key and by shape)."""
        if not self.enabled or not metadata:
            return metadata
        return self._dict(metadata, 0)  # type: ignore[no-any-return]

    def event(self, event: Event) -> Event:
        """``event``, or a copy with secrets replaced in every payload field.

        For events that producers build by hand (MCP, realtime, VLM, custom
        events). Fields of event classes defined outside llmhooks are also tested
        as keys (a field named ``api_key`` is replaced). Token events pass as
        they are.
        """
        if not self.enabled or event.type == "llm.token":
            return event
        own_schema = type(event).__module__.startswith("llmhooks.")
        changes: dict[str, Any] = {}
        blank_content = not self.capture_content
        for f in dataclasses.fields(event):
            if not f.init or f.name in _IDENTITY:
                continue
            v = getattr(event, f.name)
            if type(v) in _SCALARS:
                continue
            if not own_schema and self.is_secret_key(f.name):
                new = self._secret_value(v)
            elif f.name == "metadata":
                new = self.metadata(v)
            else:
                new = self._value(v, 0)
                if blank_content and f.name in CONTENT_FIELDS:
                    new = blank(new)
            if new is not v:
                changes[f.name] = new
        if not changes:
            return event
        return dataclasses.replace(event, **changes)


_IDENTITY = frozenset({"run_id", "parent_run_id", "trace_id", "timestamp", "user_id", "tags"})


def blank(value: Any) -> Any:
    """``value`` with its text replaced by ``"<redacted: N chars>"``; counts, roles and keys kept."""
    t = type(value)
    if value is None or t in _SCALARS:
        return value
    if isinstance(value, str):
        return f"<redacted: {len(value)} chars>"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<redacted: {len(value)} bytes>"
    if isinstance(value, Mapping):
        return {
            k: (v if k in _STRUCTURE_KEYS and (v is None or type(v) is str) else blank(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [blank(v) for v in value]
    if isinstance(value, BaseException):
        return value
    for attr in ("content", "text"):
        text = getattr(value, attr, None)
        if isinstance(text, str):
            return f"<redacted: {len(text)} chars>"
    return f"<redacted: {type(value).__name__}>"


_STRUCTURE_KEYS = frozenset({"role", "name", "type", "id", "tool_call_id"})


_active = Redactor()


def configure_redaction(
    *,
    patterns: Iterable[str | re.Pattern[str]] = (),
    keys: Iterable[str] = (),
    redact: Callable[[str], str] | None = None,
    capture_content: bool = True,
    enabled: bool = True,
    replacement: str = REDACTED,
) -> Redactor:
    """Replace the process-wide redaction rules; returns the new ``Redactor``.

    The built-in rules always apply (unless ``enabled=False``); ``patterns``,
    ``keys`` and ``redact`` add to them. See ``Redactor`` for each argument.

    Raises:
        ValueError: a pattern is not a valid regular expression.
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


def redact_payload(name: str, value: Any) -> Any:
    """One payload field of a run's event, as ``redact_fields`` would give it (the same object if clean)."""
    r = _active
    if not r.enabled or type(value) in _SCALARS:
        return value
    if not r.capture_content and name in CONTENT_FIELDS:
        return blank(r._value(value, 0))
    if type(value) is str and (len(value) < r._min_len or value in r._clean):
        return value
    return r._value(value, 0)
