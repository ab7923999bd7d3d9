"""Measurement math shared by every figure (pure functions, no engine imports).

Workload programs (ours and PAMIQ-Core's) print raw observations - tick
times, pause latencies, CPU seconds - and the harness turns them into figures
here, so both sides are summarised by the very same code.
"""

from __future__ import annotations

import itertools
import math
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation (NumPy's default).

    Raises:
        ValueError: For an empty sequence or ``q`` outside 0..100.
    """
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in 0..100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    fraction = position - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * fraction)


def median(values: Sequence[float]) -> float:
    """The 50th percentile."""
    return percentile(values, 50.0)


@dataclass(frozen=True)
class TickStats:
    """How well a loop kept a fixed-interval schedule.

    Attributes:
        ticks: Ticks seen inside the window.
        expected: Ticks a perfect schedule would have inside the window.
        share: ``ticks / expected`` (1.0 = none missing).
        p50_period: Median time between consecutive ticks (s).
        p99_period: 99th percentile of that (s).
        max_period: Longest gap (s).
        drift: ``(last - first) - (ticks - 1) * interval`` (s): how far the
            schedule slipped over the window; 0 for a loop that never drifts.
    """

    ticks: int
    expected: int
    share: float
    p50_period: float
    p99_period: float
    max_period: float
    drift: float


def periods(ticks: Sequence[float]) -> list[float]:
    """Differences between consecutive tick times."""
    return [b - a for a, b in itertools.pairwise(ticks)]


def tick_stats(
    ticks: Sequence[float], interval: float, start: float, end: float
) -> TickStats:
    """Summarise the tick times that fall in ``[start, end)``.

    Args:
        ticks: Times (s, one real clock) at which the loop ticked, ascending.
        interval: The loop's intended period (s).
        start: Window start (same clock).
        end: Window end (same clock).

    Raises:
        ValueError: If the window is empty or holds fewer than two ticks.
    """
    if not end > start:
        raise ValueError("the window must have end > start")
    if not interval > 0:
        raise ValueError("interval must be > 0")
    inside = [t for t in ticks if start <= t < end]
    if len(inside) < 2:
        raise ValueError(f"only {len(inside)} tick(s) in the window")
    expected = max(1, round((end - start) / interval))
    gaps = periods(inside)
    drift = (inside[-1] - inside[0]) - (len(inside) - 1) * interval
    return TickStats(
        ticks=len(inside),
        expected=expected,
        share=len(inside) / expected,
        p50_period=percentile(gaps, 50.0),
        p99_period=percentile(gaps, 99.0),
        max_period=max(gaps),
        drift=drift,
    )


def rate(count_start: int, count_end: int, t_start: float, t_end: float) -> float:
    """Events per second between two samples of a counter.

    Raises:
        ValueError: If the samples are not in time order.
    """
    if not t_end > t_start:
        raise ValueError("t_end must be > t_start")
    return (count_end - count_start) / (t_end - t_start)


def process_cpu_seconds() -> float:
    """User + system CPU seconds used by this whole process (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_share(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time as a share of one core over a wall-clock span (1.0 = one busy core).

    Raises:
        ValueError: If ``wall_seconds`` is not positive.
    """
    if not wall_seconds > 0:
        raise ValueError("wall_seconds must be > 0")
    return cpu_seconds / wall_seconds


class CpuMeter:
    """Measures process CPU time and wall time between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self._cpu0 = 0.0
        self._wall0 = 0.0
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0

    def start(self) -> None:
        """Begin a span."""
        self._wall0 = time.perf_counter()
        self._cpu0 = process_cpu_seconds()

    def stop(self) -> float:
        """End the span; return the CPU share of one core."""
        self.cpu_seconds = process_cpu_seconds() - self._cpu0
        self.wall_seconds = time.perf_counter() - self._wall0
        return cpu_share(self.cpu_seconds, self.wall_seconds)


def throughput(nbytes: int, seconds: float) -> float:
    """Bytes per second.

    Raises:
        ValueError: If ``seconds`` is not positive.
    """
    if not seconds > 0:
        raise ValueError("seconds must be > 0")
    return nbytes / seconds


def parse_proc_stat(text: str) -> tuple[float, float]:
    """``(busy, total)`` jiffies of all CPUs from the text of ``/proc/stat``.

    Idle and iowait count as not busy.

    Raises:
        ValueError: If there is no aggregate ``cpu`` line.
    """
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = [float(x) for x in fields[1:]]
            # user nice system idle iowait irq softirq steal [guest guest_nice]
            total = sum(values[:8])
            idle = values[3] + (values[4] if len(values) > 4 else 0.0)
            return total - idle, total
    raise ValueError("no 'cpu' line in /proc/stat text")


def parse_proc_steal(text: str) -> tuple[float, float]:
    """``(steal, total)`` jiffies of all CPUs from the text of ``/proc/stat``.

    Steal is time a virtual machine's CPUs were ready to run but the host ran
    something else: on a shared host it shows as millisecond stalls that no
    program inside the machine can avoid.

    Raises:
        ValueError: If there is no aggregate ``cpu`` line.
    """
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            values = [float(x) for x in fields[1:]]
            steal = values[7] if len(values) > 7 else 0.0
            return steal, sum(values[:8])
    raise ValueError("no 'cpu' line in /proc/stat text")


def machine_cpu_sample() -> tuple[float, float] | None:
    """Current ``(busy, total)`` jiffies of the whole machine, or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            return parse_proc_stat(f.read())
    except (OSError, ValueError):
        return None


def machine_steal_sample() -> tuple[float, float] | None:
    """Current ``(steal, total)`` jiffies of the whole machine, or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            return parse_proc_steal(f.read())
    except (OSError, ValueError):
        return None


def busy_share(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> float | None:
    """Share (0..1) of all CPUs' time that was busy between two samples."""
    if before is None or after is None:
        return None
    total = after[1] - before[1]
    if total <= 0:
        return None
    return (after[0] - before[0]) / total
