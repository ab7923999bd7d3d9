"""The one-line error of a run configuration, and the words it is written with."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A problem with a run configuration, as one line ``FILE: key.path: problem``.

    Args:
        file: The config file.
        key: Dotted key path of the offending value ("" for the whole file).
        problem: What is wrong, in words.
    """

    def __init__(self, file: str | Path, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = " ".join(problem.split())
        super().__init__(str(self))

    def __str__(self) -> str:
        """Return the one-line message."""
        return f"{self.file}: {self.key or '<file>'}: {self.problem}"


def describe(value: Any) -> str:
    """A value as an error message names it: its type and a short repr."""
    if isinstance(value, Mapping):
        return "a table"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def suggest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or ""."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def a_or_an(word: str) -> str:
    """``a`` or ``an``, as English puts it before ``word``."""
    return "an" if word[:1].lower() in "aeiou" else "a"


_TYPE_NAMES = {
    "float_type": "float or int",
    "int_type": "int",
    "bool_type": "bool",
    "string_type": "str",
}
"""pydantic's strict type errors, as the type a config key takes."""


def validation_problem(
    error: Any, prefix: str, values: Mapping[str, Any], known: Iterable[str]
) -> tuple[str, str]:
    """The first problem of a pydantic ``ValidationError``: ``(key path, message)``.

    The one wording of a table's validation errors (``[system]``, a
    ``[trainers.NAME.training]`` table): an unknown key with the closest known
    one, a wrong type as ``expected int, got str 'x'``, anything else as
    pydantic says it (without its ``Value error, `` prefix).

    Args:
        error: The ``ValidationError`` (anything with ``errors()``).
        prefix: The table's key path (``system``, ``trainers.dqn.training``).
        values: The table as the config gave it (to name a wrong value).
        known: The table's keys (to suggest one for an unknown key).
    """
    first = error.errors(include_url=False)[0]
    loc = [str(p) for p in first.get("loc", ())]
    path = ".".join([prefix, *loc] if prefix else loc)
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        return path, f"unknown key{suggest(loc[-1] if loc else '', known)}"
    expected = _TYPE_NAMES.get(kind)
    if expected is not None and len(loc) == 1:
        return path, f"expected {expected}, got {describe(values.get(loc[0]))}"
    return path, str(first.get("msg", error)).removeprefix("Value error, ")
