"""Sharp drops of a learning curve, noticed as its reports come in.

A curve *drops* when the mean of its last :data:`FAST` reports falls below
the median of the :data:`WINDOW` reports before them by at least
:data:`FRACTION` of the whole range the curve has covered so far, by
:data:`RELATIVE` of its level, and by far more than the scatter of those
reports (:data:`NOISE`): CartPole's 20-episode mean falling from 500 to 126
is a drop; one episode's return scattering around its mean is not. A metric
whose name says that lower is better (``loss``, ``error``, ``cost``,
``regret``) is watched for the mirror image: a sharp rise.

A drop is told once it has bottomed out, with how far it went, and marked
where it became sharp. After a drop the watch waits until the curve has won
back most of what it lost (:data:`REARM`) before it reports another, so one
collapse is one notice however long it lasts. The first :data:`WARMUP`
reports of a run are never a drop (the curve is still finding its range).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

FAST = 5
"""Reports averaged before comparing: one noisy report is not a drop."""
WINDOW = 50
"""Reports within which the fall must happen to be sharp."""
FRACTION = 0.5
"""Share of the curve's range the fall must cover."""
WARMUP = 100
"""Reports before anything is called a drop (the range is still being found)."""
RELATIVE = 0.3
"""Share of its own level the fall must cover too (a tiny wobble of a curve
that barely moves, like a decaying learning rate, is no drop)."""
NOISE = 4.0
"""The fall must also exceed this many standard errors of the level it left
(the scatter of its reports over :data:`WINDOW`, over the root of :data:`FAST`):
a curve as noisy as one episode's return does not drop by chance."""
MAD_TO_SIGMA = 1.4826
"""The median absolute deviation of normal noise times this is its standard deviation."""
REARM = 0.25
"""A new drop is reported once the curve is back within this share of the
range below the level it fell from."""
LOWER_IS_BETTER = re.compile(r"loss|error|cost|regret", re.IGNORECASE)
"""Metric names whose rise, not fall, is watched."""


@dataclass(frozen=True)
class Drop:
    """A sharp change for the worse.

    Attributes:
        before: The level it left (mean of :data:`FAST` reports).
        after: The lowest level it reached (the highest, for a rise).
        verb: ``fell`` or, for a lower-is-better metric, ``rose``.
        ago: Reports since the fall became sharp (where to mark it).
    """

    before: float
    after: float
    verb: str
    ago: int = 0

    def describe(self, name: str) -> str:
        """``NAME fell 500 -> 126``."""
        return f"{name} {self.verb} {self.before:.4g} -> {self.after:.4g}"


def lower_is_better(name: str) -> bool:
    """Whether a metric of this name improves by falling (a loss, an error...)."""
    return LOWER_IS_BETTER.search(name) is not None


class DropWatch:
    """Watches one curve's reports for a sharp drop (not thread-safe).

    A drop is reported once it has bottomed out (:data:`FAST` reports without
    a new low, or twice :data:`WINDOW` reports after it began), so that it
    says how far the curve fell; :attr:`Drop.ago` says where it began.

    Args:
        name: The metric's name (decides which direction is worse).
    """

    def __init__(self, name: str) -> None:
        self._sign = -1.0 if lower_is_better(name) else 1.0
        self._recent: deque[float] = deque(maxlen=WINDOW)  # signed: higher is better
        self._seen = 0
        self._lo = math.inf
        self._hi = -math.inf
        self._armed = True
        self._rearm_at = math.inf
        # A drop under way: where it began, the level it left, its lowest so far.
        self._began: int | None = None
        self._before = 0.0
        self._low = (0, 0.0)

    def seed(self, values: Iterable[float], reports: int) -> None:
        """Take a curve's earlier history (after a load or resume): its range,
        and how many reports it holds (no new warm-up for a long one)."""
        for value in values:
            if math.isfinite(value):
                signed = self._sign * value
                self._lo, self._hi = min(self._lo, signed), max(self._hi, signed)
        self._seen = reports

    def add(self, value: float) -> Drop | None:
        """Take one report; the drop that has just bottomed out, if any."""
        if not math.isfinite(value):
            return None
        recent = self._recent
        recent.append(self._sign * value)
        self._seen += 1
        if len(recent) < FAST:
            return None
        values = list(recent)
        level = sum(values[-FAST:]) / FAST
        self._lo, self._hi = min(self._lo, level), max(self._hi, level)
        if self._began is not None:
            return self._falling(level)
        if not self._armed:
            if level >= self._rearm_at:
                self._armed = True
            return None
        base = values[:-FAST]
        if self._seen < WARMUP or len(base) < FAST:
            return None
        # Median and median deviation: the first reports of a fall, already in
        # the window, move neither the level it left nor the noise it had.
        before = statistics.median(base)
        spread = MAD_TO_SIGMA * statistics.median(abs(v - before) for v in base)
        fall = before - level
        span = self._hi - self._lo
        if (
            fall <= 0
            or fall < FRACTION * span
            or fall < RELATIVE * abs(before)
            or fall < NOISE * spread / math.sqrt(FAST)
        ):
            return None
        self._armed = False
        self._rearm_at = before - REARM * span
        # It began with the first of the reports since that are well below
        # where it was (a quarter of the fall).
        below = before - fall / 4
        into = next(
            (n for n, v in enumerate(reversed(values)) if v >= below), len(values)
        )
        self._began, self._before = self._seen - into, before
        self._low = (self._seen, level)
        return None

    def _falling(self, level: float) -> Drop | None:
        assert self._began is not None
        if level < self._low[1]:
            self._low = (self._seen, level)
        if self._seen - self._low[0] < FAST and self._seen - self._began < 2 * WINDOW:
            return None
        began, self._began = self._began, None
        verb = "fell" if self._sign > 0 else "rose"
        return Drop(
            self._sign * self._before,
            self._sign * self._low[1],
            verb,
            self._seen - began,
        )
