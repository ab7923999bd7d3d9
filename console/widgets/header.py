"""The top line: run name, state, how it is viewed, uptime, time scale, steps,
step rate, and when the run was last saved and will be next."""

from __future__ import annotations

import time as _time
from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from engine.telemetry.status import SystemStatus

from ..render import header_text


class StatusHeader(Static):
    """Shows the system line of the latest snapshot.

    Attributes:
        busy: The operation in progress ("" if none).
        view: ``attached``, ``read-only`` or "" (the run is in this process).
        clock: Wall time for the saves' "ago" and "in".

    Args:
        name: Widget name.
        id: Widget id.
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__("starting...", name=name, id=id)
        self.busy = ""
        self.view = ""
        self.clock: Callable[[], float] = _time.time
        self._shown: Text | None = None

    def update_status(self, status: SystemStatus) -> None:
        """Render ``status`` (and the operation in progress, if any); not
        drawn again when the line reads the same."""
        width = self.content_size.width or None
        text = header_text(status, self.busy, width, now=self.clock(), view=self.view)
        if text == self._shown:
            return
        self._shown = text
        self.update(text, layout=False)  # always one line
