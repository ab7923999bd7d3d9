"""When to save (PAMIQ-Core's ``PeriodicSaveCondition``).

A save condition is any callable returning True when a state should be saved;
give it to ``LaunchConfig(save_state_condition=...)``. The control thread asks
about once a second, next to the built-in wall-clock
``LaunchConfig.save_state_interval``.
"""

from __future__ import annotations

from ..utils.schedulers import TimeIntervalScheduler


class PeriodicSaveCondition:
    """True once every ``interval`` engine seconds (scaled, and still while paused).

    Args:
        interval: Engine seconds between saves.

    Raises:
        ValueError: If ``interval`` is negative.
    """

    def __init__(self, interval: float) -> None:
        self._due = False
        self._scheduler = TimeIntervalScheduler(interval, self._set_due)

    def _set_due(self) -> None:
        self._due = True

    def __call__(self) -> bool:
        """Whether a save is due; answering True starts the next interval."""
        self._scheduler.update()
        due, self._due = self._due, False
        return due
