"""Routine activity summed up: training runs per second, their mean duration, syncs per second.

Training runs and syncs happen many times a second; one log line each would
bury what an operator must notice (saves, loads, pauses, errors). The dashboard
shows them as rates in the trainers and models panels instead, from the last
:data:`WINDOW` seconds. Rates come from the status counters (``runs``, a
model's ``version``), so they stay right when a watcher loses events; mean
durations come from the events themselves.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from engine.telemetry.events import Event, ModelSynced, TrainingRunFinished
from engine.telemetry.status import SystemStatus

WINDOW = 10.0
"""Seconds the rates and means are taken over."""


@dataclass(frozen=True)
class Rate:
    """How often something happened lately, and how long it took on average.

    Attributes:
        per_second: Occurrences per second over the window.
        mean_duration: Mean seconds each took (None if no event said).
    """

    per_second: float
    mean_duration: float | None


class Activity:
    """Rates of training runs and syncs over a sliding window of snapshots.

    Args:
        window: Seconds to average over.
    """

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self._samples: deque[tuple[float, dict[str, int], dict[str, int]]] = deque()
        self._durations: dict[tuple[str, str], deque[tuple[float, float]]] = {}

    def feed(self, status: SystemStatus, events: Iterable[Event]) -> None:
        """Take one snapshot (its time is the status's wall time) and its events."""
        now = status.wall_time
        self._samples.append(
            (
                now,
                {name: t.runs for name, t in status.trainers.items()},
                {name: m.version for name, m in status.models.items()},
            )
        )
        for event in events:
            if isinstance(event, TrainingRunFinished):
                self._took(("trainer", event.trainer), event.wall_time, event.duration)
            elif isinstance(event, ModelSynced):
                self._took(("model", event.model), event.wall_time, event.duration)
        cutoff = now - self.window
        # Keep one sample at or before the cutoff, so the window is always full.
        while len(self._samples) > 2 and self._samples[1][0] <= cutoff:
            self._samples.popleft()
        for durations in self._durations.values():
            while durations and durations[0][0] < cutoff:
                durations.popleft()

    def _took(self, key: tuple[str, str], when: float, duration: float) -> None:
        self._durations.setdefault(key, deque()).append((when, duration))

    def _rate(self, index: int, name: str, kind: str) -> Rate | None:
        if len(self._samples) < 2:
            return None
        first, last = self._samples[0], self._samples[-1]
        seconds = last[0] - first[0]
        if seconds <= 0 or name not in last[index]:
            return None
        done = last[index][name] - first[index].get(name, last[index][name])
        durations = self._durations.get((kind, name))
        mean = sum(d for _, d in durations) / len(durations) if durations else None
        # A load can set a counter back: that is not negative activity.
        return Rate(max(0, done) / seconds, mean)

    def trainer(self, name: str) -> Rate | None:
        """Training runs per second and their mean duration (None until two snapshots)."""
        return self._rate(1, name, "trainer")

    def model(self, name: str) -> Rate | None:
        """Syncs per second and their mean duration (None until two snapshots)."""
        return self._rate(2, name, "model")
