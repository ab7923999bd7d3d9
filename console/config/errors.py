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
