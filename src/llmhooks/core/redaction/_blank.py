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
        self.open: set[int] = set()

    def value(self, value: Any, depth: int) -> Any:
        t = type(value)
        if t in _SCALARS:
            return value
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
        if depth > _MAX_DEPTH or self.nodes < 0 or id(value) in self.open:
            return _GONE
        self.open.add(id(value))
        try:
            if kind == MAPPING:
                return {
                    k: (
                        v
                        if k in _STRUCTURE_KEYS and (v is None or type(v) is str)
                        else self.value(v, depth + 1)
                    )
                    for k, v in value.items()
                }
            if kind in (SEQUENCE, SET):
                return [self.value(v, depth + 1) for v in value]
            changes = {}
            for name, v in attributes(value, kind):
                if name in _STRUCTURE_KEYS and (v is None or type(v) is str):
                    continue
                new = self.value(v, depth + 1)
                if new is not v:
                    changes[name] = new
            return rebuild(value, kind, changes) if changes else value
        except Exception:
            return _GONE
        finally:
            self.open.discard(id(value))


def blank(value: Any) -> Any:
    """``value`` with its text replaced by ``"<redacted: N chars>"``; counts, roles and keys
    kept. Objects keep their type where a copy can be made (a LangChain message stays one)."""
    return _Blanker().value(value, 0)
