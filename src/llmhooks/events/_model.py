"""How event classes are made: slotted, keyword-only and dataclass-compatible, built cheaply.

``@dataclass`` costs about half a millisecond per class at import (it generates and
``exec``s several methods and re-creates slotted classes), and there are dozens of
event classes. ``EventMeta`` builds the same shape in one pass, when the class
statement runs: ``__slots__`` from the annotations, a keyword-only ``__init__`` with
the defaults, ``__repr__`` and ``__eq__``. ``dataclasses.fields()``, ``replace()``,
``asdict()`` and ``is_dataclass()`` keep working: the ``Field`` objects they read are
made on first use.

    class LLMStartEvent(LLMEvent):
        type: ClassVar[str] = "llm.start"
        messages: list[Any] | None = None
        tags: list[str] = field(default_factory=list)

Only llmhooks' own classes are built this way; a user's subclass is a plain class, as a
subclass of a dataclass would be, and ``@dataclass`` on it works as usual.

A class may name ``aliases`` (``{"delta": "token"}``): each alias reads and writes the
field it names and is accepted by ``__init__``, so code written for another system's
field names (seed 004's) works on our events. A ``__post_init__`` runs after
``__init__``, as with dataclasses (not when runs fill events directly).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, TypeVar, dataclass_transform

__all__ = ["MISSING", "EventMeta", "FieldSpec", "add_aliases", "field", "field_names", "field_specs"]

T = TypeVar("T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class _Factory:
    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory


def field(*, default_factory: Callable[[], T]) -> T:
    """A field whose default is made per instance (``tags``, ``metadata``, ``timestamp``)."""
    return _Factory(default_factory)  # type: ignore[return-value]


class FieldSpec(NamedTuple):
    """One field of an event class: its name, annotation, default or default factory."""

    name: str
    annotation: str
    default: Any
    factory: Callable[[], Any] | None


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def _init_source(specs: tuple[FieldSpec, ...], aliased: bool, post_init: bool) -> str:
    params = ["self", "*"]
    body = []
    for i, spec in enumerate(specs):
        if spec.factory is not None:
            params.append(f"{spec.name}=_M")
            body.append(f"    self.{spec.name} = _f{i}() if {spec.name} is _M else {spec.name}")
        else:
            params.append(f"{spec.name}=_d{i}")
            body.append(f"    self.{spec.name} = {spec.name}")
    if aliased:
        params.append("**_aliased")
        body.append("    if _aliased:")
        body.append("        _set_aliases(self, _aliased)")
    if post_init:
        body.append("    self.__post_init__()")
    if not body:
        body.append("    pass")
    return f"def __init__({', '.join(params)}):\n" + "\n".join(body) + "\n"


def _make_init(cls: type, specs: tuple[FieldSpec, ...], aliases: dict[str, str]) -> Callable[..., None]:
    namespace: dict[str, Any] = {"_M": MISSING, "_set_aliases": _set_aliases}
    for i, spec in enumerate(specs):
        if spec.factory is not None:
            namespace[f"_f{i}"] = spec.factory
        else:
            namespace[f"_d{i}"] = spec.default
    post_init = any("__post_init__" in vars(k) for k in cls.__mro__)
    exec(_init_source(specs, bool(aliases), post_init), namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


def _lazy_init(cls: type) -> Callable[..., None]:
    """A stand-in ``__init__`` that generates the real one on first use (import stays cheap:
    runs fill events without ``__init__``, so many classes never need one)."""

    def __init__(self: Any, **kwargs: Any) -> None:
        init = vars(cls).get("__init__")
        if init is stand_in:
            init = _make_init(cls, cls.__field_specs__, cls.aliases)  # type: ignore[attr-defined]
            cls.__init__ = init  # type: ignore[misc]
        init(self, **kwargs)  # type: ignore[misc]

    stand_in = __init__
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _set_aliases(event: Any, given: dict[str, Any]) -> None:
    aliases: dict[str, str] = type(event).aliases
    for name, value in given.items():
        target = aliases.get(name)
        if target is None:
            raise TypeError(f"{type(event).__name__}.__init__() got an unexpected keyword argument {name!r}")
        setattr(event, target, value)


def _alias(target: str) -> property:
    def get(self: Any) -> Any:
        return getattr(self, target)

    def set_(self: Any, value: Any) -> None:
        setattr(self, target, value)

    return property(get, set_, doc=f"Alias of ``{target}``.")


def _repr(self: Any) -> str:
    parts = ", ".join(f"{name}={getattr(self, name, MISSING)!r}" for name in type(self).__field_names__)
    return f"{type(self).__qualname__}({parts})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names: tuple[str, ...] = type(self).__field_names__
    return all(getattr(self, n) == getattr(other, n) for n in names)


class _DataclassParams:
    """``__dataclass_params__``, for a user's ``@dataclass`` subclass of an event (made on first use)."""

    _params: Any = None

    def __get__(self, obj: object, cls: type | None = None) -> Any:
        if _DataclassParams._params is None:
            import dataclasses

            @dataclasses.dataclass(kw_only=True)
            class _Shape:  # the params of a plain keyword-only dataclass, whatever their private layout
                pass

            _DataclassParams._params = _Shape.__dataclass_params__  # type: ignore[attr-defined]
        return _DataclassParams._params


class _DataclassFields:
    """``__dataclass_fields__``, made on first use: ``dataclasses`` is not imported until then."""

    _cache: ClassVar[dict[type, dict[str, Any]]] = {}

    def __get__(self, obj: object, cls: type | None = None) -> dict[str, Any]:
        cls = type(obj) if cls is None else cls
        fields = self._cache.get(cls)
        if fields is None:
            import dataclasses

            fields = {}
            for spec in field_specs(cls):
                if spec.factory is not None:
                    f = dataclasses.field(default_factory=spec.factory, kw_only=True)
                else:
                    f = dataclasses.field(default=spec.default, kw_only=True)
                f.name = spec.name
                f.type = spec.annotation
                f._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # what fields() filters on
                fields[spec.name] = f
            self._cache[cls] = fields
        return fields


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
class EventMeta(type):
    """Metaclass of ``Event``: slots, ``__init__``, ``__repr__``, ``__eq__`` from the annotations."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kwargs: Any) -> EventMeta:
        if not str(ns.get("__module__", "")).startswith("llmhooks."):
            # a user's subclass: a plain class, as a subclass of a dataclass would be (their own
            # @dataclass on it works: it reads our fields through __dataclass_fields__)
            return super().__new__(mcls, name, bases, ns, **kwargs)
        annotations: dict[str, Any] = ns.get("__annotations__", {})
        own: list[FieldSpec] = []
        for fname, annotation in annotations.items():
            if _is_classvar(annotation):
                continue
            value = ns.pop(fname, MISSING)
            if isinstance(value, _Factory):
                own.append(FieldSpec(fname, str(annotation), MISSING, value.factory))
            else:
                default = None if value is MISSING else value
                own.append(FieldSpec(fname, str(annotation), default, None))
        # a field redeclared in a subclass (a new default) keeps its base's slot and place
        base_names = {spec.name for base in bases for spec in getattr(base, "__field_specs__", ())}
        ns["__slots__"] = tuple(s.name for s in own if s.name not in base_names)
        cls = super().__new__(mcls, name, bases, ns, **kwargs)
        inherited: list[FieldSpec] = []
        for base in reversed(cls.__mro__[1:]):
            for spec in vars(base).get("__field_specs__", ()):
                if all(s.name != spec.name for s in inherited):
                    inherited.append(spec)
        mine = {s.name: s for s in own}
        specs = tuple([mine.pop(s.name, s) for s in inherited] + [s for s in own if s.name in mine])
        cls.__field_specs__ = specs  # type: ignore[attr-defined]
        cls.__field_names__ = tuple(s.name for s in specs)  # type: ignore[attr-defined]
        aliases: dict[str, str] = {}
        for base in reversed(cls.__mro__):
            aliases.update(vars(base).get("aliases", {}))
        for alias, target in ns.get("aliases", {}).items():
            if target not in cls.__field_names__:  # type: ignore[attr-defined]
                raise TypeError(f"{name}: alias {alias!r} names no field ({target!r})")
            setattr(cls, alias, _alias(target))
        cls.aliases = aliases  # type: ignore[attr-defined]
        cls.__init__ = _lazy_init(cls)  # type: ignore[misc]
        if "__repr__" not in ns:
            cls.__repr__ = _repr  # type: ignore[assignment]
        if "__eq__" not in ns:
            cls.__eq__ = _eq  # type: ignore[assignment]
            cls.__hash__ = None  # type: ignore[assignment]  # as a dataclass with eq: mutable, unhashable
        return cls


def field_specs(cls: type) -> tuple[FieldSpec, ...]:
    """Every field of event class ``cls``, base fields first."""
    return vars(cls).get("__field_specs__") or cls.__field_specs__  # type: ignore[attr-defined, no-any-return]


def field_names(cls: type) -> tuple[str, ...]:
    """The field names of event class ``cls``, in order (cheap: precomputed)."""
    return cls.__field_names__  # type: ignore[attr-defined, no-any-return]


def add_aliases(cls: type, aliases: dict[str, str]) -> None:
    """Give ``cls`` and its subclasses more field aliases (``{"delta": "token"}``), after the fact.

    Each alias reads and writes its field and is accepted by ``__init__``.

    Raises:
        TypeError: an alias names no field of ``cls``, or is a field of ``cls`` itself.
    """
    names = field_names(cls)
    for alias, target in aliases.items():
        if target not in names:
            raise TypeError(f"{cls.__name__}: alias {alias!r} names no field ({target!r})")
        if alias in names:
            raise TypeError(f"{cls.__name__}: {alias!r} is a field, it cannot be an alias")
        setattr(cls, alias, _alias(target))
    own = dict(vars(cls).get("aliases", {}))
    own.update(aliases)
    pending = [cls]
    while pending:
        klass = pending.pop()
        merged: dict[str, str] = {}
        for base in reversed(klass.__mro__):
            merged.update(own if base is cls else vars(base).get("aliases", {}))
        # a subclass's own field of the same name wins over the alias
        klass.aliases = {a: t for a, t in merged.items() if a not in field_names(klass)}  # type: ignore[attr-defined]
        klass.__init__ = _lazy_init(klass)  # type: ignore[misc]  # regenerated with the aliases
        pending.extend(klass.__subclasses__())
