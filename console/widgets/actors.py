"""Actors of a scaled run: node, state and restarts, steps/s, policy version, lag,
queued batches, dropped items, stale batches.

Hidden for a run without actors (the embedded engine).
"""

from __future__ import annotations

from textual.widgets import Static

from engine.telemetry.status import STEPS_OF_ACTORS, SystemStatus

from ..render_actors import actors_table, actors_title


class ActorsPanel(Static):
    """One row per actor; its border title says when all of them are paused."""

    _rows = -1
    _shown: object = None

    def on_mount(self) -> None:
        """Start hidden: most runs have no actors."""
        self.display = False

    def update_status(self, status: SystemStatus) -> None:
        """Render the actors of ``status`` (skipped when nothing changed)."""
        if status.step_source != STEPS_OF_ACTORS:
            return
        key = (status.actors, status.policy_version)
        if key == self._shown:
            return
        self._shown = key
        rows = max(1, len(status.actors))
        layout = not self.display or rows != self._rows
        self._rows = rows
        self.display = True
        self.border_title = actors_title(status)
        self.update(actors_table(status), layout=layout)
