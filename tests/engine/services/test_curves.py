"""Learning curves: bounded, downsampled history kept by the run, and its plot."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console import config as config_mod
from console.cli import app as cli_app
from console.plot import braille_lines
from engine.services.curves import DROP, LOAD, CurveBook, CurveView, Mark, Series
from engine.telemetry.events import Event, LogMessage, Metric, StateSaved
from tests.console.helpers import ROOT, bandit_config


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


def _ray_sample_with(tmp_path: Path, dashboard: str) -> Path:
    """minimal_ray.toml (two actors) with a ``[dashboard]`` table."""
    path = tmp_path / "ray.toml"
    text = (ROOT / "sample_configs" / "minimal_ray.toml").read_text()
    path.write_text(text + "\n[dashboard]\n" + dashboard + "\n")
    return path


def test_on_ray_actors_an_agent_curve_to_plot_is_each_actor_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray")
    monkeypatch.chdir(ROOT)
    path = _ray_sample_with(
        tmp_path, 'plots = ["agent/episode_return", "values/loss", "actor1.agent/x"]'
    )
    assert config_mod.load(path).dashboard.plots == (
        ("actor0.agent", "episode_return"),
        ("actor1.agent", "episode_return"),
        ("values", "loss"),
        ("actor1.agent", "x"),
    )
    # The run watches them for sharp drops, plotted or not.
    book = CurveBook()
    assert book.watched(("actor1.agent", "episode_return"))
    assert book.watched(("actor0.agent.child", "reward"))
    assert not book.watched(("values", "loss"))
    assert not book.watched(("actor1", "steps"))


@pytest.mark.parametrize(
    ("ray", "plot", "expected"),
    [
        (
            True,
            "actor2.agent/x",
            "'actor2.agent': this config has no actor 2 "
            "(its actors are actor0 to actor1)",
        ),
        (
            False,
            "actor0.agent/x",
            "'actor0.agent': this config has no actor 0 "
            "(its agent runs in this process: write 'agent')",
        ),
    ],
)
def test_a_plot_of_an_actor_the_config_does_not_have_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ray: bool,
    plot: str,
    expected: str,
) -> None:
    table = f'plots = ["{plot}"]'
    if ray:
        pytest.importorskip("ray")
        monkeypatch.chdir(ROOT)
        path = _ray_sample_with(tmp_path, table)
    else:
        path = tmp_path / "run.toml"
        path.write_text(bandit_config(tmp_path) + "\n[dashboard]\n" + table + "\n")
    result = CliRunner().invoke(cli_app, ["validate", str(path)])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line == f"{path}: dashboard.plots[0]: {expected}"


KEY = ("agent", "episode_return_mean20")


def _report(book: CurveBook, values: list[float], first_step: int = 0) -> None:
    for i, value in enumerate(values):
        book.record(
            Metric(source=KEY[0], name=KEY[1], value=value, step=first_step + i)
        )


def test_a_saved_book_is_resumed_with_its_history_and_the_resume_marked(
    tmp_path: Path,
) -> None:
    book = CurveBook(capacity=32, plots=[KEY])
    _report(book, [float(i) for i in range(100)])
    (tmp_path / "a.state").mkdir()
    book.save_state(tmp_path / "a.state" / "curves")
    saved = book.curve(KEY)
    assert saved is not None and saved.stride > 1  # merged: not just a list of values
    saved_steps = saved.steps()
    assert saved_steps is not None
    resumed = CurveBook(capacity=32, plots=[KEY])
    resumed.prepare_load(tmp_path / "a.state" / "curves")()
    curve = resumed.curve(KEY)
    assert curve is not None
    assert (curve.points, curve.tail, curve.stride, curve.count) == (
        saved.points,
        saved.tail,
        saved.stride,
        saved.count,
    )
    assert curve.marks == [Mark(100, LOAD, "resumed from a.state")]
    # It goes on from there: the next report is the 101st, at the next step.
    _report(resumed, [100.0], first_step=100)
    after = resumed.curve(KEY)
    assert after is not None and after.count == 101
    assert after.steps() == (saved_steps[0], 100)


def test_a_load_of_an_older_state_shows_its_history_to_every_view(
    tmp_path: Path,
) -> None:
    book = CurveBook(capacity=64)
    view, cursor = CurveView(), {}
    _report(book, [1.0] * 10)
    (tmp_path / "old.state").mkdir()
    book.save_state(tmp_path / "old.state" / "curves")
    _report(book, [2.0] * 30, first_step=10)
    book.record(Metric(source="dqn", name="loss", value=0.5, step=1))  # only later
    view.apply(json.loads(json.dumps(book.updates([KEY, ("dqn", "loss")], cursor))))
    assert view.curves[KEY].count == 40

    book.prepare_load(tmp_path / "old.state" / "curves")()
    view.apply(json.loads(json.dumps(book.updates([KEY, ("dqn", "loss")], cursor))))
    # The view holds the state's curve again, marked where the load happened;
    # a curve the state did not have starts over.
    assert view.curves[KEY] == book.curve(KEY)
    assert view.curves[KEY].values() == [1.0] * 10
    assert view.curves[KEY].marks == [Mark(10, LOAD, "loaded old.state")]
    assert view.curves[("dqn", "loss")].values() == []


def test_a_state_without_curves_keeps_them_and_marks_the_load(tmp_path: Path) -> None:
    published: list[Event] = []
    book = CurveBook(capacity=16, publish=published.append)
    _report(book, [3.0] * 5)
    (tmp_path / "bare.state").mkdir()
    book.load_state(tmp_path / "bare.state" / "curves")  # saved before curves were
    curve = book.curve(KEY)
    assert curve is not None and curve.values() == [3.0] * 5
    assert curve.marks == [Mark(5, LOAD, "loaded bare.state")]
    assert published == []
    # A history that cannot be read is a warning, never a refused load.
    (tmp_path / "bad.state").mkdir()
    (tmp_path / "bad.state" / "curves.json").write_text('{"format": "nope"}')
    book.load_state(tmp_path / "bad.state" / "curves")
    curve = book.curve(KEY)
    assert curve is not None and curve.values() == [3.0] * 5
    assert [m.text for m in curve.marks] == ["loaded bare.state", "loaded bad.state"]
    (warning,) = published
    assert isinstance(warning, LogMessage) and warning.level == "warning"
    assert "bad.state/curves.json (not a curve history)" in warning.message


def test_a_sharp_drop_of_a_watched_curve_is_marked_and_noted() -> None:
    published: list[Event] = []
    book = CurveBook(capacity=512, plots=[KEY], publish=published.append)
    rising = [min(500.0, 20.0 + 4 * i) for i in range(200)]
    collapse = [500.0 - 374 * j / 15 for j in range(1, 16)] + [126.0] * 30
    _report(book, rising + collapse)
    # The same fall in a curve the config does not plot is not watched.
    for i, value in enumerate(rising + collapse):
        book.record(Metric(source="agent", name="episode_return", value=value, step=i))
    notices = [e for e in published if isinstance(e, LogMessage)]
    assert [(n.level, n.message) for n in notices] == [
        ("notice", "agent/episode_return_mean20 fell 500 -> 126")
    ]
    curve = book.curve(KEY)
    assert curve is not None
    (drop,) = curve.marks
    assert drop.kind == DROP and drop.text == "episode_return_mean20 fell 500 -> 126"
    # Marked where the fall began, not where it was told.
    assert 200 <= drop.at <= 205
    other = book.curve(("agent", "episode_return"))
    assert other is not None and other.marks == []


def test_a_noisy_curve_and_a_rising_loss_are_not_drops() -> None:
    published: list[Event] = []
    keys = [("agent", "episode_return"), ("dqn", "loss")]
    book = CurveBook(capacity=512, plots=keys, publish=published.append)
    rng = random.Random(0)
    for step in range(2_000):
        # Returns scatter widely around a steady mean; the loss falls.
        book.record(
            Metric(
                source="agent",
                name="episode_return",
                value=rng.uniform(100, 500),
                step=step,
            )
        )
        book.record(
            Metric(source="dqn", name="loss", value=2.0 / (1 + step / 100), step=step)
        )
    assert published == []
    # A loss that shoots up is the loss's drop.
    for step in range(2_000, 2_100):
        book.record(Metric(source="dqn", name="loss", value=5.0, step=step))
    (notice,) = published
    assert isinstance(notice, LogMessage)
    assert notice.message.startswith("dqn/loss rose 0.09") and notice.message.endswith(
        "-> 5"
    )
