"""Figure 17's rows on known runs: speedups over threads, targets, runs that never reach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import learning_runs
from benchmarks.figures import Context, Settings
from benchmarks.ppo_figure import conditions, figure_ppo, rows_of
from benchmarks.table import MISS, NA, PASS


def _run(
    actors: int, reach_s: float | None, correction: bool = True, seed: int = 0
) -> dict[str, Any]:
    """A run whose 20-episode mean first reaches 475 at ``reach_s`` (None: never)."""
    returns = [500.0] * 40 if reach_s is not None else [100.0] * 40
    every = (reach_s or 40.0) / 20  # the 20th episode ends at reach_s
    return {
        "seed": seed,
        "actors": actors,
        "lag_correction": correction,
        "episodes": [[(i + 1) * every, r, 10.0 * i] for i, r in enumerate(returns)],
        "progress": [[every * 40, 400, 5]],
        "policy_lag_mean": 0.5,
        "policy_lag_max": 2.0,
        "startup_s": 4.0,
        "failures": [],
        "loaded_files": ["engine/loop.py"],
    }


def test_rows_give_speedups_over_threads_against_the_issue_s_targets() -> None:
    runs = {
        (0, True): [_run(0, 400.0)],
        (1, True): [_run(1, 410.0)],
        (2, True): [_run(2, 200.0)],
        (4, True): [_run(4, 200.0)],
        (4, False): [_run(4, 250.0, correction=False)],
    }
    rows = rows_of(runs, 1200.0)
    threads, one, two, four, off = rows
    assert threads.ours == 400.0 and threads.status == NA
    assert one.ours == 400.0 / 410.0 and one.status == NA  # no target for 1 actor
    assert two.ours == 2.0 and two.status == PASS  # >= 1.6x
    assert four.ours == 2.0 and four.status == MISS  # < 2.5x
    assert "4 actors: 200 s" in four.note and "lag mean 0.50/max 2" in four.note
    assert (off.ours, off.reference) == (250.0, 200.0)
    assert off.reference_name == "with the correction"


def test_a_run_that_never_reaches_the_target_has_no_speedup_and_says_so() -> None:
    runs = {(0, True): [_run(0, 400.0)], (2, True): [_run(2, None)]}
    _, two = rows_of(runs, 120.0)
    assert two.ours is None and two.status == NA
    assert "not reached in 120 s (best mean 100)" in two.note


def test_the_full_figure_runs_threads_one_two_and_four_actors_and_four_uncorrected() -> (
    None
):
    full, budget = conditions(quick=False)
    assert full == [(0, True), (1, True), (2, True), (4, True), (4, False)]
    quick, quick_budget = conditions(quick=True)
    assert (0, True) in quick and quick_budget < budget


def test_with_several_seeds_each_condition_is_its_median_time() -> None:
    runs = {
        (0, True): [_run(0, t, seed=s) for s, t in enumerate([300.0, 400.0, 500.0])],
        # One seed never gets there: it counts as later than any that did.
        (2, True): [_run(2, t, seed=s) for s, t in enumerate([150.0, None, 320.0])],
        (4, True): [_run(4, t, seed=s) for s, t in enumerate([100.0, None, None])],
    }
    threads, two, four = rows_of(runs, 1200.0)
    assert threads.ours == 400.0 and "median" in threads.metric
    assert "seeds (0, 1, 2)" in threads.note
    assert two.ours == 400.0 / 320.0 and two.status == MISS  # < 1.6x
    assert "seed 1: 2 actors: not reached in 1200 s" in two.note
    assert four.ours is None and four.status == NA  # most seeds never reached it


def test_kept_runs_resume_the_figure_without_running_them_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key stands for "same committed code and sample values" (tested with
    # git in test_learning_runs); here every run has the same one.
    monkeypatch.setattr(learning_runs, "ours_key", lambda files, **_: "same code")
    made: list[list[str]] = []

    def ours(module: str, args: list[str], budget: float) -> dict[str, Any]:
        made.append(args)
        actors = int(args[args.index("--actors") + 1])
        return _run(actors, 400.0 / max(actors, 1), "--no-correction" not in args)

    settings = Settings(seeds=[0], runs_dir=tmp_path, reuse_runs=True)
    ctx = Context(settings, None, log=lambda message: None)
    monkeypatch.setattr(ctx, "ours", ours)
    first = figure_ppo(ctx)
    assert len(made) == 5  # nothing kept yet: every condition ran
    assert {p.name for p in (tmp_path / "cartpole_ppo").iterdir()} >= {
        "ours-threads-seed0-1200s-1200s.json",
        "ours-4actors-off-seed0-1200s-1200s.json",
    }
    again = figure_ppo(ctx)
    assert len(made) == 5  # all five taken from disk
    assert [row.ours for row in again] == [row.ours for row in first]
    assert "runs kept from earlier: threads seed 0" in again[0].note
    settings.seeds = [0, 1]
    figure_ppo(ctx)
    assert len(made) == 10 and {args[1] for args in made[5:]} == {"1"}
