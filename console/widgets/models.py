"""Models: version, time since the last sync, how long it took, syncs per second."""

from __future__ import annotations

from collections.abc import Mapping

from textual.widgets import Static

from engine.telemetry.status import SystemStatus

from ..activity import Rate
from ..render import models_table


class ModelsPanel(Static):
    """One row per model."""

    _rows = -1

    def update_status(
        self,
        status: SystemStatus,
        now: float,
        rates: Mapping[str, Rate | None] | None = None,
    ) -> None:
        """Render the models of ``status``; ``now`` is the wall time for "ago",
        ``rates`` each model's syncs per second lately."""
        rows_changed = len(status.models) != self._rows
        self._rows = len(status.models)
        table = models_table(status, now, rates)
        self.update(table, layout=rows_changed)
