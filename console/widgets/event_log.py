"""The event log: what an operator must notice (saves, loads, pauses, errors...),
each line in the colour of its severity."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from ..eventlog import LogLine
from ..render import SEVERITY_STYLES


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
        """Append lines, newest last, coloured by severity."""
        for line in lines:
            stamped = line.stamped()
            clock, _, rest = stamped.partition(" ")
            self.write(
                Text.assemble(
                    (clock, "dim"), " ", (rest, SEVERITY_STYLES.get(line.severity, ""))
                )
            )
