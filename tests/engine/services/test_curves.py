"""Learning curves: bounded, downsampled history kept by the run, and its plot."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app as cli_app
from console.plot import braille_lines
from engine.services.curves import CurveBook, CurveView, Series
from engine.telemetry.events import Metric, StateSaved
from tests.console.helpers import bandit_config


def test_a_series_stays_bounded_and_still_spans_the_whole_run() -> None:
    series = Series(capacity=64)
    for i in range(100_000):
        series.add(i, float(i))
        assert len(series.points) < 64
    assert series.count == 100_000
    # From the first report to (nearly) the last, each point the mean of its reports.
    first_step, first_value = series.points[0]
    assert first_value == pytest.approx(
        (first_step - series.stride + 1 + first_step) / 2
    )
    assert series.points[-1][0] >= 100_000 - 2 * series.stride
    steps = [s for s, _ in series.points]
    assert steps == sorted(steps)
    # Every point stands for the same number of reports: evenly spread.
    gaps = {b - a for a, b in itertools.pairwise(steps)}
    assert gaps == {series.stride}


def test_a_view_kept_by_updates_equals_the_run_s_curve() -> None:
    book = CurveBook(capacity=32)
    view = CurveView()
    cursor: dict = {}
    key = ("agent", "episode_return")
    for i in range(2_000):
        book.record(Metric(source="agent", name="episode_return", value=i % 7, step=i))
        if i % 13 == 0:  # polls now and then, across several merges
            # Over the socket: the updates go through JSON.
            view.apply(json.loads(json.dumps(book.updates([key], cursor))))
    view.apply(book.updates([key], cursor))
    assert book.updates([key], cursor) == []  # nothing new: nothing sent
    assert view.curves[key] == book.curve(key)
    assert view.curves[key].count == 2_000


def test_a_book_ignores_other_events_and_caps_the_number_of_curves() -> None:
    book = CurveBook(capacity=16, max_curves=3)
    book.record(StateSaved(path="x", duration=0.1, paused_for=0.0))
    for name in "abcde":
        book.record(Metric(source="t", name=name, value=1.0, step=0))
    assert book.curve_keys() == [("t", "a"), ("t", "b"), ("t", "c")]
    assert book.left_out == 2


def test_the_plot_draws_a_rising_line_from_bottom_left_to_top_right() -> None:
    lines = braille_lines([float(i) for i in range(100)], width=10, height=3)
    assert len(lines) == 3 and all(len(line) == 10 for line in lines)
    assert lines[2][0] != "\u2800" and lines[0][-1] != "\u2800"  # ink at both ends
    assert lines[0][0] == "\u2800" and lines[2][-1] == "\u2800"
    # A gap where a value is not finite; a flat line is drawn mid-height.
    assert braille_lines([math.nan] * 5, 4, 2) == ["\u2800" * 4] * 2
    flat = braille_lines([3.0] * 20, 5, 3)
    assert flat[0] == "\u2800" * 5 and flat[1] != "\u2800" * 5


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('plots = ["dqm/loss"]', "dashboard.plots[0]: 'dqm' is neither a trainer"),
        ('plots = ["loss"]', "dashboard.plots[0]: 'loss' is not SOURCE/NAME"),
        ("plots = [3]", "dashboard.plots[0]: expected str, got int 3"),
        ('plots = "agent/x"', "dashboard.plots: expected a list"),
        ("plot_history = 3", "dashboard.plot_history: must be in [16, 100,000]"),
        ('plot_history = "big"', "dashboard.plot_history: expected int, got str"),
        ("plot = []", "dashboard.plot: unknown key (did you mean 'plots'?)"),
    ],
)
def test_a_bad_dashboard_table_is_one_line(
    tmp_path: Path, table: str, expected: str
) -> None:
    path = tmp_path / "run.toml"
    path.write_text(bandit_config(tmp_path) + "\n[dashboard]\n" + table + "\n")
    result = CliRunner().invoke(cli_app, ["validate", str(path)])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"{path}: {expected}"), line


def test_a_good_dashboard_table_validates(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        bandit_config(tmp_path)
        + '\n[dashboard]\nplots = ["agent/episode_return", "values/loss"]\n'
        + "plot_history = 1024\n"
    )
    result = CliRunner().invoke(cli_app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
