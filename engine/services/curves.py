"""Learning curves: every metric's whole history in bounded memory.

A run keeps one :class:`CurveBook` (its services make it), fed by every
:class:`~engine.telemetry.events.Metric` event on the publishing thread. Each
metric's :class:`Series` holds at most ``capacity`` points; when it is full,
neighbouring points are merged in pairs (their mean) and from then on each
point stands for twice as many reports (its *stride*), so a curve over days
costs what a curve over minutes does and still spans the whole run.

Views do not keep their own history: a watcher asks the run for the curves it
shows and gets, per poll, only what changed (:meth:`CurveBook.updates`): the
points appended since its last poll, or the whole series again after a merge.
:class:`CurveView` applies them. So a dashboard attached late draws the run's
history from its start, in-process and over the socket alike.

A key is ``(source, name)``: the trainer's name or ``agent``, and the metric.
In config files and on screen it is written ``SOURCE/NAME``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..telemetry.events import Event, Metric

Key = tuple[str, str]
"""A curve's ``(source, name)``."""
DEFAULT_CAPACITY = 512
"""Points kept per curve (``[dashboard] plot_history``)."""
MAX_CURVES = 256
"""Curves a run keeps; metrics beyond that are not drawn (they still go to
``metrics.jsonl``), so a trainer that invents names cannot grow memory."""


def key_text(key: Key) -> str:
    """``SOURCE/NAME``, as configs and the dashboard write a curve."""
    return f"{key[0]}/{key[1]}"


def parse_key(text: str) -> Key | None:
    """The key ``SOURCE/NAME`` names (split at the first ``/``); None if malformed."""
    source, slash, name = text.partition("/")
    if not slash or not source or not name:
        return None
    return source, name


class Series:
    """One metric's bounded, downsampled history (not thread-safe: see :class:`CurveBook`).

    Args:
        capacity: Points kept (even, >= 4); full, pairs are merged.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(4, capacity + capacity % 2)
        self.points: list[tuple[float, float]] = []
        self.stride = 1
        """Reports each point stands for."""
        self.generation = 0
        """Merges so far: a view holding another generation needs every point again."""
        self.count = 0
        """Reports in all."""
        self.last = math.nan
        """The latest report's value."""
        self._pending = 0
        self._sum = 0.0

    def add(self, step: float, value: float) -> None:
        """Take one report (``step`` is the reporter's own step count)."""
        self.count += 1
        self.last = value
        self._pending += 1
        self._sum += value
        if self._pending < self.stride:
            return
        self.points.append((step, self._sum / self._pending))
        self._pending, self._sum = 0, 0.0
        if len(self.points) >= self.capacity:
            # Merge neighbours: half the points, each for twice the reports.
            pts = self.points
            self.points = [
                (pts[i + 1][0], (pts[i][1] + pts[i + 1][1]) / 2)
                for i in range(0, len(pts) - 1, 2)
            ]
            self.stride *= 2
            self.generation += 1

    def tail(self, last_step: float) -> tuple[float, float] | None:
        """The mean of the reports not yet in a point (None if there are none)."""
        if not self._pending:
            return None
        return (last_step, self._sum / self._pending)


@dataclass
class _Entry:
    series: Series
    last_step: float = 0.0


class CurveBook:
    """The curves of one run, recorded from its metric events (thread-safe).

    Args:
        capacity: Points kept per curve.
        max_curves: Curves kept; later new metrics are not recorded.
        plots: The curves the run's config asks to show first.
    """

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        max_curves: int = MAX_CURVES,
        plots: Sequence[Key] = (),
    ) -> None:
        self.capacity = capacity
        self.max_curves = max_curves
        self.plots: tuple[Key, ...] = tuple(plots)
        self.left_out = 0
        """Reports of metrics beyond ``max_curves`` (not recorded)."""
        self._lock = threading.Lock()
        self._entries: dict[Key, _Entry] = {}

    def record(self, event: Event) -> None:
        """An event-bus callback: take a metric's value, ignore anything else."""
        if not isinstance(event, Metric):
            return
        key = (event.source, event.name)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                if len(self._entries) >= self.max_curves:
                    self.left_out += 1
                    return
                entry = self._entries[key] = _Entry(Series(self.capacity))
            entry.series.add(event.step, event.value)
            entry.last_step = event.step

    def curve_keys(self) -> list[Key]:
        """Every recorded curve, in the order they first reported."""
        with self._lock:
            return list(self._entries)

    def curve(self, key: Key) -> Curve | None:
        """A copy of one curve as it is now (None if it never reported)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            s = entry.series
            return Curve(
                list(s.points), s.tail(entry.last_step), s.stride, s.count, s.last
            )

    def updates(
        self, wanted: Iterable[Key], cursor: dict[Key, tuple[int, int, int]]
    ) -> list[dict[str, Any]]:
        """What changed in the ``wanted`` curves since ``cursor`` (updated in place).

        ``cursor`` is the caller's own: per key, the generation, point count and
        report count it was last sent. An update (JSON-ready) carries the new
        points, or all of them with ``reset`` after a merge.
        """
        out = []
        with self._lock:
            for key in wanted:
                entry = self._entries.get(key)
                if entry is None:
                    continue
                s = entry.series
                seen = cursor.get(key)
                if seen is not None and seen[2] == s.count:
                    continue  # nothing new
                reset = seen is None or seen[0] != s.generation
                start = 0 if reset or seen is None else seen[1]
                cursor[key] = (s.generation, len(s.points), s.count)
                tail = s.tail(entry.last_step)
                out.append(
                    {
                        "source": key[0],
                        "name": key[1],
                        "reset": reset,
                        "points": [list(p) for p in s.points[start:]],
                        "tail": None if tail is None else list(tail),
                        "stride": s.stride,
                        "count": s.count,
                        "last": s.last,
                    }
                )
        return out


@dataclass
class Curve:
    """A curve as a view holds it: the run's points for one metric.

    Attributes:
        points: ``(step, value)`` pairs, oldest first, each the mean of ``stride`` reports.
        tail: The mean of the newest reports not yet in a point.
        stride: Reports per point.
        count: Reports in all.
        last: The latest report's value.
    """

    points: list[tuple[float, float]] = field(default_factory=list)
    tail: tuple[float, float] | None = None
    stride: int = 1
    count: int = 0
    last: float = math.nan

    def values(self) -> list[float]:
        """Every value to draw, the tail last."""
        values = [v for _, v in self.points]
        if self.tail is not None:
            values.append(self.tail[1])
        return values

    def steps(self) -> tuple[float, float] | None:
        """The first and last step drawn (None when empty)."""
        steps = [s for s, _ in self.points]
        if self.tail is not None:
            steps.append(self.tail[0])
        return (steps[0], steps[-1]) if steps else None


class CurveView:
    """The curves a view shows, kept current by the updates of :meth:`CurveBook.updates`."""

    def __init__(self) -> None:
        self.curves: dict[Key, Curve] = {}

    def apply(self, updates: Iterable[Mapping[str, Any]]) -> bool:
        """Apply updates (as sent over the socket); whether anything changed."""
        changed = False
        for update in updates:
            try:
                key = (str(update["source"]), str(update["name"]))
                points = [(float(s), float(v)) for s, v in update["points"]]
                tail = update.get("tail")
                curve = self.curves.setdefault(key, Curve())
                if update.get("reset"):
                    curve.points = points
                else:
                    curve.points.extend(points)
                curve.tail = None if tail is None else (float(tail[0]), float(tail[1]))
                curve.stride = int(update.get("stride", 1))
                curve.count = int(update.get("count", len(curve.points)))
                curve.last = float(update.get("last", math.nan))
            except (KeyError, TypeError, ValueError):
                continue  # a malformed update is skipped, not fatal to the view
            changed = True
        return changed
