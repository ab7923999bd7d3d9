"""A scaled, pausable clock (PAMIQ-Core's ``pamiq_core.time``).

Every engine component reads time through this module, so the whole system can
run faster or slower than real time (``set_time_scale``) and stands still while
it is paused. ``fixed_*`` are the real clocks, untouched by scale and pause.

Reads take no lock: writers publish a fresh immutable anchor tuple per clock,
and a reader works from whichever tuple it loaded.
"""

from __future__ import annotations

import json
import math
import threading
import time as _time
from pathlib import Path

from typing_extensions import override

from .state.persistence import Commit, PersistentStateMixin
from .thread import worker_binding

fixed_time = _time.time
fixed_perf_counter = _time.perf_counter
fixed_monotonic = _time.monotonic
fixed_sleep = _time.sleep

# (raw value at the anchor, scaled value at the anchor, scale, paused)
_Anchor = tuple[float, float, float, bool]


class InvalidTimeScaleError(ValueError, AssertionError):
    """A time scale that is not a finite number above zero.

    Also an :class:`AssertionError`, which is what PAMIQ-Core's
    ``set_time_scale`` raises, so programs that catch that keep working.
    """


def check_time_scale(time_scale: float, where: str = "time_scale") -> float:
    """Return ``time_scale`` as a float if it is finite and > 0.

    Args:
        time_scale: The value to check.
        where: What it is, for the message (``LaunchConfig.time_scale``).

    Raises:
        InvalidTimeScaleError: If it is not.
    """
    try:
        value = float(time_scale)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value < math.inf:
        raise InvalidTimeScaleError(
            f"{where} must be finite and > 0, got {time_scale!r}"
        )
    return value


class TimeController(PersistentStateMixin):
    """The clock behind the module-level functions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scale = 1.0
        self._paused = False
        self._time_anchor: _Anchor = (_time.time(), _time.time(), 1.0, False)
        now_perf = _time.perf_counter()
        self._perf_anchor: _Anchor = (now_perf, now_perf, 1.0, False)
        now_mono = _time.monotonic()
        self._mono_anchor: _Anchor = (now_mono, now_mono, 1.0, False)
        self._epoch = 0
        # One per sleep under way: set when the clock is set or rescaled (see sleep).
        self._sleepers: set[threading.Event] = set()

    @staticmethod
    def _read(anchor: _Anchor, raw_now: float) -> float:
        raw, scaled, scale, paused = anchor
        if paused:
            return scaled
        return scaled + (raw_now - raw) * scale

    def _reanchor(self, *, scale: float, paused: bool) -> None:
        # Caller holds the lock.
        t, p, m = _time.time(), _time.perf_counter(), _time.monotonic()
        self._time_anchor = (t, self._read(self._time_anchor, t), scale, paused)
        self._perf_anchor = (p, self._read(self._perf_anchor, p), scale, paused)
        self._mono_anchor = (m, self._read(self._mono_anchor, m), scale, paused)
        self._scale = scale
        self._paused = paused

    def _wake_sleepers(self) -> None:
        # Caller holds the lock.
        for wake in self._sleepers:
            wake.set()

    def generation(self) -> int:
        """How many times the clock has been set (a state loaded).

        Readings of different generations are not comparable: a deadline taken
        before a set means nothing on the clock after it.
        """
        return self._epoch

    def time(self) -> float:
        """Scaled wall-clock time in seconds since the epoch."""
        return self._read(self._time_anchor, _time.time())

    def perf_counter(self) -> float:
        """Scaled high-resolution counter in seconds."""
        return self._read(self._perf_anchor, _time.perf_counter())

    def monotonic(self) -> float:
        """Scaled monotonic clock in seconds."""
        return self._read(self._mono_anchor, _time.monotonic())

    def get_time_scale(self) -> float:
        """Return how many scaled seconds pass per real second."""
        return self._scale

    def set_time_scale(self, time_scale: float) -> None:
        """Set how many scaled seconds pass per real second.

        Raises:
            InvalidTimeScaleError: If ``time_scale`` is not finite and positive
                (a :class:`ValueError`, and an :class:`AssertionError` as in
                PAMIQ-Core).
        """
        scale = check_time_scale(time_scale)
        with self._lock:
            self._reanchor(scale=scale, paused=self._paused)
            self._wake_sleepers()

    def is_paused(self) -> bool:
        """Return whether the clock is paused."""
        return self._paused

    def pause(self) -> None:
        """Stop the scaled clocks (idempotent)."""
        with self._lock:
            if not self._paused:
                self._reanchor(scale=self._scale, paused=True)

    def resume(self) -> None:
        """Restart the scaled clocks where they stopped (idempotent)."""
        with self._lock:
            if self._paused:
                self._reanchor(scale=self._scale, paused=False)

    def sleep(self, secs: float) -> None:
        """Sleep ``secs`` of scaled time.

        On an engine worker thread (inference or training) the sleep is a
        pause point: a pause request wakes it, it waits out the pause (scaled
        time stands still meanwhile) and then sleeps what remained; a shutdown
        request unwinds it.

        A new time scale applies to a sleep under way at once, and a sleep
        across a set of the clock (a loaded state) sleeps what was left of it.

        On any other thread it behaves as PAMIQ-Core's: called while the
        clock is paused it returns at once, and a pause that starts during the
        sleep ends it when its real duration is up (scaled time does not pass
        while paused, so it would never be up otherwise). A thread that loops
        on ``sleep`` therefore spins while the system is paused; have it check
        :func:`is_paused` if that matters.
        """
        if secs <= 0:
            return
        deadline = self.perf_counter() + secs
        epoch = self._epoch
        remaining = secs
        worker = worker_binding.current_worker()
        # Set by a set or a new scale: the real time left is then recomputed.
        wake = threading.Event()
        with self._lock:
            self._sleepers.add(wake)
        try:
            while True:
                wake.clear()  # before the readings it guards
                now = self.perf_counter()
                if self._epoch != epoch:
                    # The clock was set (a state was loaded): keep what was left to sleep.
                    deadline, epoch = now + remaining, self._epoch
                remaining = deadline - now
                if remaining <= 0:
                    return
                real = remaining / self._scale
                if worker is None:
                    if self._paused:
                        return
                    wake.wait(real)
                elif worker.wait_for(wake, real):
                    worker.pause_point()
        finally:
            with self._lock:
                self._sleepers.discard(wake)

    def state_dict(self) -> dict[str, float]:
        """Return the scaled clock readings and scale."""
        return {
            "time": self.time(),
            "perf_counter": self.perf_counter(),
            "monotonic": self.monotonic(),
            "time_scale": self._scale,
        }

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Continue the scaled clocks from readings made by :meth:`state_dict`."""
        with self._lock:
            t, p, m = _time.time(), _time.perf_counter(), _time.monotonic()
            scale = float(state["time_scale"])
            self._time_anchor = (t, float(state["time"]), scale, self._paused)
            self._perf_anchor = (p, float(state["perf_counter"]), scale, self._paused)
            self._mono_anchor = (m, float(state["monotonic"]), scale, self._paused)
            self._scale = scale
            self._epoch += 1
            self._wake_sleepers()

    @override
    def save_state(self, path: Path) -> None:
        """Write the clock readings to ``path`` as ``<path>.json``."""
        path.with_suffix(".json").write_text(json.dumps(self.state_dict()))

    @override
    def load_state(self, path: Path) -> None:
        """Read clock readings written by :meth:`save_state`."""
        self.prepare_load(path)()

    @override
    def prepare_load(self, path: Path) -> Commit:
        """Read and check clock readings; the commit continues the clocks from them.

        Raises:
            ValueError: If a reading is missing or not a finite number, or the
                scale is not above zero (the agent's sleeps would fail on it).
        """
        state = json.loads(path.with_suffix(".json").read_text())
        if not isinstance(state, dict):
            raise ValueError("clock state is not a JSON object")
        missing = {"time", "perf_counter", "monotonic", "time_scale"} - set(state)
        if missing:
            raise ValueError(f"clock state lacks {sorted(missing)}")
        for key in ("time", "perf_counter", "monotonic", "time_scale"):
            value = state[key]
            if type(value) not in (int, float) or not math.isfinite(value):
                raise ValueError(f"clock state has an impossible {key!r} ({value!r})")
        if state["time_scale"] <= 0:
            raise ValueError(
                f"clock state has an impossible 'time_scale' ({state['time_scale']!r})"
            )
        return lambda: self.load_state_dict(state)


_time_controller = TimeController()


def get_global_time_controller() -> TimeController:
    """Return the process-wide clock."""
    return _time_controller


time = _time_controller.time
perf_counter = _time_controller.perf_counter
monotonic = _time_controller.monotonic
sleep = _time_controller.sleep
get_time_scale = _time_controller.get_time_scale
set_time_scale = _time_controller.set_time_scale
is_paused = _time_controller.is_paused
generation = _time_controller.generation
pause = _time_controller.pause
resume = _time_controller.resume
state_dict = _time_controller.state_dict
load_state_dict = _time_controller.load_state_dict
