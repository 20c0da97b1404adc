"""``Redactor``: one configuration of the rules, its caches, and the entry points.

    r = Redactor(keys=["ssn"])
    r.fields({"messages": msgs, "params": {"api_key": "..."}})   # a copy where needed

Every entry point first asks ``seen_clean`` (the caches alone: keys known not to be
secret, strings known clean) and returns the very same object when it can vouch for
all of it; otherwise a full ``Walk`` decides. Both give the same result.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from llmhooks._validate import check_int, check_number
from llmhooks.core.redaction._blank import CONTENT_FIELDS, blank
from llmhooks.core.redaction._rules import MIN_LEN, WEAK_KEYS, kept_indexes, rules
from llmhooks.core.redaction._text import BIG, CleanStrings, find_secrets
from llmhooks.core.redaction._walk import SCALARS, WEAK, Walk, seen_clean
from llmhooks.events.base import Event

__all__ = ["REDACTED", "Redactor"]

logger = logging.getLogger("llmhooks")

REDACTED = "[REDACTED]"
# fields every event has that say where it sits, never what was said
_IDENTITY = frozenset({"run_id", "parent_run_id", "trace_id", "timestamp"})
_KEY_CACHE_MAX = 4096
_KEY_NAME_MAX = 256  # longer dict keys are text, not names


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
        time_budget: CPU seconds one event's redaction may take; what is not checked
            by then is replaced by a marker (``float("inf")``: no limit).
        max_nodes: containers and objects one event's redaction visits at most;
            beyond, values are replaced by a marker.

    Raises:
        ValueError: a pattern is not a valid regular expression, or a budget is out of range.
        TypeError: ``redact`` is not callable, or an argument has the wrong type.

    Thread-safe: its state after construction is caches that tolerate races.
    """

    __slots__ = (
        "_clean",
        "_extra",
        "_extra_keys",
        "_fn",
        "_fn_failed",
        "_key_cache",
        "_min_len",
        "_safe_keys",
        "capture_content",
        "enabled",
        "max_nodes",
        "replacement",
        "time_budget",
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
        time_budget: float = 0.25,
        max_nodes: int = 100_000,
    ) -> None:
        if redact is not None and not callable(redact):
            raise TypeError(f"redact must be a function taking and returning a string, got {redact!r}")
        if not isinstance(replacement, str):
            raise TypeError(f"replacement must be a string, got {type(replacement).__name__}")
        self.time_budget = float(
            check_number("time_budget", time_budget, minimum=0, exclusive_minimum=True, allow_inf=True)
        )
        self.max_nodes: int = check_int("max_nodes", max_nodes, minimum=1)
        if isinstance(patterns, (str, re.Pattern)):
            patterns = [patterns]
        if isinstance(keys, str):
            keys = [keys]
        self._extra = _compile_extra(patterns)
        extra_keys = list(keys)
        for k in extra_keys:
            if not isinstance(k, str):
                raise TypeError(f"keys must be strings, got {k!r} ({type(k).__name__})")
        self._extra_keys = frozenset(k.lower() for k in extra_keys)
        self._min_len = MIN_LEN if self._extra is None and redact is None else 1
        self._fn = redact
        self._fn_failed = False  # logged once, not per string
        self.capture_content = bool(capture_content)
        self.enabled = bool(enabled)
        self.replacement = replacement
        self._key_cache: dict[Any, Any] = {}
        self._safe_keys: set[Any] = set()  # the keys the cache knows are not secret, as a set
        self._clean = CleanStrings()

    # keys

    def _key_kind(self, key: Any) -> Any:
        """False (not a secret's name), True, or WEAK (secret when the value looks like one)."""
        t = type(key)
        if t is str or t is bytes or isinstance(key, str):
            name = key.decode("latin-1") if t is bytes else str.__str__(key)
            if len(name) > _KEY_NAME_MAX:
                kind: Any = False
            else:
                low = name.lower()
                if low in WEAK_KEYS:
                    kind = WEAK
                else:
                    kind = rules().key.search(name) is not None or low in self._extra_keys
        elif t is int:
            kind = False
        else:
            return False  # other keys (tuples, objects) are not names
        cache = self._key_cache
        if len(cache) >= _KEY_CACHE_MAX:
            cache.clear()
            self._safe_keys.clear()
        cache[key] = kind
        if kind is False:
            self._safe_keys.add(key)
        return kind

    def is_secret_key(self, key: str) -> bool:
        """True if a value under ``key`` is replaced whatever it looks like (``key`` itself
        is replaced only when its value looks like a credential)."""
        return self._key_kind(key) is True

    # text

    def _sub(self, m: re.Match[str]) -> str:
        # a rule's kept group is the last group of its match to close (its quote group is inside)
        index = m.lastindex
        if index is not None and index in kept_indexes():
            return m.group(index) + self.replacement
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

    def _scan(self, s: str, budget: Walk | None) -> str:
        """``s`` checked by every rule (no cache asked first); remembered when clean."""
        spans, cut = find_secrets(s, budget)
        new = s
        if spans or cut is not None:
            parts: list[str] = []
            last = 0
            for m in spans:
                parts.append(s[last : m.start()])
                parts.append(self._sub(m))
                last = m.end()
            if cut is None:
                parts.append(s[last:])
            else:
                parts.append(s[last:cut] if cut > last else "")
                parts.append(f"[REDACTED: {len(s) - max(cut, last)} chars not checked]")
            new = "".join(parts)
        if self._extra is not None:
            replacement = self.replacement
            new = self._extra.sub(lambda _m: replacement, new)
        if self._fn is not None:
            new = self._user_rule(new)
        if new == s:
            self._clean.add(s)
            return s
        return new

    def text(self, s: str) -> str:
        """``s`` with secret-shaped parts replaced (``s`` itself when there are none)."""
        if not self.enabled or len(s) < self._min_len or s in self._clean:
            return s
        if len(s) <= BIG:  # a scan this short fits any budget: no walk needed
            return self._scan(s, None)
        return Walk(self).text(s)

    # values

    def _run(self, fn: Callable[[Walk], Any], original: Any) -> Any:
        walk = Walk(self)
        out = fn(walk)
        if walk.cycle and out is not original:
            out = fn(walk.again())  # copies all the way, so cycles point to copies
        return out

    def value(self, value: Any) -> Any:
        """``value`` with secrets replaced; containers are copied only where they change."""
        if not self.enabled or seen_clean(self, value):
            return value
        return self._run(lambda walk: walk.value(value, 0), value)

    def exception(self, exc: BaseException, depth: int = 0) -> BaseException | str:
        """``exc``, or a copy of the same type whose message, attributes and chain are
        redacted; the string ``"TypeName: redacted message"`` where no copy can hide it."""
        if not self.enabled:
            return exc
        return self._run(lambda walk: walk.value(exc, depth), exc)  # type: ignore[no-any-return]

    def fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A run's event payload with secrets (and, if configured, contents) replaced.

        Field names are the event's own schema, so they are not tested as keys.
        """
        if not self.enabled:
            return fields
        blank_content = not self.capture_content
        out: dict[str, Any] | None = None
        walk: Walk | None = None  # made only for a field the caches cannot vouch for
        small, min_len = self._clean.small, self._min_len
        for k, v in fields.items():
            t = type(v)
            if t in SCALARS or (t is str and (v in small or len(v) < min_len) and not blank_content):
                continue
            if blank_content:
                if seen_clean(self, v):  # a walk would return it as it is
                    new = v
                else:
                    walk = walk or Walk(self)
                    new = walk.value(v, 0)
                if k in CONTENT_FIELDS:
                    new = blank(new)
            elif seen_clean(self, v):
                continue
            elif t is str and len(v) <= BIG:  # a scan this short fits any budget
                new = self._scan(v, None)
            else:
                walk = walk or Walk(self)
                new = walk.value(v, 0)
            if new is not v:
                if out is None:
                    out = dict(fields)
                out[k] = new
        if walk is not None and walk.cycle and out is not None:
            return self._fields_copying(fields, walk.again(), blank_content)
        return fields if out is None else out

    def _fields_copying(self, fields: dict[str, Any], walk: Walk, blank_content: bool) -> dict[str, Any]:
        out = dict(fields)
        for k, v in fields.items():
            if type(v) not in SCALARS:
                new = walk.value(v, 0)
                out[k] = blank(new) if blank_content and k in CONTENT_FIELDS else new
        return out

    def payload(self, name: str, value: Any) -> Any:
        """One payload field of a run's event, as ``fields`` would give it (the same
        object if clean); for runs that build their events field by field."""
        if not self.enabled:
            return value
        t = type(value)
        if t in SCALARS:
            return value
        if self.capture_content:
            if seen_clean(self, value):
                return value
            if t is str and len(value) <= BIG:  # a scan this short fits any budget: no walk needed
                return self._scan(value, None)
            return self._run(lambda walk: walk.value(value, 0), value)
        out = value if seen_clean(self, value) else self._run(lambda walk: walk.value(value, 0), value)
        return blank(out) if name in CONTENT_FIELDS else out

    def metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Run metadata with secrets replaced (by key and by shape)."""
        if not metadata:
            return metadata
        return self.value(metadata)  # type: ignore[no-any-return]

    def event(self, event: Event) -> Event:
        """``event``, or a copy with secrets replaced in every payload field, ``user_id``
        and ``tags`` included.

        For events that producers build by hand (MCP, realtime, VLM, custom
        events). Fields of event classes defined outside llmhooks are also tested
        as keys (a field named ``api_key`` is replaced). Token events pass as
        they are.
        """
        if not self.enabled or event.type == "llm.token":
            return event
        cls = type(event)
        names = _payload_fields(cls)
        own_schema = cls.__module__.startswith("llmhooks.")
        blank_content = not self.capture_content
        values = [getattr(event, name) for name in names]
        if (
            not blank_content
            and (own_schema or self._safe_keys.issuperset(names))
            and all(type(v) in SCALARS or seen_clean(self, v) for v in values)
        ):
            return event

        def walk_event(walk: Walk) -> dict[str, Any]:
            changes: dict[str, Any] = {}
            for name, v in zip(names, values, strict=True):
                if type(v) in SCALARS:
                    continue
                key = False if own_schema else walk.key_kind(name)
                new = walk.value(v, 0) if key is False else walk.secret(v, key, 0)
                if blank_content and name in CONTENT_FIELDS:
                    new = blank(new)
                if new is not v:
                    changes[name] = new
            return changes

        walk = Walk(self)
        changes = walk_event(walk)
        if walk.cycle and changes:
            changes = walk_event(walk.again())
        if not changes:
            return event
        import dataclasses  # only when a hand-built event held a secret

        return dataclasses.replace(event, **changes)


def _compile_extra(patterns: Iterable[str | re.Pattern[str]]) -> re.Pattern[str] | None:
    parts = []
    for p in patterns:
        src = p.pattern if isinstance(p, re.Pattern) else p
        if not isinstance(src, str):
            raise TypeError(f"redaction patterns must be strings or compiled patterns, got {p!r}")
        try:
            re.compile(src)
        except re.error as exc:
            raise ValueError(f"redaction pattern {src!r} is not a valid regular expression: {exc}") from None
        parts.append(f"(?:{src})")
    return re.compile("|".join(parts)) if parts else None


_field_names: dict[type, tuple[str, ...]] = {}


def _payload_fields(cls: type[Event]) -> tuple[str, ...]:
    names = _field_names.get(cls)
    if names is None:
        own: tuple[str, ...] | None = vars(cls).get("__field_names__")
        if own is None:  # a user's @dataclass event: dataclasses is loaded already
            import dataclasses

            own = tuple(f.name for f in dataclasses.fields(cls) if f.init)
        names = tuple(n for n in own if n not in _IDENTITY)
        _field_names[cls] = names
    return names
