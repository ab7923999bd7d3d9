"""Buffers: fill bars (size/capacity), items collected, and new data since training."""

from __future__ import annotations

from textual.widgets import Static

from engine.telemetry.status import SystemStatus

from ..render import buffers_table


class BuffersPanel(Static):
    """One row per buffer (the fill bar as wide as the panel leaves room for)."""

    _shown: object = None

    def update_status(self, status: SystemStatus) -> None:
        """Render the buffers of ``status`` (skipped when nothing changed)."""
        width = self.content_size.width or None
        key = (
            width,
            status.buffers,
            [
                (t.condition.data_user, t.condition.new_data)
                for t in status.trainers.values()
            ],
        )
        if key == self._shown:
            return
        rows_changed = self._shown is None or len(status.buffers) != len(self._shown[1])  # type: ignore[index]
        self._shown = key
        table = buffers_table(status, width)
        self.update(table, layout=rows_changed)
