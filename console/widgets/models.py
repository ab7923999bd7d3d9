"""Models: version, time since the last sync and how long it took."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from engine.telemetry.status import SystemStatus

from ..render import human_duration


class ModelsPanel(Static):
    """One row per model."""

    _rows = -1

    def update_status(self, status: SystemStatus, now: float) -> None:
        """Render the models of ``status``; ``now`` is the wall time for "ago"."""
        rows_changed = len(status.models) != self._rows
        self._rows = len(status.models)
        table = Table(box=None, expand=True, padding=(0, 1))
        table.add_column("model", style="bold", no_wrap=True)
        table.add_column("version", justify="right", no_wrap=True)
        table.add_column("last sync", justify="right", no_wrap=True)
        table.add_column("took", justify="right", no_wrap=True)
        for name, model in status.models.items():
            if model.inference_thread_only:
                ago = Text("inference only", style="dim")
            elif model.last_sync_time is None:
                ago = Text("never", style="dim")
            else:
                ago = Text(
                    f"{human_duration(max(0.0, now - model.last_sync_time))} ago"
                )
            table.add_row(
                name,
                f"v{model.version}",
                ago,
                human_duration(model.last_sync_duration),
            )
        if not status.models:
            table.add_row(Text("no models", style="dim"), "", "", "")
        self.update(table, layout=rows_changed)
