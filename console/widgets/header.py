"""The top line: run name, state, uptime, time scale, steps and step rate."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.telemetry.status import SystemStatus

from ..render import human_duration

STATE_STYLES = {
    "active": "bold black on green",
    "pausing": "bold black on yellow",
    "paused": "bold black on yellow",
    "resuming": "bold black on yellow",
    "stopping": "bold white on red",
    "stopped": "bold white on red",
}


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
        state = status.state
        text = Text.assemble(
            (" pamiq-console ", "bold"),
            (f" {status.name} ", "bold reverse"),
            "  ",
            (f" {state.upper()} ", STATE_STYLES.get(state, "bold")),
            "  uptime ",
            (human_duration(status.uptime), "bold"),
            "  time scale ",
            (f"x{status.time_scale:g}", "bold"),
            "  steps ",
            (f"{status.steps:,}", "bold"),
            "  ",
            (f"{status.steps_per_second:,.0f}", "bold"),
            " steps/s",
        )
        if self.busy:
            text.append(f"  {self.busy}", style="bold yellow")
        self.update(text, layout=False)  # always one line
