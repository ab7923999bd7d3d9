"""Run callbacks every N seconds or every N steps (PAMIQ-Core's ``pamiq_core.utils.schedulers``).

A scheduler does nothing on its own: call :meth:`Scheduler.update` where time
passes or a step happens (an agent's ``step``, a trainer's loop), and it calls
its callbacks when its interval is up. Time is engine time
(:mod:`engine.time`), so a time interval follows the time scale and stands
still while the system is paused.

Schedulers are persistent components: an agent or trainer that owns one can
save and load it with its own state, so a resumed run keeps the schedule
instead of starting every interval afresh.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeAlias

from typing_extensions import override

from .. import time
from ..state.persistence import PersistentStateMixin

Callback: TypeAlias = Callable[[], None]
CallbackIterable: TypeAlias = Iterable[Callback]


class Scheduler(ABC, PersistentStateMixin):
    """Calls its callbacks, in registration order, whenever :meth:`is_available` holds.

    Args:
        callbacks: One callback, several, or None.

    Raises:
        TypeError: If a callback is not callable.
    """

    def __init__(self, callbacks: Callback | CallbackIterable | None = None) -> None:
        if callbacks is None:
            callbacks = []
        elif callable(callbacks):
            callbacks = [callbacks]
        self._callbacks: list[Callback] = []
        for callback in callbacks:
            self.register_callback(callback)

    def register_callback(self, callback: Callback) -> None:
        """Add a callback (called after those registered before it).

        Raises:
            TypeError: If ``callback`` is not callable.
        """
        if not callable(callback):
            raise TypeError(
                f"{type(self).__name__}: a callback must be callable, got {callback!r}"
            )
        self._callbacks.append(callback)

    def remove_callback(self, callback: Callback) -> None:
        """Remove a callback.

        Raises:
            ValueError: If it is not registered.
        """
        try:
            self._callbacks.remove(callback)
        except ValueError:
            raise ValueError(
                f"{type(self).__name__}: callback {callback!r} is not registered"
            ) from None

    @abstractmethod
    def is_available(self) -> bool:
        """Whether the interval is up, so the next :meth:`update` calls the callbacks."""

    def update(self) -> None:
        """Call the callbacks if :meth:`is_available`; call this regularly."""
        if self.is_available():
            self._run_callbacks()

    def _run_callbacks(self) -> None:
        for callback in self._callbacks:
            callback()

    def state_dict(self) -> dict[str, Any]:
        """The schedule's progress, as JSON-serialisable values."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from what :meth:`state_dict` returned."""

    @override
    def save_state(self, path: Path) -> None:
        """Write the schedule's progress to ``<path>.json``."""
        path.with_suffix(".json").write_text(json.dumps(self.state_dict()))

    @override
    def load_state(self, path: Path) -> None:
        """Read what :meth:`save_state` wrote."""
        self.load_state_dict(json.loads(path.with_suffix(".json").read_text()))


class TimeIntervalScheduler(Scheduler):
    """Calls its callbacks once more than ``interval`` engine seconds have passed.

    The interval counts from construction and then from each time the callbacks
    ran; an :meth:`update` that comes late does not shorten the next interval.

    Args:
        interval: Engine seconds between calls (0: on every update).
        callbacks: One callback, several, or None.

    Raises:
        ValueError: If ``interval`` is negative.
    """

    def __init__(
        self, interval: float, callbacks: Callback | CallbackIterable | None = None
    ) -> None:
        super().__init__(callbacks)
        if not interval >= 0:
            raise ValueError(
                f"TimeIntervalScheduler: interval must be >= 0 seconds, got {interval!r}"
            )
        self._interval = interval
        self._previous_available_time = time.time()

    @override
    def is_available(self) -> bool:
        return time.time() - self._previous_available_time > self._interval

    @override
    def update(self) -> None:
        now = time.time()
        if now - self._previous_available_time > self._interval:
            self._previous_available_time = now
            self._run_callbacks()

    @override
    def state_dict(self) -> dict[str, Any]:
        """The engine time at which the interval last started.

        Engine time is saved and loaded with the system, so the interval
        continues across a resume.
        """
        return {"previous_available_time": self._previous_available_time}

    @override
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._previous_available_time = float(state["previous_available_time"])


class StepIntervalScheduler(Scheduler):
    """Calls its callbacks on every ``interval``-th :meth:`update`.

    Args:
        interval: Updates between calls (1: on every update).
        callbacks: One callback, several, or None.

    Raises:
        ValueError: If ``interval`` is not a positive integer.
    """

    def __init__(
        self, interval: int, callbacks: Callback | CallbackIterable | None = None
    ) -> None:
        super().__init__(callbacks)
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(
                f"StepIntervalScheduler: interval must be an integer >= 1, got {interval!r}"
            )
        self._interval = interval
        self._steps_since_last_call = 0

    @override
    def is_available(self) -> bool:
        return self._steps_since_last_call >= self._interval

    @override
    def update(self) -> None:
        """Count one step; call the callbacks when it completes an interval."""
        self._steps_since_last_call += 1
        if self.is_available():
            self._steps_since_last_call = 0
            self._run_callbacks()

    @override
    def state_dict(self) -> dict[str, Any]:
        """The steps counted since the callbacks last ran."""
        return {"steps_since_last_call": self._steps_since_last_call}

    @override
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._steps_since_last_call = int(state["steps_since_last_call"])
