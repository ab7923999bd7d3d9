"""Keep a loop at a fixed interval by scheduling against deadlines.

The next deadline is the previous deadline plus the interval, never "now plus
the interval", so time spent in the step or oversleeping does not accumulate
into drift. A loop that falls far behind (more than ``max_lag_intervals``, for
example after a debugger stop) skips the ticks it missed instead of bursting,
and stays on its original grid.

A schedule belongs to the clock it was made on: when the clock is set (a state
is loaded, which sets it back by the state's age), the next wait starts a fresh
schedule, even if the set came in the middle of a wait.
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod

from typing_extensions import override

from .. import time


class IntervalAdjustor(ABC):
    """Waits until the next tick of a fixed-interval schedule.

    Args:
        interval: Seconds (engine time) between ticks.
        offset: Seconds taken off the first interval only.
        max_lag_intervals: How many intervals a loop may fall behind and still
            catch up with back-to-back steps before the schedule restarts.
    """

    _last_reset_time: float = -math.inf
    _generation: int = -1

    def __init__(
        self, interval: float, offset: float = 0.0, max_lag_intervals: float = 10.0
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0, got {interval!r}")
        self._interval = interval
        self._offset = offset
        self._time_to_wait = interval - offset
        self._max_lag = max_lag_intervals * interval
        self._deadline = -math.inf
        self._last_tick = -math.inf

    @property
    def interval(self) -> float:
        """Seconds between ticks."""
        return self._interval

    @property
    def deadline(self) -> float:
        """Engine time (``perf_counter``) of the next tick."""
        return self._deadline

    def reset(self) -> float:
        """Start a new schedule now; return the start time."""
        self._generation = time.generation()
        now = time.perf_counter()
        self._last_reset_time = now
        self._last_tick = now
        self._deadline = now + self._time_to_wait
        return now

    def schedule_is_stale(self) -> bool:
        """Whether the clock was set since the schedule started (its deadline means nothing).

        Also when the deadline lies further ahead than any schedule puts it (a
        clock set back that did not say so).
        """
        return self._generation != time.generation() or (
            self._deadline - time.perf_counter()
            > 2 * self._interval + abs(self._offset)
        )

    @abstractmethod
    def adjust_impl(self) -> None:
        """Wait until :attr:`deadline` (it may return early if :meth:`schedule_is_stale`)."""

    def finish(self) -> None:
        """Undo anything the waits changed (called when the interaction tears down)."""

    def adjust(self) -> float:
        """Wait for the next tick; return seconds since the previous one."""
        if self._deadline == -math.inf or self.schedule_is_stale():
            self.reset()
        self.adjust_impl()
        while self.schedule_is_stale():
            # The clock was set during the wait (a state was loaded): the deadline
            # was on the old clock, so wait an interval on a fresh schedule instead.
            self.reset()
            self.adjust_impl()
        now = time.perf_counter()
        elapsed = now - self._last_tick
        self._last_tick = now
        self._last_reset_time = now
        self._deadline += self._interval
        if now - self._deadline > self._max_lag:
            # Skip the ticks lost in a long stall but stay on the original grid.
            self._deadline += (
                math.ceil((now - self._deadline) / self._interval) * self._interval
            )
        return elapsed


class SleepIntervalAdjustor(IntervalAdjustor):
    """Sleeps (in engine time, so it follows scale and pause) until the deadline.

    The sleep has two stages. A thread that wakes from a sleep must take the
    GIL back, and when another thread is running Python (a trainer's loop) it
    gets it only after the GIL switch interval (0.5 ms by default) has passed
    and that thread has been made to drop it: every tick would start that much
    late, and by a varying amount. So the adjustor sleeps until
    :attr:`final_stage` before the deadline, then lowers the switch interval to
    :attr:`wake_switch_interval` for the last stretch and the step that
    follows, and restores it before its next long sleep. The process's switch
    interval stays the configured one except for that short window around
    each tick.

    Attributes:
        final_stage: Seconds (real time) before a deadline from which the
            wake-up is made prompt.
        wake_switch_interval: The switch interval in that window (None: leave
            the switch interval alone).
    """

    final_stage: float = 0.002
    wake_switch_interval: float | None = 0.00005

    _restore_switch_interval: float | None = None

    @override
    def finish(self) -> None:
        restore = self._restore_switch_interval
        if restore is not None:
            self._restore_switch_interval = None
            sys.setswitchinterval(restore)

    @override
    def adjust_impl(self) -> None:
        # The step ran with the prompt interval: back to the configured one.
        self.finish()
        remaining = self._deadline - time.perf_counter()
        if remaining <= 0:
            return
        prompt = self.wake_switch_interval
        scale = time.get_time_scale()
        final = self.final_stage * scale
        if prompt is not None and remaining > final:
            time.sleep(remaining - final)
            if self.schedule_is_stale():
                return  # the clock was set during the sleep: adjust() starts over
            remaining = self._deadline - time.perf_counter()
        current = sys.getswitchinterval()
        if prompt is not None and current > prompt:
            self._restore_switch_interval = current
            sys.setswitchinterval(prompt)
        if remaining > 0:
            try:
                time.sleep(remaining)
            except BaseException:
                self.finish()  # a stop request unwinds the sleep: do not leave it low
                raise
