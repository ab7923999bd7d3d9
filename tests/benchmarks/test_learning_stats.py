"""Learning-curve figures on known episode lists."""

from __future__ import annotations

import pytest

from benchmarks.learning_stats import best_mean, first_reach, running_means, share_above


def episodes(returns: list[float], every: float = 1.0) -> list[list[float]]:
    """Episode i ends at (i + 1) * every seconds after 100 * (i + 1) steps."""
    return [[(i + 1) * every, r, 100.0 * (i + 1)] for i, r in enumerate(returns)]


def test_running_means_exist_once_a_window_is_full() -> None:
    means = running_means(episodes([1.0, 2.0, 3.0, 4.0]), window=2)
    assert means == [None, 1.5, 2.5, 3.5]


def test_first_reach_reports_wall_time_and_steps() -> None:
    curve = episodes([0.0] * 20 + [500.0] * 20)
    reach = first_reach(curve)
    assert reach is not None
    assert (reach.wall_s, reach.env_steps) == (39.0, 3900.0)
    assert first_reach(episodes([500.0] * 19)) is None


def test_best_mean_counts_only_windows_complete_by_then() -> None:
    curve = episodes([100.0] * 20 + [500.0] * 20)
    assert best_mean(curve, until_s=20.0) == 100.0
    assert best_mean(curve, until_s=40.0) == 500.0
    assert best_mean(curve, until_s=5.0) is None


def test_share_above_is_the_time_share_after_first_reaching() -> None:
    # Reached at 20 s. Episodes 30 and 31 return 0: one zero in the window
    # still averages 475, two do not, from episode 31 until episode 50 drops
    # episode 30 from the window: below for 19 of the 40 s.
    returns = [500.0] * 29 + [0.0, 0.0] + [500.0] * 29
    curve = episodes(returns)
    assert share_above(curve, until_s=60.0) == pytest.approx(21 / 40)
    assert share_above(episodes([500.0] * 30), until_s=25.0) == 1.0
    assert share_above(episodes([0.0] * 30), until_s=30.0) is None
