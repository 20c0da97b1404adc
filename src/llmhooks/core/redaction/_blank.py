"""``capture_content=False``: message contents replaced by their length, so that a
``{"role": "user", "content": "hi!"}`` message becomes ``{"role": "user", "content":
"<redacted: 3 chars>"}``; roles, names, ids, counts and keys are kept.
"""

from __future__ import annotations

from typing import Any

from llmhooks.core.redaction._objects import rebuild
from llmhooks.events._shapes import EXCEPTION, LEAF, MAPPING, SEQUENCE, SET, TEXT, attributes, kind_of

__all__ = ["CONTENT_FIELDS", "blank"]

# payload fields holding what users and models said; blanked when capture_content=False
CONTENT_FIELDS = frozenset(
    {
        "messages", "prompt", "response", "tool_calls", "arguments", "result", "goal",
        "action_input", "observation", "inputs", "outputs", "query", "documents", "text",
        "original",
    }
)  # fmt: skip
_STRUCTURE_KEYS = frozenset({"role", "name", "type", "id", "tool_call_id"})
_SCALARS = (type(None), bool, int, float, complex)
_MAX_DEPTH = 32
_MAX_NODES = 100_000
_GONE = "<redacted>"  # deeper, larger or more circular than is worth describing


class _Blanker:
    __slots__ = ("nodes", "open")

    def __init__(self) -> None:
        self.nodes = _MAX_NODES
        self.open: set[int] = set()  # containers on the current path: a cycle ends here

    def value(self, value: Any, depth: int) -> Any:
        t = type(value)
        if t is str:
            return f"<redacted: {len(value)} chars>"
        if t in _SCALARS:
            return value
        if t is dict:
            kind = MAPPING
        elif t is list or t is tuple:
            kind = SEQUENCE
        else:
            kind = kind_of(t)
            if kind == TEXT:
                return f"<redacted: {len(value)} chars>"
            if isinstance(value, (bytes, bytearray, memoryview)):
                return f"<redacted: {len(value)} bytes>"
            if kind == EXCEPTION:
                return value  # errors are redacted, not blanked: they say what went wrong
            if kind == LEAF:
                return f"<redacted: {t.__name__}>"
        self.nodes -= 1
        i = id(value)
        if depth > _MAX_DEPTH or self.nodes < 0 or i in self.open:
            return _GONE
        self.open.add(i)
        try:
            return self.container(value, kind, depth + 1)
        except Exception:
            return _GONE
        finally:
            self.open.discard(i)

    def container(self, value: Any, kind: int, below: int) -> Any:
        if kind == MAPPING:
            out = {}
            for k, v in value.items():
                keep = k in _STRUCTURE_KEYS and (v is None or type(v) is str)
                out[k] = v if keep else self.value(v, below)
            return out
        if kind in (SEQUENCE, SET):
            return [self.value(v, below) for v in value]
        changes = {}
        for name, v in attributes(value, kind):
            if name in _STRUCTURE_KEYS and (v is None or type(v) is str):
                continue
            new = self.value(v, below)
            if new is not v:
                changes[name] = new
        return rebuild(value, kind, changes) if changes else value


def blank(value: Any) -> Any:
    """``value`` with its text replaced by ``"<redacted: N chars>"``; counts, roles and keys
    kept. Objects keep their type where a copy can be made (a LangChain message stays one)."""
    return _Blanker().value(value, 0)
