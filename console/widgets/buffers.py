"""Buffers: fill bars (size/capacity), items collected, and new data since training."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from engine.telemetry.status import SystemStatus

BAR_WIDTH = 20


def fill_bar(size: int, capacity: int | None, width: int = BAR_WIDTH) -> Text:
    """A text bar of ``size`` over ``capacity``."""
    if not capacity:
        return Text("·" * width, style="dim")
    filled = min(width, round(width * size / capacity))
    style = "green" if size < capacity else "cyan"
    return Text.assemble(("█" * filled, style), ("░" * (width - filled), "dim"))


class BuffersPanel(Static):
    """One row per buffer."""

    _shown: object = None

    def update_status(self, status: SystemStatus) -> None:
        """Render the buffers of ``status`` (skipped when nothing changed)."""
        key = (
            status.buffers,
            [
                (t.condition.data_user, t.condition.new_data)
                for t in status.trainers.values()
            ],
        )
        if key == self._shown:
            return
        rows_changed = self._shown is None or len(status.buffers) != len(self._shown[0])  # type: ignore[index]
        self._shown = key
        table = Table(box=None, expand=True, padding=(0, 1))
        table.add_column("buffer", style="bold", no_wrap=True)
        table.add_column("fill", no_wrap=True)
        table.add_column("size", justify="right", no_wrap=True)
        table.add_column("collected", justify="right", no_wrap=True)
        table.add_column("new", justify="right", no_wrap=True)
        for name, buffer in status.buffers.items():
            watchers = [
                t.condition.new_data
                for t in status.trainers.values()
                if t.condition.data_user == name
            ]
            new = max(watchers) if watchers else buffer.pending
            capacity = "∞" if buffer.capacity is None else f"{buffer.capacity:,}"
            table.add_row(
                name,
                fill_bar(buffer.size, buffer.capacity),
                f"{buffer.size:,}/{capacity}",
                f"{buffer.collected:,}",
                f"{new:,}",
            )
        if not status.buffers:
            table.add_row(Text("no buffers", style="dim"), "", "", "", "")
        self.update(table, layout=rows_changed)
