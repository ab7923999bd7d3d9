"""The measurement math, on known inputs."""

from __future__ import annotations

import time

import pytest

from benchmarks.stats import (
    CpuMeter,
    busy_share,
    cpu_share,
    median,
    parse_proc_stat,
    parse_proc_steal,
    percentile,
    periods,
    process_cpu_seconds,
    rate,
    throughput,
    tick_stats,
)


def test_percentile_interpolates_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 25) == pytest.approx(1.75)
    assert percentile(list(range(101)), 99) == pytest.approx(99.0)
    assert percentile([5.0], 99) == 5.0
    assert median([3.0, 1.0, 2.0]) == 2.0


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_perfect_schedule_counts_every_tick_without_drift() -> None:
    ticks = [10.0 + 0.01 * i for i in range(1200)]
    stats = tick_stats(ticks, 0.01, start=10.5, end=20.5)
    assert stats.ticks == 1000
    assert stats.expected == 1000
    assert stats.share == pytest.approx(1.0)
    assert stats.p50_period == pytest.approx(0.01)
    assert stats.p99_period == pytest.approx(0.01)
    assert stats.drift == pytest.approx(0.0, abs=1e-9)


def test_missing_ticks_lower_the_share_and_show_as_long_periods() -> None:
    ticks = [0.01 * i for i in range(1000) if i % 100 != 50]  # 10 ticks missing
    stats = tick_stats(ticks, 0.01, start=0.0, end=10.0)
    assert stats.ticks == 990
    assert stats.share == pytest.approx(0.99)
    assert stats.max_period == pytest.approx(0.02)
    assert stats.p50_period == pytest.approx(0.01)
    # Drift compares N ticks' elapsed time with N intervals: 10 skipped ticks
    # make the remaining ones span 10 intervals more than they should.
    assert stats.drift == pytest.approx(0.1, abs=1e-9)


def test_a_reset_style_schedule_drifts_by_its_overhead_per_tick() -> None:
    # Each period is the interval plus 70 us of overhead (PAMIQ-Core's adjustor).
    ticks = [i * 0.01007 for i in range(1100)]
    stats = tick_stats(ticks, 0.01, start=0.0, end=10.0)
    n = stats.ticks
    assert stats.drift == pytest.approx((n - 1) * 0.00007, rel=1e-6)
    assert stats.share == pytest.approx(n / 1000)
    assert stats.p99_period == pytest.approx(0.01007)


def test_a_late_tick_shows_in_p99_and_max() -> None:
    ticks = []
    t = 0.0
    for i in range(1000):
        ticks.append(t)
        t += 0.015 if i % 50 == 0 else 0.01
    stats = tick_stats(ticks, 0.01, start=0.0, end=ticks[-1] + 0.001)
    assert stats.max_period == pytest.approx(0.015)
    assert stats.p50_period == pytest.approx(0.01)
    assert stats.p99_period == pytest.approx(0.015)


def test_tick_stats_needs_two_ticks_in_the_window() -> None:
    with pytest.raises(ValueError):
        tick_stats([0.0, 5.0], 0.01, start=1.0, end=2.0)
    with pytest.raises(ValueError):
        tick_stats([0.0, 0.01], 0.01, start=1.0, end=1.0)


def test_periods_rate_share_throughput() -> None:
    assert periods([0.0, 1.0, 3.0]) == [1.0, 2.0]
    assert rate(100, 400, 1.0, 2.5) == pytest.approx(200.0)
    assert cpu_share(0.5, 10.0) == pytest.approx(0.05)
    assert throughput(1_000_000, 0.5) == pytest.approx(2_000_000)
    with pytest.raises(ValueError):
        rate(0, 1, 1.0, 1.0)
    with pytest.raises(ValueError):
        cpu_share(1.0, 0.0)


def test_cpu_meter_counts_a_busy_loop_and_not_a_sleep() -> None:
    meter = CpuMeter()
    meter.start()
    end = process_cpu_seconds() + 0.1
    x = 0
    while process_cpu_seconds() < end:
        for i in range(1000):
            x += i
    meter.stop()
    assert 0.1 <= meter.cpu_seconds <= meter.wall_seconds + 0.05

    meter.start()
    time.sleep(0.1)
    share = meter.stop()
    assert meter.wall_seconds >= 0.1
    assert meter.cpu_seconds < 0.05
    assert share < 0.5


PROC_STAT = """cpu  100 0 50 800 50 0 0 0 0 0
cpu0 50 0 25 400 25 0 0 0 0 0
intr 12345
"""


def test_proc_stat_parsing_and_busy_share() -> None:
    busy, total = parse_proc_stat(PROC_STAT)
    assert (busy, total) == (150.0, 1000.0)
    later = parse_proc_stat(
        PROC_STAT.replace("cpu  100 0 50 800", "cpu  200 0 100 850")
    )
    assert busy_share((busy, total), later) == pytest.approx(150 / 200)
    assert busy_share(None, later) is None
    steal, steal_total = parse_proc_steal(PROC_STAT)
    assert (steal, steal_total) == (0.0, total)
    assert parse_proc_steal("cpu  10 0 10 60 0 0 0 20 0 0\n") == (20.0, 100.0)
    with pytest.raises(ValueError):
        parse_proc_stat("intr 1\n")
