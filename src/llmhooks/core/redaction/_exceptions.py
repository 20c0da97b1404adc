"""Redacted copies of exceptions, their chains (``__cause__``/``__context__``) included.

    redact_exception(walk, exc, 0)   # exc, a copy of the same type, or "Type: message"

The chain is walked iteratively, each exception once (chains may be long, or loop), up to
``MAX_CHAIN`` of them; a copy is made of every exception whose own data holds a secret or
whose chain leads to one, and links beyond the limit are cut, so that no exception that
was not checked hangs off the copy. The original, which the program sees, is untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmhooks.events._safe_str import BUILTIN_EXCEPTIONS, exception_message, plain_builtin_message
from llmhooks.events._shapes import DATACLASS, EVENT, OBJECT, PYDANTIC, kind_of

if TYPE_CHECKING:
    from llmhooks.core.redaction._walk import Walk

__all__ = ["MAX_CHAIN", "redact_exception"]

MAX_CHAIN = 64
_UNAVAILABLE = "[REDACTED: message unavailable]"
_OPAQUE = frozenset({DATACLASS, EVENT, OBJECT, PYDANTIC})
# inits that only store their arguments (re-run on a copy: SyntaxError's fields come from them)
_BUILTIN_INIT = frozenset(c.__dict__["__init__"] for c in BUILTIN_EXCEPTIONS if "__init__" in c.__dict__)
# attributes that built-in exceptions keep outside args and __dict__
_C_ATTRS: tuple[tuple[type, tuple[str, ...]], ...] = (
    (OSError, ("filename", "filename2")),
    (ImportError, ("name", "path")),
)


class _Own:
    """What redaction changes in one exception, links aside."""

    __slots__ = ("args", "attrs", "c_attrs", "changed", "message", "text_only")

    def __init__(self) -> None:
        self.changed = False
        self.text_only = False  # no copy can hide the secret: the chain ends in a string here
        self.message: str | None = None  # the redacted message, when the message itself had one
        self.args: Any = None
        self.attrs: dict[str, Any] | None = None
        self.c_attrs: dict[str, Any] = {}


def _own(walk: Walk, exc: BaseException, depth: int) -> _Own:
    own = _Own()
    args = exc.args
    new_args = walk.value(args, depth + 1) if args else args
    own.args = new_args
    own.changed = new_args is not args
    try:
        attrs = object.__getattribute__(exc, "__dict__")
    except AttributeError:
        attrs = None
    if attrs:
        # plain data only: objects hanging off an exception (an SDK's HTTP response and
        # request) are its library's, and copying them would replace the very exception
        # the program caught; serialisation never expands them
        plain = {k: v for k, v in attrs.items() if kind_of(type(v)) not in _OPAQUE}
        new_attrs = walk.mapping(plain, depth + 1)
        if new_attrs is not plain:
            own.attrs = new_attrs
            own.changed = True
    for cls, names in _C_ATTRS:
        if isinstance(exc, cls):
            for name in names:
                value = getattr(exc, name, None)
                new = walk.value(value, depth + 1)
                if new is not value:
                    own.c_attrs[name] = new
                    own.changed = True
    if not plain_builtin_message(exc):
        # the message is made by code we do not know: check what it says
        message = exception_message(exc)
        if message is None:
            own.text_only, own.message, own.changed = True, _UNAVAILABLE, True
        else:
            redacted = walk.text(message)
            if redacted is not message:
                own.message, own.changed = redacted, True
    return own


def _copy(exc: BaseException, own: _Own) -> BaseException:
    cls = type(exc)
    args = tuple(own.args)
    new = cls.__new__(cls, *args)
    if cls.__init__ in _BUILTIN_INIT:
        cls.__init__(new, *args)
    new.args = args
    state = object.__getattribute__(exc, "__dict__") if hasattr(exc, "__dict__") else None
    if state:
        object.__getattribute__(new, "__dict__").update(state)
    if own.attrs:
        object.__getattribute__(new, "__dict__").update(own.attrs)
    for cls_, names in _C_ATTRS:
        if isinstance(exc, cls_):
            for name in names:
                setattr(new, name, own.c_attrs.get(name, getattr(exc, name, None)))
    new.__traceback__ = exc.__traceback__
    return new


def _as_text(exc: BaseException, own: _Own, walk: Walk) -> str:
    message = own.message
    if message is None:
        text = exception_message(exc)
        message = _UNAVAILABLE if text is None else walk.text(text)
    return f"{type(exc).__name__}: {message}"


def redact_exception(walk: Walk, exc: BaseException, depth: int = 0) -> BaseException | str:
    """``exc``, or a copy of the same type whose message, arguments, attributes and chain
    are redacted; ``"TypeName: redacted message"`` where no such copy can hide it."""
    chain: list[BaseException] = [exc]
    index = {id(exc): 0}
    links: list[list[int | None]] = []  # per exception: index of its cause, its context
    i = 0
    while i < len(chain):
        e = chain[i]
        pair: list[int | None] = []
        for linked in (e.__cause__, e.__context__):
            if linked is None:
                pair.append(None)
                continue
            j = index.get(id(linked))
            if j is None:
                if len(chain) >= MAX_CHAIN:
                    pair.append(-1)  # not checked: cut from the copy
                    continue
                j = index[id(linked)] = len(chain)
                chain.append(linked)
            pair.append(j)
        links.append(pair)
        i += 1
    owns = [_own(walk, e, depth) for e in chain]
    # an exception needs a copy if it changed, or if its chain leads to one that does
    dirty = [own.changed for own in owns]
    grew = True
    while grew:
        grew = False
        for k, pair in enumerate(links):
            if not dirty[k] and any(j == -1 or (j is not None and dirty[j]) for j in pair):
                dirty[k] = grew = True
    if not dirty[0]:  # a cut link makes every exception before it dirty
        return exc
    copies: list[BaseException | None] = [None] * len(chain)
    for k, e in enumerate(chain):
        if not dirty[k]:
            continue
        own = owns[k]
        copy: BaseException | None = None
        if not own.text_only:
            try:
                copy = _copy(e, own)
                if own.message is not None:
                    text = exception_message(copy)
                    if text is None or walk.text(text) is not text:
                        copy = None  # its own __str__ still shows the secret
            except Exception:
                copy = None
        if copy is None:
            if k == 0:
                return _as_text(e, own, walk)
            copy = Exception(_as_text(e, own, walk))  # a stand-in inside the chain
        copies[k] = copy
    for k, copy in enumerate(copies):
        if copy is None:
            continue
        cause, context = (None if j is None or j == -1 else (copies[j] or chain[j]) for j in links[k])
        copy.__cause__ = cause
        copy.__context__ = context
        copy.__suppress_context__ = chain[k].__suppress_context__  # setting __cause__ set it
    root = copies[0]
    assert root is not None  # dirty[0]: made above, or returned as text
    return root
