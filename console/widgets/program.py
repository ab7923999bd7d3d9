"""The last lines a program started by the console wrote (``run PROGRAM.py``)."""

from __future__ import annotations

from textual.widgets import Log

MAX_LINES = 500
"""Lines the panel keeps (the whole output is in the run directory)."""


class ProgramOutputPanel(Log):
    """The program's stdout and stderr, newest at the bottom."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, **kwargs)  # type: ignore[arg-type]
