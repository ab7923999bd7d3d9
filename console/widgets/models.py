"""Models: version, time since the last sync, how long it took, syncs per second."""

from __future__ import annotations

from collections.abc import Mapping

from textual.widgets import Static

from engine.telemetry.status import SystemStatus

from ..activity import Rate
from ..render import models_table


class ModelsPanel(Static):
    """One row per model (drawn again only when a cell changed)."""

    _rows = -1
    _shown: object = None

    def update_status(
        self,
        status: SystemStatus,
        now: float,
        rates: Mapping[str, Rate | None] | None = None,
    ) -> None:
        """Render the models of ``status``; ``now`` is the wall time for "ago",
        ``rates`` each model's syncs per second lately."""
        table = models_table(status, now, rates)
        shown = (
            self.content_size.width,
            tuple(tuple(column.cells) for column in table.columns),
        )
        if shown == self._shown:
            return
        self._shown = shown
        rows_changed = len(status.models) != self._rows
        self._rows = len(status.models)
        self.update(table, layout=rows_changed)
