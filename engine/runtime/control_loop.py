"""The control thread's schedule: periodic saves, the save condition, the uptime limit.

The loop sleeps on the controller's condition variable until the next thing
is due, so a stop request ends it at once; between wake-ups it costs nothing.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable

from ..time import TimeController
from .control import Controller

RATE_SAMPLE_INTERVAL = 0.5
"""Seconds between two samples of the step count (keeps status rates fresh)."""

SAVE_CONDITION_PERIOD = 0.05
"""Seconds between two checks of the save condition."""


class ControlLoop:
    """Runs until the system stops, doing what is due at each wake-up.

    Args:
        controller: The control state machine (its stop ends the loop).
        clock: The engine clock (uptime is counted in engine seconds).
        save_interval: Wall-clock seconds between periodic saves (``math.inf``:
            none).
        save_condition: Asked about every :data:`SAVE_CONDITION_PERIOD`
            seconds; a save follows when it answers True (None: never asked).
        max_uptime: Engine seconds this session may run before it stops
            (``math.inf``: no limit).
        session_uptime: Engine seconds since this session started.
        save: Writes a periodic state (reports its own failures).
        sample_rate: Records the step count for the step rate.
        log: Publishes an operator notice.
    """

    def __init__(
        self,
        controller: Controller,
        clock: TimeController,
        *,
        save_interval: float,
        save_condition: Callable[[], bool] | None,
        max_uptime: float,
        session_uptime: Callable[[], float],
        save: Callable[[], None],
        sample_rate: Callable[[], None],
        log: Callable[[str], None],
    ) -> None:
        self._save_interval = save_interval
        self._save_condition = save_condition
        self._max_uptime = max_uptime
        self._controller = controller
        self._clock = clock
        self._session_uptime = session_uptime
        self._save = save
        self._sample_rate = sample_rate
        self._log = log
        self._next_save = math.inf

    def next_save_time(self) -> float | None:
        """When the next periodic save is due (wall time; None if none will be)."""
        due = self._next_save
        if math.isinf(due):
            return None
        return _time.time() + (due - _time.monotonic())

    def run(self) -> None:
        """Loop until the system is stopping."""
        try:
            self._run()
        finally:
            self._next_save = math.inf

    def _run(self) -> None:
        next_save = self._next_save = _time.monotonic() + self._save_interval
        condition_check = (
            SAVE_CONDITION_PERIOD if self._save_condition is not None else math.inf
        )
        next_condition = _time.monotonic() + condition_check
        while True:
            now = _time.monotonic()
            remaining_uptime = (
                self._max_uptime - self._session_uptime()
            ) / self._clock.get_time_scale()
            timeout = min(
                next_save - now,
                next_condition - now,
                remaining_uptime,
                RATE_SAMPLE_INTERVAL,
            )
            if self._controller.wait_for_state(
                lambda s: s.is_stopping,
                None if math.isinf(timeout) else max(timeout, 0.0),
            ):
                return
            self._sample_rate()
            now = _time.monotonic()
            if self._session_uptime() >= self._max_uptime:
                self._log(f"max uptime of {self._max_uptime:g} s reached: stopping")
                self._controller.shutdown()
                continue
            due = now >= next_save
            if now >= next_condition:
                next_condition = now + condition_check
                due = due or bool(self._save_condition and self._save_condition())
            if due:
                next_save = self._next_save = _time.monotonic() + self._save_interval
                self._save()
