"""Argument checks for constructors: one clear error naming the argument, what was given
and what is allowed, raised before anything runs (never on the first event).

    self.max_wait = check_number("max_wait", max_wait, minimum=0)
    self.policy = check_choice("policy", policy, ("drop_oldest", "block"))

Numbers reject ``bool`` (``True`` is not a count), NaN and infinities unless asked;
wrong types raise ``TypeError``, out-of-range values ``ValueError``. Imports nothing of
ours, so every layer can use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

__all__ = [
    "check_bool",
    "check_callable",
    "check_choice",
    "check_int",
    "check_log_level",
    "check_methods",
    "check_names",
    "check_number",
    "check_tags",
    "check_with",
    "check_writable_path",
]

T = TypeVar("T")


def _given(value: object) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})" if not isinstance(value, (int, float)) else text


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    allow_none: bool = False,
    allow_inf: bool = False,
) -> Any:
    """Return ``value`` if it is a real number in range (``None`` too when allowed).

    Raises:
        TypeError: not a number (strings and booleans included).
        ValueError: NaN, an infinity (unless ``allow_inf``), or out of range.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a number" + (" or None" if allow_none else "")
        raise TypeError(f"{name} must be {kind}, got {_given(value)}")
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
        raise ValueError(f"{name} must be {'>' if exclusive_minimum else '>='} {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return value


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    allow_none: bool = False,
) -> Any:
    """Return ``value`` if it is an ``int`` (not a ``bool``) in range, or ``None`` when allowed.

    Raises:
        TypeError: not an integer.
        ValueError: out of range.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "an integer" + (" or None" if allow_none else "")
        raise TypeError(f"{name} must be {kind}, got {_given(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``.

    Raises:
        TypeError: anything else (``"false"`` is a true string, so it is refused).
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {_given(value)}")
    return value


def check_choice(name: str, value: T, allowed: Iterable[T]) -> T:
    """Return ``value`` if it is one of ``allowed``.

    Raises:
        ValueError: it is not.
    """
    options = tuple(allowed)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def check_callable(name: str, value: Any, *, allow_none: bool = False) -> Any:
    """Return ``value`` if it is callable (or ``None`` when allowed).

    Raises:
        TypeError: it is not.
    """
    if value is None and allow_none:
        return None
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {_given(value)}")
    return value


def check_tags(name: str, value: Any) -> list[str]:
    """Return ``value`` as a list of tags: a single string is one tag, ``None`` no tags.

    Raises:
        TypeError: not a string or an iterable of strings.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (bytes, bytearray, dict)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a string or a list of strings, got {_given(value)}")
    tags = list(value)
    for tag in tags:
        if not isinstance(tag, str):
            raise TypeError(f"{name} must hold strings only, got {_given(tag)} in {_given(value)}")
    return tags


def check_metadata(name: str, value: Any) -> dict[str, Any]:
    """Return ``value``, a mapping with string keys, as a dict.

    Raises:
        TypeError: not a mapping, or a key that is not a string.
    """
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict with string keys, got {_given(value)}")
    for key in value:
        if type(key) is not str:
            raise TypeError(f"{name} keys must be strings, got {_given(key)} in {_given(value)}")
    return value if type(value) is dict else dict(value)


def check_writable_path(name: str, path: Any) -> str:
    """Return ``path`` as a string if a file can be created there (its folder exists or can be made).

    Raises:
        TypeError: not a string or ``os.PathLike``.
        ValueError: a parent is a file, or the path is a directory.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or os.PathLike), got {_given(path)}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a text path, got {_given(path)}")
    if os.path.isdir(text):
        raise ValueError(f"{name} must be a file path, got the directory {text!r}")
    parent = os.path.dirname(os.path.abspath(text))
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise ValueError(f"{name} {text!r} is under {parent!r}, which is a file, not a directory")
    return text


def check_log_level(name: str, value: Any) -> int:
    """Return ``value`` as a ``logging`` level number: a number >= 0, or a level name.

    Names are those ``logging`` knows (``"INFO"``, ``"WARNING"``, ``"WARN"``, levels added with
    ``logging.addLevelName``), in any case, as ``Logger.setLevel`` takes them.

    Raises:
        TypeError: neither an integer nor a string.
        ValueError: a negative number or an unknown name.
    """
    import logging  # kept out of `import llmhooks`'s own imports; already loaded by nearly everything

    if isinstance(value, str):
        names = logging.getLevelNamesMapping()
        level = names.get(value.upper())
        if level is None:
            known = ", ".join(sorted(names, key=lambda n: (names[n], n)))
            raise ValueError(f"{name} must be a logging level or one of {known}; got {value!r}")
        return level
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be a logging level (an integer or a name such as 'INFO'), got {_given(value)}"
        )
    if value < 0:
        raise ValueError(f"{name} must be a logging level >= 0, got {value!r}")
    return int(value)


def check_methods(
    name: str, value: Any, methods: Iterable[str], allowed: str, *, allow_none: bool = False
) -> Any:
    """Return ``value`` if it has every method in ``methods`` (or is ``None`` when allowed).

    For providers, registries, streams and exporters: checked by what they can do, so a
    duck-typed object works as well as the library's own class.

    Raises:
        TypeError: a method is missing; the message says what was given and what is allowed.
    """
    if value is None and allow_none:
        return None
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if missing:
        raise TypeError(
            f"{name} must be {allowed}{' or None' if allow_none else ''}, got {_given(value)}"
            f" (no {', '.join(m + '()' for m in missing)})"
        )
    return value


def check_names(name: str, value: Any, *, allow_none: bool = False) -> Any:
    """Return ``value`` as a tuple of strings (or ``None`` when allowed): a list of names.

    A lone string is refused, not split into characters (``labels="user"`` is not
    ``("u", "s", "e", "r")``).

    Raises:
        TypeError: a string, a non-iterable, or an item that is not a string.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        hint = f" (for one name write [{value!r}])" if isinstance(value, str) else ""
        raise TypeError(f"{name} must be a list of strings, got {_given(value)}{hint}")
    names = tuple(value)
    for item in names:
        if not isinstance(item, str):
            raise TypeError(f"{name} must hold strings only, got {_given(item)} in {_given(value)}")
    return names


def check_with(name: str, value: Any, test: Callable[[Any], bool], allowed: str) -> Any:
    """Return ``value`` if ``test(value)``; else ``ValueError`` saying ``allowed``."""
    if not test(value):
        raise ValueError(f"{name} must be {allowed}, got {_given(value)}")
    return value
