"""Does a value from a config fit the type annotation of the argument it is given to?

Only what a TOML value can be is checked (numbers, strings, booleans, lists,
tables, and the components built from tables); when unsure, a value fits.
"""

from __future__ import annotations

import collections.abc as cabc
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import describe


def type_problem(value: Any, hint: Any) -> str | None:
    """Return why ``value`` does not fit the annotation ``hint`` (None if it does or if unsure)."""
    if fits(value, hint):
        return None
    return f"expected {hint_name(hint)}, got {describe(value)}"


def fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` may be passed where ``hint`` is annotated."""
    if hint is Any or hint is object or isinstance(hint, typing.TypeVar):
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (str, bool):
        return isinstance(value, hint)
    if hint is Path or (isinstance(hint, type) and issubclass(hint, Path)):
        return isinstance(value, str | Path)
    if origin is None:
        if isinstance(hint, type):
            if hint.__module__ == "builtins" or hint.__module__.startswith(
                "collections"
            ):
                return isinstance(value, hint) or (
                    hint in (tuple, frozenset, set) and isinstance(value, list)
                )
            # A component class: an object built from a table must be an instance;
            # a plain value might be coerced by the callee, so accept it.
            if isinstance(value, str | int | float | bool | list | dict):
                return True
            return isinstance(value, hint)
        return True
    if origin in (
        list,
        cabc.Sequence,
        cabc.MutableSequence,
        cabc.Iterable,
        cabc.Collection,
    ):
        if isinstance(value, str) and origin is not cabc.Iterable:
            return False
        if origin is list and not isinstance(value, list):
            return False
        if not isinstance(value, list | tuple) and not isinstance(value, cabc.Iterable):
            return False
        if args and isinstance(value, list | tuple):
            return all(fits(v, args[0]) for v in value)
        return True
    if origin in (tuple, set, frozenset, cabc.Set):
        if not isinstance(value, list | tuple | set | frozenset):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(
                fits(v, a) for v, a in zip(value, args, strict=True)
            )
        if args:
            return all(fits(v, args[0]) for v in value)
        return True
    if origin in (dict, cabc.Mapping, cabc.MutableMapping):
        if not isinstance(value, Mapping):
            return False
        if len(args) == 2:
            return all(fits(k, args[0]) and fits(v, args[1]) for k, v in value.items())
        return True
    if origin is cabc.Callable:
        return callable(value)
    if isinstance(origin, type):
        # A generic component class such as Agent[Any, Any].
        if isinstance(value, str | int | float | bool | list | dict):
            return True
        return isinstance(value, origin)
    return True


def hint_name(hint: Any) -> str:
    """An annotation as an error message writes it (``list[int]``, ``Agent``)."""
    if isinstance(hint, type) and typing.get_origin(hint) is None:
        return hint.__name__
    text = str(hint).replace("typing.", "").replace("collections.abc.", "")
    return re.sub(r"\b[a-z_]+\.(?=[A-Z])", "", text)
