"""Figure 18's rows on known runs (Pendulum SAC against SB3), and its workload's target check."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import figures, procs
from benchmarks.figures import Context, Settings, figure_sac
from benchmarks.table import MISS, PASS
from benchmarks.workloads.pendulum_sac import reached


def _run(seed: int, reach_s: float | None) -> dict[str, Any]:
    """A Pendulum run of 300 s whose 20-episode mean first reaches -200 at
    ``reach_s`` and stays there (None: never, its returns -900)."""
    every = (reach_s or 300.0) / 20  # the 20th episode ends at reach_s
    count = int(300.0 / every)
    returns = [-150.0] * count if reach_s is not None else [-900.0] * count
    return {
        "seed": seed,
        "wall_s": 300.0,
        "episodes": [
            [(i + 1) * every, r, 200.0 * (i + 1)] for i, r in enumerate(returns)
        ],
        "progress": [[300.0, 200 * count, 200 * count]],
        "gradient_steps": 200 * count,
        "env_steps": 200 * count,
    }


class _Outcome:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data


def _rows(
    monkeypatch: pytest.MonkeyPatch,
    ours: dict[int, float | None],
    sb3: dict[int, float | None],
) -> tuple[list[Any], list[tuple[str, str]]]:
    """Figure 18's rows with these runs, and the programs each side ran."""
    ran: list[tuple[str, str]] = []

    def run_sb3(python: str, args: list[str], timeout: float, program: str) -> _Outcome:
        ran.append(("sb3", program))
        return _Outcome(_run(int(args[-1]), sb3[int(args[-1])]))

    monkeypatch.setattr(procs, "sb3_python", lambda: ("python", ""))
    monkeypatch.setattr(procs, "run_sb3", run_sb3)
    ctx = Context(Settings(seeds=sorted(ours)), None, log=lambda message: None)

    def run_ours(module: str, args: list[str], budget: float) -> dict[str, Any]:
        ran.append(("ours", module))
        return _run(int(args[-1]), ours[int(args[-1])])

    monkeypatch.setattr(ctx, "ours", run_ours)
    return figure_sac(ctx), ran


def test_the_figure_runs_the_sac_sample_and_sb3_s_sac_against_the_issue_s_targets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows, ran = _rows(
        monkeypatch,
        {seed: 20.0 + seed for seed in range(5)},
        {seed: 100.0 + seed for seed in range(5)},
    )
    assert set(ran) == {("ours", "pendulum_sac"), ("sb3", "pendulum_sac.py")}
    seeds, median_time, worst, *_ = rows
    assert all(row.figure == "18" for row in rows)
    assert seeds.metric.startswith("Pendulum SAC, 5 seeds: seeds reaching a ")
    assert "mean of -200 within 300 s" in seeds.metric
    assert (seeds.ours, seeds.reference, seeds.status) == (5.0, 5.0, PASS)
    assert seeds.reference_name == "SB3 2.9.2 SAC, zoo settings"
    assert median_time.metric == "wall time to mean -200, median of 5 seeds"
    assert (median_time.ours, median_time.reference) == (22.0, 102.0)
    assert median_time.status == PASS  # 0.22x <= 0.5x
    assert "seed 0: -200 at 20 s / 4k steps" in worst.note
    share = rows[-1]
    assert share.metric.startswith("after first reaching -200: share of the time")
    assert share.ours == 100.0


def test_a_seed_that_never_reaches_misses_and_is_counted_at_the_time_it_ran(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows, _ = _rows(monkeypatch, {0: 20.0, 1: None}, {0: 30.0, 1: 35.0})
    seeds, median_time, *_ = rows
    assert (seeds.ours, seeds.status) == (1.0, MISS)
    assert median_time.ours == (20.0 + 300.0) / 2
    assert median_time.status == MISS  # 160 s against SB3's 32.5 s
    assert "ours did not reach -200 in 1 of 2 seeds" in median_time.note


def test_figure_18_keeps_its_runs_apart_from_figure_11_s() -> None:
    assert figures.PENDULUM_SAC.runs_subdir and not figures.CARTPOLE_DQN.runs_subdir
    assert figures.PENDULUM_SAC.sample.is_file()
    assert (procs.SB3_DIR / figures.PENDULUM_SAC.sb3_program).is_file()


def test_the_workload_s_target_needs_twenty_episodes_at_minus_200() -> None:
    assert not reached([-150.0] * 19)
    assert reached([-1000.0] * 5 + [-150.0] * 20)
    assert not reached([-1000.0] * 2 + [-150.0] * 18)  # a mean of -235
    assert reached([-250.0] * 10 + [-150.0] * 10)  # a mean of -200 exactly
