"""One redaction pass over one event's values, in linear time and within budgets.

    walk = Walk(redactor)
    clean = walk.value(payload, 0)        # the same objects where nothing changed

Each container or object is visited once per pass (results are kept by ``id``), so
shared structures cost their size, not the number of paths to them. A reference cycle is
noticed; if the pass then changed anything, a second pass copies every mutable container
(each registered before its contents are walked) so that the copy's cycles point to
copies, never back into the caller's data. Beyond ``MAX_DEPTH`` levels, ``max_nodes``
values or the event's CPU-time budget, values are replaced by a marker: what was not
checked is never passed on.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import TYPE_CHECKING, Any

from llmhooks.core.redaction._objects import rebuild, same_type_sequence, same_type_set
from llmhooks.core.redaction._rules import rules
from llmhooks.core.redaction._text import BIG, Clock
from llmhooks.events._shapes import EVENT, EXCEPTION, LEAF, MAPPING, SEQUENCE, SET, TEXT, attributes, kind_of

if TYPE_CHECKING:
    from llmhooks.core.redaction._redactor import Redactor

__all__ = ["MAX_DEPTH", "SCALARS", "WEAK", "Walk", "seen_clean", "unchecked"]

SCALARS = frozenset({type(None), bool, int, float, complex})
MAX_DEPTH = 32
WEAK = 2  # the kind of a key whose value is replaced only when it looks like a credential
_PAIR_KEY_MAX = 128  # a longer first item of a 2-item sequence is not a header name
_PRECHECK_CONTAINERS = 256
_LOOK_NODES = 1024  # values between two looks at the clock
_LOOK_CHARS = 262_144  # characters scanned between two looks at the clock
_PENDING = object()  # in the memo while a container's contents are walked
_MISSING = object()
_CYCLE = "[REDACTED: reference cycle]"
_TOO_DEEP = f"[REDACTED: nested deeper than {MAX_DEPTH} levels]"


def unchecked(value: Any) -> str:
    """The marker for a value left unchecked when a budget ran out."""
    if isinstance(value, str):
        return f"[REDACTED: {len(value)} chars not checked]"
    return f"[REDACTED: {type(value).__name__} not checked]"


def seen_clean(r: Redactor, value: Any) -> bool:
    """True when a full pass over ``value`` would return it unchanged, judged from the
    caches alone: dicts, lists and tuples whose keys are known not to be secret and whose
    strings are known clean. Any doubt answers False (the full pass then decides)."""
    t = type(value)
    clean = r._clean.small
    if t is str:
        return value in clean or len(value) < r._min_len
    # the common cases, a list of messages or a dict of parameters, checked in one loop
    if t is list:
        flat = _flat_dicts(value, r._safe_keys, clean, r._min_len)
    elif t is dict:
        flat = _flat_dicts((value,), r._safe_keys, clean, r._min_len)
    elif t is tuple:
        flat = None
    else:
        return t in SCALARS
    return _nested_clean(r, value) if flat is None else flat


def _flat_dicts(items: Iterable[Any], safe: set[Any], clean: dict[str, None], min_len: int) -> bool | None:
    """True/False for a list of dicts of strings and scalars; None for any other shape."""
    for m in items:
        if type(m) is not dict:
            return None
        if not m.keys() <= safe:  # one C loop for every key of the dict
            return False
        for v in m.values():
            t = type(v)
            if t is str:
                if v not in clean and len(v) >= min_len:
                    return False
            elif t not in SCALARS:
                return None
    return True


def _nested_clean(r: Redactor, value: Any) -> bool:
    clean = r._clean.small
    safe = r._safe_keys
    min_len = r._min_len
    level = [value]
    budget = _PRECHECK_CONTAINERS
    depth = 0
    while level:
        # breadth first, a level at a time: the depth is known without a stack of pairs
        budget -= len(level)
        if budget < 0 or depth > MAX_DEPTH:
            return False
        below: list[Any] = []
        push = below.append
        for c in level:
            if type(c) is dict:
                if not c.keys() <= safe:
                    return False
                items: Any = c.values()
            else:
                if type(c) is list and depth < MAX_DEPTH:  # messages in a state: one loop, as at the top
                    flat = _flat_dicts(c, safe, clean, min_len)
                    if flat is not None:
                        if not flat:
                            return False
                        budget -= len(c)
                        continue
                items = c
                if len(c) == 2:
                    first = c[0]
                    if type(first) is str and len(first) <= _PAIR_KEY_MAX and first not in safe:
                        return False
            for v in items:
                t = type(v)
                if t is str:
                    if v not in clean and len(v) >= min_len:
                        return False
                elif t is dict or t is list or t is tuple:
                    push(v)
                elif t not in SCALARS:
                    return False
        level = below
        depth += 1
    return True


def _field_kinds(walk: Walk, cls: type) -> tuple[Any, ...] | None:
    """Per field of a namedtuple class, False, True or WEAK as for a key; None for other sequences."""
    names = getattr(cls, "_fields", None) if issubclass(cls, tuple) else None
    if type(names) is not tuple:
        return None
    kinds = tuple(walk.key_kind(n) if type(n) is str else False for n in names)
    return kinds if any(k is not False for k in kinds) else None


class Walk:
    """The state of one pass: results by id, budgets, and whether a cycle was met."""

    __slots__ = (
        "big",
        "chars",
        "chars_look",
        "clock",
        "copy_all",
        "cycle",
        "keys",
        "memo",
        "min_len",
        "nodes",
        "nodes_look",
        "r",
        "small",
        "spent",
    )

    def __init__(self, r: Redactor, clock: Clock | None = None, copy_all: bool = False) -> None:
        self.r = r
        self.clock = clock if clock is not None else Clock(r.time_budget)
        self.copy_all = copy_all
        self.cycle = False
        self.spent = False
        self.memo: dict[int, Any] = {}
        self.nodes = r.max_nodes
        self.nodes_look = max(self.nodes - _LOOK_NODES, -1)
        self.chars = 0
        self.chars_look = _LOOK_CHARS
        self.keys = r._key_cache
        self.small = r._clean.small
        self.big = r._clean.big
        self.min_len = r._min_len

    def expired(self) -> bool:
        """True once the event's CPU-time budget is spent (the text scanner asks this)."""
        if not self.spent and self.clock.expired():
            self.spent = True
        return self.spent

    def again(self) -> Walk:
        """A copying pass on the same budget, for values in which a cycle was met."""
        return Walk(self.r, self.clock, copy_all=True)

    # leaves

    def text(self, s: str) -> str:
        n = len(s)
        if n < self.min_len:
            return s
        if n <= BIG:
            if s in self.small:
                return s
        elif (n, hash(s)) in self.big:
            return s
        if self.spent:
            return unchecked(s)
        self.chars += n
        if self.chars >= self.chars_look:
            self.chars_look = self.chars + _LOOK_CHARS
            if self.expired():
                return unchecked(s)
        return self.r._scan(s, self)

    def secret(self, value: Any, kind: Any, depth: int) -> Any:
        """What is left of ``value`` under a key of ``kind`` (True or WEAK)."""
        t = type(value)
        if kind is True:
            # "not set" stays visible: None, "" and booleans say nothing secret
            if value is None or t is bool or (t is str and not value):
                return value
            return self.r.replacement.encode() if t is bytes else self.r.replacement
        if t is str:
            return self.r.replacement if rules().credential_like.fullmatch(value) else self.text(value)
        if t is bytes:
            return self.r.replacement.encode()
        return self.value(value, depth + 1)

    # containers

    def value(self, v: Any, depth: int) -> Any:
        """``v`` with secrets replaced; containers are copied only where they change."""
        t = type(v)
        if t is str:
            return self.text(v)
        if t in SCALARS:
            return v
        kind = kind_of(t)
        if kind == LEAF:
            return v
        if kind == TEXT:
            return self.text(v)
        memo = self.memo
        i = id(v)
        seen = memo.get(i, _MISSING)
        if seen is not _MISSING:
            if seen is _PENDING:  # a reference back into a container being walked
                if self.copy_all:
                    return _CYCLE
                self.cycle = True
                return v
            return seen
        if depth > MAX_DEPTH:
            return _TOO_DEEP
        self.nodes -= 1
        if self.nodes <= self.nodes_look:
            if self.nodes < 0:
                self.spent = True
            else:
                self.nodes_look = max(self.nodes - _LOOK_NODES, -1)
                self.expired()
        if self.spent:
            return unchecked(v)
        memo[i] = _PENDING
        if kind == MAPPING:
            out = self.mapping(v, depth)
        elif kind == SEQUENCE:
            out = self.sequence(v, depth)
        elif kind == EXCEPTION:
            from llmhooks.core.redaction._exceptions import redact_exception

            out = redact_exception(self, v, depth)
        elif kind == SET:
            out = self.set_(v, depth)
        else:
            out = self.obj(v, kind, depth)
        memo[i] = out
        return out

    def item(self, v: Any, depth: int) -> Any:
        """A value inside a container (a str, a scalar or anything else)."""
        t = type(v)
        if t is str:
            if len(v) < self.min_len or v in self.small:
                return v
            return self.text(v)
        if t in SCALARS:
            return v
        return self.value(v, depth)

    def key_kind(self, k: Any) -> Any:
        """False, True or WEAK for a key (or attribute, or header) name."""
        kind = self.keys.get(k) if type(k) is str else None
        return self.r._key_kind(k) if kind is None else kind

    def mapping(self, d: Any, depth: int) -> Any:
        out: dict[Any, Any] | None = None
        if self.copy_all:
            out = {}
            self.memo[id(d)] = out
        # the hot loop (every message of every call): lookups inlined
        keys, small, min_len, key_kind = self.keys, self.small, self.min_len, self.r._key_kind
        below = depth + 1
        for k, v in d.items():
            kind = keys.get(k) if type(k) is str else None
            if kind is None:
                kind = key_kind(k)
            if kind is False:
                t = type(v)
                if t is str:
                    new = v if len(v) < min_len or v in small else self.text(v)
                elif t in SCALARS:
                    new = v
                else:
                    new = self.value(v, below)
            else:
                new = self.secret(v, kind, depth)
            if out is None:
                if new is v:
                    continue
                out = dict(d)
            out[k] = new
        return d if out is None else out

    def sequence(self, seq: Any, depth: int) -> Any:
        mutable = self.copy_all and isinstance(seq, list)
        out: list[Any] | None = None
        if mutable:
            out = []
            self.memo[id(seq)] = out
        small, min_len = self.small, self.min_len
        below = depth + 1
        pair_kind: Any = False
        # a namedtuple's fields have names: Cred(user, password) is tested as {"password": ...}
        kinds = _field_kinds(self, type(seq)) if type(seq) is not list and type(seq) is not tuple else None
        if (
            kinds is None and len(seq) == 2
        ):  # ("Authorization", "Bearer ..."): header lists, httpx's raw headers
            first = seq[0]
            if (type(first) is str or type(first) is bytes) and len(first) <= _PAIR_KEY_MAX:
                pair_kind = self.key_kind(first)
        for i, v in enumerate(seq):
            if kinds is not None and i < len(kinds) and kinds[i] is not False:
                new = self.secret(v, kinds[i], depth)
            elif i == 1 and pair_kind is not False:
                new = self.secret(v, pair_kind, depth)
            else:
                t = type(v)
                if t is str:
                    new = v if len(v) < min_len or v in small else self.text(v)
                elif t in SCALARS:
                    new = v
                else:
                    new = self.value(v, below)
            if out is None:
                if new is v:
                    continue
                out = list(islice(seq, i))
            out.append(new)
        if out is None:
            return seq
        if mutable and type(seq) is list:
            return out
        return same_type_sequence(seq, out)

    def set_(self, s: Any, depth: int) -> Any:
        below = depth + 1
        items = [self.item(v, below) for v in s]
        if not self.copy_all and all(new is old for new, old in zip(items, s, strict=True)):
            return s
        return same_type_set(s, items)

    def obj(self, o: Any, kind: int, depth: int) -> Any:
        """A dataclass, pydantic model or plain object: its attributes are walked like a
        dict's items (their names tested as keys, except on llmhooks' own events)."""
        try:
            pairs = attributes(o, kind)
        except Exception:  # attributes that cannot be read cannot be checked
            return unchecked(o)
        test_names = kind != EVENT
        changes: dict[str, Any] = {}
        below = depth + 1
        for name, v in pairs:
            key = self.key_kind(name) if test_names else False
            new = self.item(v, below) if key is False else self.secret(v, key, depth)
            if new is not v:
                changes[name] = new
        if not changes:
            return o
        return rebuild(o, kind, changes)
