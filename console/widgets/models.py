"""Models: version, time since the last sync and how long it took."""

from __future__ import annotations

from textual.widgets import Static

from engine.telemetry.status import SystemStatus

from ..render import models_table


class ModelsPanel(Static):
    """One row per model."""

    _rows = -1

    def update_status(self, status: SystemStatus, now: float) -> None:
        """Render the models of ``status``; ``now`` is the wall time for "ago"."""
        rows_changed = len(status.models) != self._rows
        self._rows = len(status.models)
        table = models_table(status, now)
        self.update(table, layout=rows_changed)
