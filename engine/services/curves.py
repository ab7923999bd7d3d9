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

The curves are part of the run's state: a save writes them (``curves.json``
in the state) and a load or ``--resume`` puts that state's history back, so
the curves go on from the state's point instead of starting again, and a load
of an older state shows that state's history. Each curve carries
:class:`Mark` s at the report where something happened to it: a load or
resume, and a sharp drop of a watched curve (:mod:`engine.services.drops`),
which is also published as a ``notice`` :class:`~engine.telemetry.events.LogMessage`.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
import sys
import threading
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing_extensions import override

from ..state.persistence import Commit, PersistentStateMixin
from ..telemetry.events import Event, LogMessage, Metric
from .drops import DropWatch

Key = tuple[str, str]
"""A curve's ``(source, name)``."""
DEFAULT_CAPACITY = 512
"""Points kept per curve (``[dashboard] plot_history``)."""
MAX_CURVES = 256
"""Curves a run keeps; metrics beyond that are not drawn (they still go to
``metrics.jsonl``), so a trainer that invents names cannot grow memory."""
MAX_MARKS = 64
"""Marks a curve keeps (the oldest go first)."""
HISTORY_FORMAT = "pamiq-console curves"
HISTORY_VERSION = 1
LOAD, DROP = "load", "drop"
"""The kinds of :class:`Mark`."""


def key_text(key: Key) -> str:
    """``SOURCE/NAME``, as configs and the dashboard write a curve."""
    return f"{key[0]}/{key[1]}"


def parse_key(text: str) -> Key | None:
    """The key ``SOURCE/NAME`` names (split at the first ``/``); None if malformed."""
    source, slash, name = text.partition("/")
    if not slash or not source or not name:
        return None
    return source, name


_AGENT_SOURCE = re.compile(r"(?:actor(\d+)\.)?agent(?:\..+)?")


def is_agent_source(source: str) -> bool:
    """Whether metrics from ``source`` are an agent's: ``agent``, ``agent.CHILD``,
    or on Ray ``actorN.agent`` and ``actorN.agent.CHILD`` (actor N's agent)."""
    return _AGENT_SOURCE.fullmatch(source) is not None


def agent_actor(source: str) -> int | None:
    """N for an agent's source on actor N (``actorN.agent...``); else None."""
    match = _AGENT_SOURCE.fullmatch(source)
    return None if match is None or match[1] is None else int(match[1])


@dataclass(frozen=True)
class Mark:
    """Something that happened to a curve, drawn where it happened.

    Attributes:
        at: Reports the curve held at that moment (its x: ``at / count`` of the way).
        kind: :data:`LOAD` (a load or resume) or :data:`DROP` (a sharp drop).
        text: What happened, e.g. ``resumed from 20250101-120000.state`` or
            ``fell 500 -> 126``.
    """

    at: int
    kind: str
    text: str

    def to_json(self) -> list[Any]:
        """``[at, kind, text]``."""
        return [self.at, self.kind, self.text]

    @classmethod
    def from_json(cls, value: Any) -> Mark:
        """The mark :meth:`to_json` wrote.

        Raises:
            ValueError: If ``value`` is not ``[int, str, str]``.
        """
        if (
            not isinstance(value, list | tuple)
            or len(value) != 3
            or type(value[0]) is not int
            or not all(isinstance(v, str) for v in value[1:])
        ):
            raise ValueError(f"a mark must be [int, str, str], got {value!r}")
        return cls(value[0], value[1], value[2])


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
        self.marks: list[Mark] = []
        """What happened to the curve, oldest first (at most :data:`MAX_MARKS`)."""
        self.version = 0
        """Changes so far (reports and marks): a view that saw this version has it all."""
        self._pending = 0
        self._sum = 0.0

    def add(self, step: float, value: float) -> None:
        """Take one report (``step`` is the reporter's own step count)."""
        self.count += 1
        self.version += 1
        self.last = value
        self._pending += 1
        self._sum += value
        if self._pending < self.stride:
            return
        self.points.append((step, self._sum / self._pending))
        self._pending, self._sum = 0, 0.0
        self._fit()

    def _fit(self) -> None:
        while len(self.points) >= self.capacity:
            # Merge neighbours: half the points, each for twice the reports.
            pts = self.points
            self.points = [
                (pts[i + 1][0], (pts[i][1] + pts[i + 1][1]) / 2)
                for i in range(0, len(pts) - 1, 2)
            ]
            self.stride *= 2
            self.generation += 1

    def mark(self, kind: str, text: str, ago: int = 0) -> None:
        """Mark the curve where it is now (after its latest report), or ``ago`` reports back."""
        self.marks.append(Mark(max(0, self.count - ago), kind, text))
        del self.marks[:-MAX_MARKS]
        self.version += 1

    def to_json(self, last_step: float) -> dict[str, Any]:
        """Everything needed to go on from here, JSON-ready (see :meth:`from_json`)."""
        return {
            # Packed: a save holds the run still while it writes, and floats
            # as JSON text took 5x as long (256 full curves: ~400 ms, not ~75).
            "points": _pack(itertools.chain.from_iterable(self.points)),
            "stride": self.stride,
            "count": self.count,
            "last": self.last,
            "pending": self._pending,
            "sum": self._sum,
            "last_step": last_step,
            "marks": [m.to_json() for m in self.marks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], capacity: int) -> tuple[Series, float]:
        """The series :meth:`to_json` wrote (merged to fit ``capacity``), and its last step.

        Raises:
            ValueError: Naming what is malformed.
        """
        series = cls(capacity)
        try:
            flat = _unpack(data["points"])  # step, value, step, value...
            if len(flat) % 2:
                raise ValueError(f"{len(flat)} numbers for (step, value) points")
            series.points = list(zip(flat[::2], flat[1::2], strict=True))
            series.stride = _count(data["stride"], "stride", 1)
            series.count = _count(data["count"], "count", 0)
            series.last = _number(data["last"])
            series._pending = _count(data["pending"], "pending", 0)
            series._sum = _number(data["sum"])
            last_step = _number(data["last_step"])
            series.marks = [Mark.from_json(m) for m in data["marks"]][-MAX_MARKS:]
        except (KeyError, TypeError) as e:
            raise ValueError(f"malformed curve ({type(e).__name__}: {e})") from None
        if series._pending >= series.stride:
            raise ValueError(
                f"malformed curve ({series._pending} pending reports, "
                f"stride {series.stride})"
            )
        series._fit()
        return series, last_step

    def tail(self, last_step: float) -> tuple[float, float] | None:
        """The mean of the reports not yet in a point (None if there are none)."""
        if not self._pending:
            return None
        return (last_step, self._sum / self._pending)


def _pack(floats: Iterable[float]) -> str:
    """Floats as base64 of little-endian IEEE 754 doubles (NaN and inf included)."""
    packed = array("d", floats)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _unpack(text: Any) -> list[float]:
    """What :func:`_pack` wrote.

    Raises:
        TypeError: If ``text`` is not such a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected packed floats, got {type(text).__name__}")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as e:
        raise TypeError(f"packed floats are not base64 ({e})") from None
    if len(raw) % 8:
        raise TypeError(f"packed floats of {len(raw)} bytes, not a multiple of 8")
    unpacked = array("d")
    unpacked.frombytes(raw)
    if sys.byteorder == "big":
        unpacked.byteswap()
    return unpacked.tolist()


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _count(value: Any, what: str, least: int) -> int:
    if type(value) is not int or value < least:
        raise TypeError(f"{what} must be an int >= {least}, got {value!r}")
    return value


@dataclass
class _Entry:
    series: Series
    last_step: float = 0.0
    watch: DropWatch | None = None


class CurveBook(PersistentStateMixin):
    """The curves of one run, recorded from its metric events (thread-safe).

    It is also a component of the run's state (registered by the run's
    services as ``curves``, optional so that states without it still load):
    a save writes every curve, a load puts the state's curves in place of the
    run's and marks each where the load happened.

    Args:
        capacity: Points kept per curve.
        max_curves: Curves kept; later new metrics are not recorded.
        plots: The curves the run's config asks to show first; they are the
            ones watched for sharp drops (without any: the agent's).
        publish: Where the notice of a drop, and a warning about a curve
            history that cannot be read, are published (the run's event bus).
    """

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        max_curves: int = MAX_CURVES,
        plots: Sequence[Key] = (),
        publish: Callable[[Event], None] | None = None,
    ) -> None:
        self.capacity = capacity
        self.max_curves = max_curves
        self.plots: tuple[Key, ...] = tuple(plots)
        self.left_out = 0
        """Reports of metrics beyond ``max_curves`` (not recorded)."""
        self._publish = publish
        self._lock = threading.Lock()
        self._entries: dict[Key, _Entry] = {}
        self._recorded = False  # any metric in this process (else a load is a resume)

    def watched(self, key: Key) -> bool:
        """Whether sharp drops of this curve are marked and noted."""
        if self.plots:
            return key in self.plots
        return is_agent_source(key[0])

    def _new_entry(self, key: Key, series: Series) -> _Entry:
        watch = DropWatch(key[1]) if self.watched(key) else None
        if watch is not None:
            watch.seed((v for _, v in series.points), series.count)
        return _Entry(series, watch=watch)

    def record(self, event: Event) -> None:
        """An event-bus callback: take a metric's value, ignore anything else."""
        if not isinstance(event, Metric):
            return
        key = (event.source, event.name)
        with self._lock:
            self._recorded = True
            entry = self._entries.get(key)
            if entry is None:
                if len(self._entries) >= self.max_curves:
                    self.left_out += 1
                    return
                entry = self._entries[key] = self._new_entry(key, Series(self.capacity))
            entry.series.add(event.step, event.value)
            entry.last_step = event.step
            drop = None if entry.watch is None else entry.watch.add(event.value)
            if drop is not None:
                entry.series.mark(DROP, drop.describe(key[1]), ago=drop.ago)
        if drop is not None and self._publish is not None:
            # Outside the lock: the bus calls record() again with it.
            self._publish(
                LogMessage(level="notice", message=drop.describe(key_text(key)))
            )

    # -- as a part of the run's state --------------------------------------------

    @override
    def save_state(self, path: Path) -> None:
        """Write every curve to ``<path>.json`` (``curves.json`` in the state)."""
        with self._lock:
            curves = [
                {"source": k[0], "name": k[1], **e.series.to_json(e.last_step)}
                for k, e in self._entries.items()
            ]
        path.with_suffix(".json").write_text(
            json.dumps(
                {
                    "format": HISTORY_FORMAT,
                    "version": HISTORY_VERSION,
                    "curves": curves,
                }
            ),
            encoding="utf-8",
        )

    @override
    def load_state(self, path: Path) -> None:
        """Put the state's curves in place of these (see :meth:`prepare_load`)."""
        self.prepare_load(path)()

    @override
    def prepare_load(self, path: Path) -> Commit:
        """Read the state's curves; the commit puts them in place and marks the load.

        Never refuses a load: a state without curves (saved before they were
        saved, or without the console) keeps the run's curves, and one whose
        curves cannot be read does too, with a warning; either way the load is
        marked on them.
        """
        state = path.parent.name
        file = path.with_suffix(".json")
        try:
            loaded = self._read(file) if file.exists() else None
        except (OSError, ValueError) as e:
            self._warn(
                f"curves: cannot read the curve history in {file} ({e}); "
                "the curves go on from what they held"
            )
            loaded = None
        return lambda: self._install(state, loaded)

    def _warn(self, message: str) -> None:
        if self._publish is not None:
            self._publish(LogMessage(level="warning", message=message))

    def _read(self, file: Path) -> dict[Key, tuple[Series, float]]:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != HISTORY_FORMAT:
            raise ValueError("not a curve history")
        if data.get("version") != HISTORY_VERSION:
            raise ValueError(
                f"version {data.get('version')!r}; this version reads {HISTORY_VERSION}"
            )
        curves = data.get("curves")
        if not isinstance(curves, list):
            raise ValueError("'curves' must be a list")
        loaded: dict[Key, tuple[Series, float]] = {}
        for i, item in enumerate(curves[: self.max_curves]):
            if not isinstance(item, dict):
                raise ValueError(f"curve {i} is not an object")
            key = (item.get("source"), item.get("name"))
            if not all(isinstance(part, str) for part in key):
                raise ValueError(f"curve {i} has no source and name")
            try:
                loaded[(item["source"], item["name"])] = Series.from_json(
                    item, self.capacity
                )
            except ValueError as e:
                raise ValueError(f"curve {i} ({key[0]}/{key[1]}): {e}") from None
        return loaded

    def _install(
        self, state: str, loaded: dict[Key, tuple[Series, float]] | None
    ) -> None:
        with self._lock:
            text = f"loaded {state}" if self._recorded else f"resumed from {state}"
            if loaded is not None:
                entries: dict[Key, _Entry] = {}
                for key in dict.fromkeys([*self._entries, *loaded]):
                    old = self._entries.get(key)
                    series, last_step = loaded.get(key, (Series(self.capacity), 0.0))
                    if old is not None:
                        # Never a generation or version a view has seen: it
                        # takes the whole curve again.
                        series.generation = old.series.generation + 1
                        series.version = old.series.version + 1
                    entry = self._new_entry(key, series)
                    entry.last_step = last_step
                    entries[key] = entry
                self._entries = entries
            for entry in self._entries.values():
                entry.series.mark(LOAD, text)

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
                list(s.points),
                s.tail(entry.last_step),
                s.stride,
                s.count,
                s.last,
                list(s.marks),
            )

    def updates(
        self, wanted: Iterable[Key], cursor: dict[Key, tuple[int, int, int]]
    ) -> list[dict[str, Any]]:
        """What changed in the ``wanted`` curves since ``cursor`` (updated in place).

        ``cursor`` is the caller's own: per key, the generation, point count and
        version it was last sent. An update (JSON-ready) carries the new
        points, or all of them with ``reset`` after a merge or a load, and
        every mark.
        """
        out = []
        with self._lock:
            for key in wanted:
                entry = self._entries.get(key)
                if entry is None:
                    continue
                s = entry.series
                seen = cursor.get(key)
                if (
                    seen is not None
                    and seen[0] == s.generation
                    and seen[2] == s.version
                ):
                    continue  # nothing new
                reset = seen is None or seen[0] != s.generation
                start = 0 if reset or seen is None else seen[1]
                cursor[key] = (s.generation, len(s.points), s.version)
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
                        "marks": [m.to_json() for m in s.marks],
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
        marks: Loads, resumes and sharp drops, oldest first.
    """

    points: list[tuple[float, float]] = field(default_factory=list)
    tail: tuple[float, float] | None = None
    stride: int = 1
    count: int = 0
    last: float = math.nan
    marks: list[Mark] = field(default_factory=list)

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
                tail = None if tail is None else (float(tail[0]), float(tail[1]))
                stride = int(update.get("stride", 1))
                count = update.get("count")
                count = None if count is None else int(count)
                last = float(update.get("last", math.nan))
                # A run from before marks were sent sends none.
                marks = [Mark.from_json(m) for m in update.get("marks", ())]
            except (KeyError, TypeError, ValueError):
                continue  # a malformed update is skipped, not fatal to the view
            curve = self.curves.setdefault(key, Curve())
            if update.get("reset"):
                curve.points = points
            else:
                curve.points.extend(points)
            curve.tail, curve.stride = tail, stride
            curve.count = len(curve.points) if count is None else count
            curve.last, curve.marks = last, marks
            changed = True
        return changed
