"""The control thread's schedule: periodic saves, the save condition, the uptime limit.

The loop sleeps on the controller's condition variable until the next thing
is due, so a stop request ends it at once; between wake-ups it costs nothing.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable

from ..launch_config import LaunchConfig
from ..time import TimeController
from .control import Controller

RATE_SAMPLE_INTERVAL = 0.5
"""Seconds between two samples of the step count (keeps status rates fresh)."""

SAVE_CONDITION_PERIOD = 0.05
"""Seconds between two checks of ``LaunchConfig.save_state_condition``."""


class ControlLoop:
    """Runs until the system stops, doing what is due at each wake-up.

    Args:
        config: The launch settings (save interval, save condition, max uptime).
        controller: The control state machine (its stop ends the loop).
        clock: The engine clock (uptime is counted in engine seconds).
        session_uptime: Engine seconds since this session started.
        save: Writes a periodic state (reports its own failures).
        sample_rate: Records the step count for the step rate.
        log: Publishes an operator notice.
    """

    def __init__(
        self,
        config: LaunchConfig,
        controller: Controller,
        clock: TimeController,
        *,
        session_uptime: Callable[[], float],
        save: Callable[[], None],
        sample_rate: Callable[[], None],
        log: Callable[[str], None],
    ) -> None:
        self._config = config
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
        config = self._config
        next_save = self._next_save = _time.monotonic() + config.save_state_interval
        condition_check = (
            SAVE_CONDITION_PERIOD
            if config.save_state_condition is not None
            else math.inf
        )
        next_condition = _time.monotonic() + condition_check
        while True:
            now = _time.monotonic()
            remaining_uptime = (
                config.max_uptime - self._session_uptime()
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
            if self._session_uptime() >= config.max_uptime:
                self._log(f"max uptime of {config.max_uptime:g} s reached: stopping")
                self._controller.shutdown()
                continue
            due = now >= next_save
            if now >= next_condition:
                next_condition = now + condition_check
                due = due or bool(
                    config.save_state_condition and config.save_state_condition()
                )
            if due:
                next_save = self._next_save = (
                    _time.monotonic() + config.save_state_interval
                )
                self._save()
