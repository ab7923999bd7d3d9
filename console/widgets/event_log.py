"""The event log: what an operator must notice (saves, loads, pauses, errors...),
each line in the colour of its severity."""

from __future__ import annotations

import time as _time
from collections import deque

from rich.console import Console
from rich.text import Text
from textual import events
from textual.widgets import RichLog

from ..eventlog import LogLine
from ..render import SEVERITY_STYLES

MAX_LINES = 1000
"""Lines kept (and drawn again when the panel is resized)."""


def log_line_text(line: LogLine, width: int | None, console: Console) -> list[Text]:
    """``line`` as the panel shows it in ``width`` columns: its time and its
    text in its severity's colour (the kind the headless log adds, "saved",
    "state", "log", mostly says again what the text and colour say); a text
    too long goes on under itself, so the times stay a column of their own."""
    clock = _time.strftime("%H:%M:%S", _time.localtime(line.wall_time))
    prefix = Text(clock + " ", style="dim")
    body = Text(line.text, style=SEVERITY_STYLES.get(line.severity, ""))
    room = None if width is None else width - prefix.cell_len
    if room is None or room < 10:
        return [prefix + body]
    indent = " " * prefix.cell_len
    return [
        (prefix if i == 0 else Text(indent)) + part
        for i, part in enumerate(body.wrap(console, room))
    ]


class EventLogPanel(RichLog):
    """A scrolling, bounded log of :class:`LogLine` s, drawn again for its width
    when it is resized (a log written while the terminal was small is not
    left wrapped for that size)."""

    DEFAULT_CSS = """
    EventLogPanel {
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            max_lines=MAX_LINES * 4,
            wrap=True,
            min_width=20,
            markup=False,
            auto_scroll=True,
        )
        self._log: deque[LogLine] = deque(maxlen=MAX_LINES)
        self._drawn_width: int | None = None

    def on_mount(self) -> None:
        """Keep the newest line in sight as the panel's height changes too
        (until the operator scrolls up)."""
        self.anchor()

    def _width(self) -> int | None:
        return self.scrollable_content_region.width or None

    def add_lines(self, lines: list[LogLine]) -> None:
        """Append lines, newest last, coloured by severity."""
        self._log.extend(lines)
        width = self._width()
        if width != self._drawn_width:
            self._redraw()
            return
        for line in lines:
            for text in log_line_text(line, width, self.app.console):
                self.write(text, width=width)

    def on_resize(self, _: events.Resize) -> None:
        """Draw every line again for the new width (once it is laid out)."""
        self.call_after_refresh(self._redraw_if_resized)

    def _redraw_if_resized(self) -> None:
        if self.is_attached and self._width() != self._drawn_width:
            self._redraw()

    def _redraw(self) -> None:
        width = self._width()
        self._drawn_width = width
        self.clear()
        for line in self._log:
            for text in log_line_text(line, width, self.app.console):
                self.write(text, width=width)
