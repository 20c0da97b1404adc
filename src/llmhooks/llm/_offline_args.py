"""How the offline model fills a tool's arguments from a prompt, using the tool's JSON schema.

In order, for each property of the schema: an explicit ``name=value`` or
``name: value`` in the prompt; then, by type, the next unused number
(``integer``/``number``), quoted string or, for the first string property, the
phrase after a preposition ("weather in Paris" -> ``"Paris"``); the first ``enum``
value the prompt mentions; ``true``/``false``/``yes``/``no`` for booleans; every
number (or quoted string) for arrays; the schema's ``default`` when nothing matched.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["extract_arguments"]

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*[A-Za-z_])")
_QUOTED = re.compile(r"\"([^\"]*)\"|(?:(?<=\s)|^)'([^']*)'")
_BOOL = re.compile(r"\b(true|false|yes|no)\b", re.IGNORECASE)
_PHRASE = re.compile(r"\b(?:for|in|of|about|on|to|with|called|named|at|from)\s+([^?.!,;:\"]+)", re.IGNORECASE)
_STOPWORDS = frozenset(
    {"a", "an", "the", "and", "or", "in", "for", "of", "about", "on", "to", "with", "at", "from", "by"}
    | {"use", "using", "call", "tool", "please", "then", "it"}
)
_FILLER = re.compile(r"\s+(?:please|today|now|right now)$", re.IGNORECASE)


def _coerce(value: str, kind: Any) -> Any:
    if kind == "integer":
        try:
            return int(float(value))
        except ValueError:
            return None
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return None
        return int(number) if number.is_integer() and "." not in value else number
    if kind == "boolean":
        return value.lower() in ("true", "yes", "1", "on")
    return value


def _kind(spec: dict[str, Any]) -> Any:
    """The JSON type to fill: the first non-null one of a type list or an ``anyOf`` (optional parameters)."""
    kind = spec.get("type")
    if isinstance(kind, list):
        return next((k for k in kind if k != "null"), None)
    if kind is None and isinstance(spec.get("anyOf"), list):
        for option in spec["anyOf"]:
            if isinstance(option, dict) and option.get("type") not in (None, "null"):
                return _kind(option)
    return kind


def _explicit(name: str, text: str) -> tuple[str, str] | None:
    """``(value, matched text)`` of ``name=value`` / ``name: value`` in ``text``."""
    pattern = re.compile(
        rf"\b{re.escape(name)}\s*[=:]\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s,;]+))", re.IGNORECASE
    )
    m = pattern.search(text)
    if m is None:
        return None
    value = next(g for g in m.groups() if g is not None)
    return value.rstrip("?.!"), m.group(0)


def extract_arguments(schema: dict[str, Any] | None, text: str) -> dict[str, Any]:
    """Fill the properties of ``schema`` from ``text`` (see the module docstring)."""
    props = (schema or {}).get("properties") or {}
    if not isinstance(props, dict):
        return {}
    specs = {name: (spec if isinstance(spec, dict) else {}) for name, spec in props.items()}
    args: dict[str, Any] = {}
    # first what the prompt states outright; each match is cut out so it is not used twice
    for name, spec in specs.items():
        found = _explicit(name, text)
        if found is not None:
            value = _coerce(found[0], _kind(spec))
            if value is not None:
                args[name] = value
                text = text.replace(found[1], " ", 1)
                continue
        enum = spec.get("enum")
        if isinstance(enum, list) and enum:
            named = (v for v in enum if v is not None and re.search(rf"\b{re.escape(str(v))}\b", text, re.I))
            hit = next(named, None)
            if hit is not None:
                args[name] = hit
                text = re.sub(rf"\b{re.escape(str(hit))}\b", " ", text, count=1, flags=re.I)
    numbers = [m.group(0) for m in _NUMBER.finditer(text)]
    quoted = [a or b for a, b in _QUOTED.findall(text)]
    bools = [m.group(1) for m in _BOOL.finditer(text)]
    phrase_used = False
    for name, spec in specs.items():
        if name in args:
            continue
        kind = _kind(spec)
        if isinstance(spec.get("enum"), list):
            pass  # only a listed value will do
        elif kind in ("integer", "number") and numbers:
            args[name] = _coerce(numbers.pop(0), kind)
        elif kind == "boolean" and bools:
            args[name] = _coerce(bools.pop(0), kind)
        elif kind == "array":
            item_kind = (spec.get("items") or {}).get("type")
            if item_kind in ("integer", "number") and numbers:
                args[name] = [_coerce(n, item_kind) for n in numbers]
                numbers = []
            elif quoted:
                args[name] = list(quoted)
                quoted = []
        elif kind in ("string", None) and quoted:
            args[name] = quoted.pop(0)
        elif kind in ("string", None) and not phrase_used:
            phrase = _phrase(_QUOTED.sub(" ", text))
            if phrase:
                args[name] = phrase
                phrase_used = True
        if name not in args and "default" in spec:
            args[name] = spec["default"]
    return args


def _phrase(text: str) -> str:
    """The phrase after the last preposition, else the text without numbers, punctuation and small words."""
    for match in reversed(_PHRASE.findall(text)):
        phrase = _FILLER.sub("", match.strip())
        if phrase:
            return phrase
    words = re.sub(r"[^\w\s'-]", " ", _NUMBER.sub("", text)).split()
    return " ".join(w for w in words if w.lower() not in _STOPWORDS)
