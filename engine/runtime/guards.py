"""Guards: catch a diverging trainer, a stalled agent and a trainer that never trains.

Three guards watch every run, with defaults that never stop a healthy one
(``LaunchConfig.guards``, a config's ``[guards]`` table):

* **non_finite**: a trainer's gradients (checked before each optimizer step of
  a :class:`~trainers.torch.TorchTrainer`, which asks
  :meth:`Guards.non_finite_step`), its reported metrics (a NaN loss) or a torch
  model's parameters (checked after each training run) are not finite. The bad step is skipped where it can be (gradients), then the guard
  does what ``non_finite`` says: ``skip`` (go on, skipping each such step),
  ``pause`` the run (default), ``stop`` it (the run ends with an error, so a
  headless run exits non-zero), ``alert`` only, or nothing (``off``: no
  check at all). The newest state saved
  before the first non-finite value is kept by retention from then on.
* **agent_stalled**: the run is active and the agent has not stepped for
  ``agent_stall_seconds``.
* **untrainable**: a trainer has not been trainable for ``untrainable_minutes``
  of active time.

Each raises an :class:`~engine.telemetry.events.Alert` (and another, ``cleared``,
when it is over) and is listed in ``SystemStatus.alerts`` while it holds.
"""

from __future__ import annotations

import math
import threading
import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..telemetry.events import Alert, Event, EventBus, Metric, TrainingRunFinished

NON_FINITE_ACTIONS = ("skip", "pause", "stop", "alert", "off")
"""What the non-finite guard may do."""
REPEAT_INTERVAL = 10.0
"""Seconds between two alerts of the same guard about the same source (the
count of what happened in between is in the next one)."""
CHECK_BUDGET = 0.01
"""Share of training time the parameter check may take (it is skipped for
runs beyond that, so a huge model never slows training by more)."""


class GuardSettingError(ValueError):
    """A guard setting with a value it cannot take.

    Attributes:
        key: The setting (``non_finite``...).
        problem: What is wrong, e.g. ``must be > 0 (inf: off), got 0``.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"guards.{key} {problem}")


class GuardTripped(RuntimeError):
    """A guard stopped the run (its ``non_finite`` action is ``stop``)."""


@dataclass(frozen=True)
class GuardSettings:
    """What the guards watch for and do.

    Attributes:
        non_finite: ``skip``, ``pause``, ``stop``, ``alert`` or ``off``.
        agent_stall_seconds: Alert when the active run's agent has not stepped
            for this long (inf: never).
        untrainable_minutes: Alert when a trainer has not been trainable for
            this many minutes of active time (inf: never).
    """

    non_finite: str = "pause"
    agent_stall_seconds: float = 60.0
    untrainable_minutes: float = 30.0

    def __post_init__(self) -> None:
        if self.non_finite not in NON_FINITE_ACTIONS:
            raise GuardSettingError(
                "non_finite",
                f"must be one of {', '.join(NON_FINITE_ACTIONS)}, got {self.non_finite!r}",
            )
        for name in ("agent_stall_seconds", "untrainable_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise GuardSettingError(name, f"must be a number, got {value!r}")
            if math.isnan(value) or value <= 0:
                raise GuardSettingError(name, f"must be > 0 (inf: off), got {value}")

    @classmethod
    def from_value(
        cls, value: GuardSettings | Mapping[str, Any] | None
    ) -> GuardSettings:
        """Settings from themselves, a mapping of their fields, or None (defaults).

        Raises:
            GuardSettingError: For an unknown key or a bad value (one line).
        """
        if value is None:
            return cls()
        if isinstance(value, GuardSettings):
            return value
        if not isinstance(value, Mapping):
            raise GuardSettingError(
                "", f"must be GuardSettings or a mapping, got {value!r}"
            )
        known = sorted(cls.__dataclass_fields__)
        for key in value:
            if key not in known:
                raise GuardSettingError(
                    str(key), f"is not a guard setting (known: {', '.join(known)})"
                )
        return cls(**dict(value))


@dataclass
class _Held:
    alert: Alert
    last_sent: float
    repeats: int = 0


class Guards:
    """The guards of one system.

    Args:
        settings: What to watch for and do.
        events: Where alerts go (metric and training-run events are read from it).
        pause: Pauses the system (called on a thread of its own).
        stop: Stops the system with an error.
        protect_newest_state: Keeps the newest saved state from retention.
        models: The system's training models (their parameters are checked).
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        settings: GuardSettings,
        events: EventBus,
        *,
        pause: Callable[[], None],
        stop: Callable[[BaseException], None],
        protect_newest_state: Callable[[], str | None],
        models: Mapping[str, Any],
        clock: Callable[[], float] = _time.monotonic,
    ) -> None:
        self.settings = settings
        self._events = events
        self._pause = pause
        self._stop = stop
        self._protect = protect_newest_state
        self._models = models
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], _Held] = {}
        self._acted = False
        self.parameters_bad = False
        """A model's parameters were found not finite (its final save is skipped)."""
        self.skipped_steps = 0
        """Optimizer steps skipped for non-finite gradients."""
        self._check_time = 0.0
        self._run_time = 0.0
        self._last_steps: int | None = None
        self._last_progress = clock()
        self._untrainable_since: dict[str, float] = {}
        self._last_watch: float | None = None
        self._remove = events.add_callback(self._on_event)

    def close(self) -> None:
        """Stop reading events."""
        self._remove()

    # -- what is held -----------------------------------------------------------

    @property
    def alerts(self) -> tuple[str, ...]:
        """The alerts that hold now, oldest first."""
        with self._lock:
            return tuple(h.alert.message for h in self._held.values())

    def _raise(
        self, guard: str, source: str, message: str, action: str = "none"
    ) -> None:
        now = self._clock()
        key = (guard, source)
        with self._lock:
            held = self._held.get(key)
            if held is not None:
                held.repeats += 1
                if now - held.last_sent < REPEAT_INTERVAL:
                    return
                repeats, held.repeats, held.last_sent = held.repeats, 0, now
                message = f"{message} ({repeats} times in {REPEAT_INTERVAL:g} s)"
            alert = Alert(guard=guard, source=source, message=message, action=action)
            if held is None:
                self._held[key] = _Held(alert, now)
            else:
                held.alert = alert
        self._events.publish(alert)

    def _clear(self, guard: str, source: str, message: str) -> None:
        with self._lock:
            held = self._held.pop((guard, source), None)
        if held is not None:
            self._events.publish(
                Alert(guard=guard, source=source, message=message, cleared=True)
            )

    # -- non-finite values --------------------------------------------------------

    def non_finite_step(self, trainer: str) -> bool:
        """A trainer's gradients are not finite before an optimizer step: whether
        to skip that step (the trainer then clears them, so the optimizer leaves
        the weights as they were).

        The ``non_finite`` action is taken; ``alert`` only reports, and the
        step is taken.
        """
        if self.settings.non_finite == "alert":
            self._non_finite(
                trainer, "non-finite gradients (the step is taken)", "metric"
            )
            return False
        self.skipped_steps += 1
        self._non_finite(
            trainer, "non-finite gradients: the optimizer step was skipped", "gradients"
        )
        return True

    def _non_finite(self, source: str, what: str, seen_in: str) -> None:
        """Take the ``non_finite`` action for what was seen in ``gradients``
        (the step is skipped already), a ``metric`` or ``parameters``."""
        action = self.settings.non_finite
        if action == "skip" and seen_in == "metric":
            # reported after the step: a torch trainer's step was skipped for its
            # gradients already, another trainer's cannot be
            action = "alert"
        elif action == "skip" and seen_in == "parameters":
            action = "pause"  # every later step would be lost too: hold it for a look
        if action == "alert":
            done = "none"
        elif action == "skip":
            done = "skipped"
        else:
            done = "paused" if action == "pause" else "stopped"
        first = False
        with self._lock:
            if not self._acted:
                self._acted = first = True
        if first:
            kept = self._protect()
            if kept:
                what += f"; retention keeps {kept}, saved before"
        self._raise("non_finite", source, f"{source}: {what}", done)
        if not first and action in ("pause", "stop"):
            return  # already paused or stopping for it
        if action == "pause":
            threading.Thread(
                target=self._pause, name="guard-pause", daemon=True
            ).start()
        elif action == "stop":
            self._stop(GuardTripped(f"{source}: {what}"))

    @property
    def checks_non_finite(self) -> bool:
        """Whether non-finite values are looked for at all."""
        return self.settings.non_finite != "off"

    def _on_event(self, event: Event) -> None:
        if not self.checks_non_finite:
            return
        if isinstance(event, Metric):
            if event.source != "agent" and not math.isfinite(event.value):
                self._non_finite(
                    event.source,
                    f"metric {event.name} = {event.value} at step {event.step}",
                    "metric",
                )
        elif isinstance(event, TrainingRunFinished):
            self._check_parameters(event.trainer, event.duration)

    def _check_parameters(self, trainer: str, run_time: float) -> None:
        self._run_time += run_time
        if self.parameters_bad or self._check_time > CHECK_BUDGET * self._run_time:
            return
        started = _time.perf_counter()
        try:
            for name, model in self._models.items():
                finite = getattr(model, "parameters_finite", None)
                if finite is not None and not finite():
                    self.parameters_bad = True
                    self._non_finite(
                        trainer,
                        f"model {name}'s parameters are not finite after a training run",
                        "parameters",
                    )
                    return
        finally:
            self._check_time += _time.perf_counter() - started

    # -- progress --------------------------------------------------------------------

    def watch(
        self, active: bool, steps: int, trainable: Mapping[str, bool | None]
    ) -> None:
        """Check progress (the control thread calls this about twice a second).

        Args:
            active: Whether the run is active (time paused is not counted).
            steps: The agent's steps so far.
            trainable: Each trainer's last trainability (None: not known yet).
        """
        now = self._clock()
        elapsed = 0.0 if self._last_watch is None else now - self._last_watch
        self._last_watch = now
        if not active:
            self._last_progress = now
            self._last_steps = steps
            return
        if steps != self._last_steps:
            self._last_steps = steps
            self._last_progress = now
            self._clear("agent_stalled", "agent", "the agent steps again")
        else:
            stalled = now - self._last_progress
            if stalled >= self.settings.agent_stall_seconds:
                self._raise(
                    "agent_stalled",
                    "agent",
                    f"the agent has not stepped for {stalled:.0f} s while active",
                )
        limit = self.settings.untrainable_minutes * 60
        for name, can in trainable.items():
            if can is False:
                waited = self._untrainable_since.get(name, 0.0) + elapsed
                self._untrainable_since[name] = waited
                if waited >= limit:
                    self._raise(
                        "untrainable",
                        name,
                        f"trainer {name} has not been trainable for "
                        f"{waited / 60:.0f} min of active time",
                    )
            elif can is True:
                self._untrainable_since.pop(name, None)
                self._clear("untrainable", name, f"trainer {name} trains again")
