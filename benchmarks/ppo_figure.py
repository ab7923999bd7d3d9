"""Figure 17: PPO with lag correction, on threads and on 1, 2 and 4 Ray actors (issue 27 item 2).

The CartPole PPO sample (``workloads/cartpole_ppo.py``) with every
environment step sleeping 10 ms, so that acting, not learning, is what takes
the time and more actors can make it faster: the wall time to a 20-episode
mean of 475 (episodes merged across actors in the order they reach the
learner; Ray's start not counted), one seed, on the threads backend (one
agent) and on 1, 2 and 4 actors of a local Ray, and the 4-actor run again with
``lag_correction = false`` (plain PPO) to show what the correction buys. The
rows give the speedups over threads (targets: >= 1.6x with 2 actors, >= 2.5x
with 4) and each run's policy lag. ``--quick``: threads, 2 actors and 2
actors without the correction, 120 s each (the target is not reached in that
time: the rows then give the best mean).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import learning_stats
from .table import Row, Target

if TYPE_CHECKING:
    from .figures import Context

SPEEDUP_TARGETS = {2: 1.6, 4: 2.5}
"""Actors: the least speedup over threads (issue 27)."""


def conditions(quick: bool) -> tuple[list[tuple[int, bool]], float]:
    """The runs, as (actors (0: threads), lag correction), and each one's budget (s)."""
    if quick:
        return [(0, True), (2, True), (2, False)], 120.0
    return [(0, True), (1, True), (2, True), (4, True), (4, False)], 1200.0


def _label(actors: int, correction: bool) -> str:
    where = "threads" if actors == 0 else f"{actors} actor{'s' * (actors > 1)}"
    return where if correction else f"{where}, correction off"


def _reach(run: dict[str, Any]) -> float | None:
    reach = learning_stats.first_reach(run["episodes"])
    return None if reach is None else reach.wall_s


def _about(run: dict[str, Any], budget: float) -> str:
    """Steps, lag and how far a run got, for its row's note."""
    steps = run["progress"][-1][1] if run["progress"] else 0
    best = learning_stats.best_mean(run["episodes"], budget)
    reached = _reach(run)
    lag = run.get("policy_lag_mean")
    parts = [
        f"{_label(run['actors'], run['lag_correction'])}: "
        + (
            f"{reached:.0f} s"
            if reached is not None
            else f"not reached in {budget:g} s (best mean {best or 0:.0f})"
        ),
        f"{steps:,} agent steps",
    ]
    if lag is not None:
        parts.append(f"lag mean {lag:.2f}/max {run.get('policy_lag_max', 0):.0f}")
    if run.get("failures"):
        parts.append(f"failures: {'; '.join(run['failures'])}")
    return ", ".join(parts)


def rows_of(runs: dict[tuple[int, bool], dict[str, Any]], budget: float) -> list[Row]:
    """The figure's rows from its runs, keyed (actors, lag correction)."""
    threads = runs[(0, True)]
    base = _reach(threads)
    rows = [
        Row(
            "17",
            "CartPole PPO, 10 ms steps, threads: wall time to a 20-episode mean of 475",
            "s",
            base,
            None,
            lower_is_better=True,
            note=_about(threads, budget) + "; one seed (0)",
            details=threads,
        )
    ]
    for (actors, correction), run in runs.items():
        if actors == 0 or not correction:
            continue
        reached = _reach(run)
        speedup = None if reached is None or base is None else base / reached
        least = SPEEDUP_TARGETS.get(actors)
        rows.append(
            Row(
                "17",
                f"CartPole PPO, 10 ms steps, {_label(actors, True)} on Ray: "
                "speedup in time to 475 over threads",
                "x",
                speedup,
                None,
                target=None if least is None else Target(">=", least),
                note=_about(run, budget)
                + f"; Ray and actors started in {run['startup_s']:.1f} s before the clock",
                details=run,
            )
        )
    for (actors, correction), run in runs.items():
        if correction:
            continue
        corrected = runs.get((actors, True))
        rows.append(
            Row(
                "17",
                f"CartPole PPO, 10 ms steps, {_label(actors, True)} on Ray: time to "
                "475 without the lag correction (plain PPO)",
                "s",
                _reach(run),
                None if corrected is None else _reach(corrected),
                "with the correction",
                lower_is_better=True,
                note=_about(run, budget),
                details=run,
            )
        )
    return rows


def figure_ppo(ctx: Context) -> list[Row]:
    """Run every condition (one seed), then build the rows."""
    runs_to_make, budget = conditions(ctx.settings.quick)
    runs: dict[tuple[int, bool], dict[str, Any]] = {}
    for actors, correction in runs_to_make:
        args = ["--seed", "0", "--seconds", f"{budget:g}", "--stop-at-target"]
        args += ["--actors", str(actors)]
        if not correction:
            args.append("--no-correction")
        runs[(actors, correction)] = ctx.ours("cartpole_ppo", args, budget + 120.0)
    return rows_of(runs, budget)
