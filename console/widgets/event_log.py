"""The event log: what an operator must notice (saves, loads, pauses, errors...)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from ..eventlog import LogLine

KIND_STYLES = {
    "sync": "cyan",
    "training": "blue",
    "saved": "green",
    "loaded": "magenta",
    "state": "yellow",
    "error": "bold red",
    "log": "",
    "console": "bold",
}


class EventLogPanel(RichLog):
    """A scrolling, bounded log of :class:`LogLine` s."""

    def __init__(self, *, id: str | None = None) -> None:
        # Wrapped, not cut: it shares the screen's width with the curves.
        super().__init__(
            id=id,
            max_lines=1000,
            wrap=True,
            min_width=20,
            markup=False,
            auto_scroll=True,
        )

    def add_lines(self, lines: list[LogLine]) -> None:
        """Append lines, newest last."""
        for line in lines:
            stamped = line.stamped()
            clock, _, rest = stamped.partition(" ")
            self.write(
                Text.assemble(
                    (clock, "dim"), " ", (rest, KIND_STYLES.get(line.kind, ""))
                )
            )
