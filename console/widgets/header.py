"""The top line: run name, state, uptime, time scale, steps and step rate."""

from __future__ import annotations

from textual.widgets import Static

from engine.telemetry.status import SystemStatus

from ..render import STATE_STYLES, header_text

__all__ = ["STATE_STYLES", "StatusHeader"]


class StatusHeader(Static):
    """Shows the system line of the latest snapshot.

    Args:
        name: Widget name.
        id: Widget id.
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__("starting...", name=name, id=id)
        self.busy = ""

    def update_status(self, status: SystemStatus) -> None:
        """Render ``status`` (and the operation in progress, if any)."""
        width = self.content_size.width or None
        # always one line
        self.update(header_text(status, self.busy, width), layout=False)
