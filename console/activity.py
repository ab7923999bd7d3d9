"""Routine activity summed up: training runs per second, their mean duration, syncs per second.

Training runs and syncs happen many times a second; one log line each would
bury what an operator must notice (saves, loads, pauses, errors). The dashboard
shows them as rates in the trainers and models panels instead, from the last
:data:`WINDOW` seconds. Rates come from the status counters (``runs``, a
model's ``version``), so they stay right when a watcher loses events; mean
durations come from the events themselves.

A rate counts only the intervals between two snapshots of a running system
that no load crosses: a load sets the counters to the state's (back or
forward), a pause stops everything, so neither says how fast the run goes. A
load or a resume therefore shows the new pace at the next snapshot, not after
a whole window; a paused system's rates are 0, and a stopped one's are not
known ("-").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from engine.telemetry.events import (
    Event,
    ModelSynced,
    StateLoaded,
    TrainingRunFinished,
)
from engine.telemetry.status import SystemStatus

WINDOW = 10.0
"""Seconds the rates and means are taken over."""
LOAD_SLACK = 1.0
"""Seconds before a load's event that its counters may already show: the event
is published once the state is applied, and a snapshot can fall in between."""
_RUNNING = "active"
_STILL = frozenset({"paused", "pausing"})
_STOPPED = "stopped"


@dataclass(frozen=True)
class Rate:
    """How often something happened lately, and how long it took on average.

    Attributes:
        per_second: Occurrences per second over the window.
        mean_duration: Mean seconds each took (None if no event said).
    """

    per_second: float
    mean_duration: float | None


@dataclass(frozen=True)
class _Sample:
    """The counters of one snapshot."""

    time: float
    state: str
    runs: dict[str, int]
    versions: dict[str, int]

    def counts(self, kind: str) -> dict[str, int]:
        """Trainers' runs (``kind`` "trainer") or models' versions, by name."""
        return self.runs if kind == "trainer" else self.versions


class Activity:
    """Rates of training runs and syncs over a sliding window of snapshots.

    Args:
        window: Seconds to average over.
    """

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self._samples: deque[_Sample] = deque()
        self._loads: deque[float] = deque()
        self._durations: dict[tuple[str, str], deque[tuple[float, float]]] = {}

    def feed(self, status: SystemStatus, events: Iterable[Event]) -> None:
        """Take one snapshot (its time is the status's wall time) and its events."""
        now = status.wall_time
        last = self._samples[-1] if self._samples else None
        sample = _Sample(
            now,
            status.state,
            {name: t.runs for name, t in status.trainers.items()},
            {name: m.version for name, m in status.models.items()},
        )
        if last is not None and now <= last.time:
            # A run that is gone repeats its last status: no time has passed.
            self._samples[-1] = sample
        else:
            self._samples.append(sample)
        for event in events:
            if isinstance(event, TrainingRunFinished):
                self._took(("trainer", event.trainer), event.wall_time, event.duration)
            elif isinstance(event, ModelSynced):
                self._took(("model", event.model), event.wall_time, event.duration)
            elif isinstance(event, StateLoaded):
                self._loads.append(event.wall_time)
        cutoff = now - self.window
        # Keep one sample at or before the cutoff, so the window is always full.
        while len(self._samples) > 2 and self._samples[1].time <= cutoff:
            self._samples.popleft()
        while self._loads and self._loads[0] < cutoff - LOAD_SLACK:
            self._loads.popleft()
        for durations in self._durations.values():
            while durations and durations[0][0] < cutoff:
                durations.popleft()

    def _took(self, key: tuple[str, str], when: float, duration: float) -> None:
        self._durations.setdefault(key, deque()).append((when, duration))

    def _rate(self, kind: str, name: str) -> Rate | None:
        if not self._samples:
            return None
        last = self._samples[-1]
        if last.state == _STOPPED or name not in last.counts(kind):
            return None  # a stopped run goes at no pace
        durations = self._durations.get((kind, name))
        mean = sum(d for _, d in durations) / len(durations) if durations else None
        if last.state in _STILL:
            return Rate(0.0, mean)
        done = 0
        seconds = 0.0
        for before, after in pairwise(self._samples):
            if before.state != _RUNNING or after.state != _RUNNING:
                continue  # paused (or stopping) for some of it
            if any(before.time < t <= after.time + LOAD_SLACK for t in self._loads):
                continue  # a load set the counters
            counts = after.counts(kind)
            step = counts[name] - before.counts(kind).get(name, counts[name])
            if step < 0:
                continue  # set back by a load whose event was lost
            done += step
            seconds += after.time - before.time
        if seconds <= 0:
            return None
        return Rate(done / seconds, mean)

    def trainer(self, name: str) -> Rate | None:
        """Training runs per second and their mean duration (None until two
        snapshots of a running system, and once it stopped)."""
        return self._rate("trainer", name)

    def model(self, name: str) -> Rate | None:
        """Syncs per second and their mean duration (None until two snapshots
        of a running system, and once it stopped)."""
        return self._rate("model", name)
