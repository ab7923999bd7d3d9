"""Figure 17: PPO with lag correction, on threads and on 1, 2 and 4 Ray actors (issue 27 item 2).

The CartPole PPO sample (``workloads/cartpole_ppo.py``) with every
environment step sleeping 10 ms, so that acting, not learning, is what takes
the time and more actors can make it faster: the wall time to a 20-episode
mean of 475 (episodes merged across actors in the order they reach the
learner; Ray's start not counted), seed 0 (``--seeds`` for more: each
condition's time is then the median over its seeds), on the threads backend
(one agent) and on 1, 2 and 4 actors of a local Ray, and the 4-actor run again with
``lag_correction = false`` (plain PPO) to show what the correction buys. The
rows give the speedups over threads (targets: >= 1.6x with 2 actors, >= 2.5x
with 4) and each run's policy lag. ``--quick``: threads, 2 actors and 2
actors without the correction, 120 s each (the target is not reached in that
time: the rows then give the best mean).
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any

from . import learning_runs, learning_stats, procs
from .table import Row, Target

if TYPE_CHECKING:
    from .figures import Context

SAMPLE = procs.REPO_ROOT / "sample_configs" / "cartpole_ppo.toml"
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


def _median_reach(seeds: list[dict[str, Any]]) -> float | None:
    """The median time to the target over a condition's seeds (None: most never
    reached it; a run that never did counts as later than any that did)."""
    median = statistics.median(
        math.inf if (t := _reach(run)) is None else t for run in seeds
    )
    return None if math.isinf(median) else median


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


def _notes(seeds: list[dict[str, Any]], budget: float) -> str:
    if len(seeds) == 1:
        return _about(seeds[0], budget)
    return "; ".join(f"seed {run['seed']}: {_about(run, budget)}" for run in seeds)


def rows_of(
    runs: dict[tuple[int, bool], list[dict[str, Any]]], budget: float
) -> list[Row]:
    """The figure's rows from its runs, keyed (actors, lag correction), one per seed."""
    threads = runs[(0, True)]
    base = _median_reach(threads)
    seeds = ", ".join(str(run["seed"]) for run in threads)
    median = "" if len(threads) == 1 else "median "
    rows = [
        Row(
            "17",
            f"CartPole PPO, 10 ms steps, threads: {median}wall time to a 20-episode "
            "mean of 475",
            "s",
            base,
            None,
            lower_is_better=True,
            note=_notes(threads, budget)
            + ("; one seed" if len(threads) == 1 else "; seeds")
            + f" ({seeds})",
            details={"runs": threads},
        )
    ]
    for (actors, correction), run in runs.items():
        if actors == 0 or not correction:
            continue
        reached = _median_reach(run)
        speedup = None if reached is None or base is None else base / reached
        least = SPEEDUP_TARGETS.get(actors)
        rows.append(
            Row(
                "17",
                f"CartPole PPO, 10 ms steps, {_label(actors, True)} on Ray: "
                f"speedup in {median}time to 475 over threads",
                "x",
                speedup,
                None,
                target=None if least is None else Target(">=", least),
                note=_notes(run, budget)
                + "; Ray and actors started in "
                + "/".join(f"{r['startup_s']:.1f}" for r in run)
                + " s before the clock",
                details={"runs": run},
            )
        )
    for (actors, correction), run in runs.items():
        if correction:
            continue
        corrected = runs.get((actors, True))
        rows.append(
            Row(
                "17",
                f"CartPole PPO, 10 ms steps, {_label(actors, True)} on Ray: "
                f"{median}time to 475 without the lag correction (plain PPO)",
                "s",
                _median_reach(run),
                None if corrected is None else _median_reach(corrected),
                "with the correction",
                lower_is_better=True,
                note=_notes(run, budget),
                details={"runs": run},
            )
        )
    return rows


def _condition(actors: int, correction: bool) -> str:
    """A kept run's condition, in its file's name: ``threads``, ``2actors-off``..."""
    return ("threads" if actors == 0 else f"{actors}actors") + "-off" * (not correction)


def figure_ppo(ctx: Context) -> list[Row]:
    """Run every condition on each seed (``--seeds``; else seed 0), then build the rows.

    Every finished run is kept (``learning-runs/cartpole_ppo/``); with
    ``--reuse-runs`` a kept run of the same code, sample values, seed and
    condition is taken instead of running it again, so a long figure can be
    stopped and resumed.
    """
    settings = ctx.settings
    runs_to_make, budget = conditions(settings.quick)
    runs_dir = None if settings.runs_dir is None else settings.runs_dir / "cartpole_ppo"
    keep = learning_runs.Keeper(runs_dir, budget, budget, SAMPLE)
    runs: dict[tuple[int, bool], list[dict[str, Any]]] = {}
    reused: list[str] = []
    # Seed by seed, every condition in turn: a busy spell hits them all alike.
    for seed in settings.seeds or [0]:
        for actors, correction in runs_to_make:
            condition = _condition(actors, correction)
            found = keep.take("ours", seed, condition) if settings.reuse_runs else None
            if found is not None:
                run, made = found
                ctx.log(f"[bench]   {condition} seed {seed}: kept run of {made}")
                reused.append(f"{condition} seed {seed} ({made})")
            else:
                args = ["--seed", str(seed), "--seconds", f"{budget:g}"]
                args += ["--stop-at-target", "--actors", str(actors)]
                if not correction:
                    args.append("--no-correction")
                run = ctx.ours("cartpole_ppo", args, budget + 120.0)
                keep.save("ours", seed, run, condition)
            ctx.log(f"[bench]     {_about(run, budget)}")
            runs.setdefault((actors, correction), []).append(run)
    rows = rows_of(runs, budget)
    if reused:
        rows[0].note += "; runs kept from earlier: " + ", ".join(reused)
    return rows
