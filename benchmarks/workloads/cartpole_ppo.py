"""Figure 17 (ours): the CartPole PPO sample on threads or on N Ray actors, one seed.

Builds the run from ``sample_configs/cartpole_ppo.toml`` (the file users run;
the seeds of the agent, the environment, the network and the trainer are set
to ``--seed``), with ``--step-delay`` seconds of sleep in every environment
step (a slower simulator: the actors are environment-bound), starts it and
records every episode as its return reaches the learner (wall seconds since
start, return, agent steps so far), the trainer's rounds with their policy
lag, and about once a second the agent steps and rounds so far.

``--actors N``: the same config with ``[scale] backend = "ray"``, N actors
(0: the threads backend, one agent), ``when_behind = "wait"`` as in
``cartpole_ppo_ray.toml``; Ray's start is not counted (``startup_s``).
``--no-correction``: ``lag_correction = false`` (plain PPO).
``--seconds S``: stop after S seconds, or at the target with ``--stop-at-target``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from ._components import emit
from .cartpole import REPO, first_success, loaded_files

SAMPLE = REPO / "sample_configs" / "cartpole_ppo.toml"
STEP_DELAY = 0.010
CPUS_PER_ACTOR = 0.25
"""Up to 8 actors fit a 2-CPU Ray; each sleeps most of its steps."""
ROUND_METRICS = (
    "experience_steps",
    "policy_lag_mean",
    "policy_lag_max",
    "rho_truncated",
)


def build(
    seed: int, states: Path, actors: int, step_delay: float, correction: bool
) -> Any:
    """The sample's run with every seed set to ``seed``."""
    from console import config as run_config

    raw = run_config.load_toml(SAMPLE)
    interaction = raw["interaction"]
    interaction["agent"]["seed"] = seed
    interaction["environment"]["seed"] = seed
    interaction["environment"]["step_delay"] = step_delay
    raw["models"]["policy"]["model"]["seed"] = seed
    trainer = raw["trainers"]["ppo"]
    trainer["training"]["seed"] = seed
    trainer["lag_correction"] = correction
    raw["system"].update(
        {
            "states_dir": str(states),
            "run_dir": str(states),
            "save_final_state": False,
            "metrics": False,
        }
    )
    if actors:
        raw["scale"] = {
            "backend": "ray",
            "actors": actors,
            "cpus_per_actor": CPUS_PER_ACTOR,
            "when_behind": "wait",
        }
    settings = run_config.resolve_settings(raw, SAMPLE, REPO)
    return run_config.build(raw, settings).system


def run(
    seed: int,
    seconds: float,
    actors: int,
    step_delay: float,
    correction: bool,
    stop_at_target: bool,
) -> dict[str, Any]:
    from engine.scale import connect_actors
    from engine.telemetry.events import Metric

    with tempfile.TemporaryDirectory(prefix="pamiq-bench-") as tmp:
        system = build(seed, Path(tmp), actors, step_delay, correction)
        trainer = system.trainers["ppo"]
        events = system.events.subscribe(maxsize=1_000_000)
        episodes: list[list[float]] = []
        rounds: list[dict[str, float]] = []
        progress: list[list[float]] = []
        started_up = time.time()
        connect_actors(system)  # Ray's start is not learning time: timed apart
        start = time.time()
        system.start()

        def drain() -> None:
            for event in events.drain():
                if not isinstance(event, Metric):
                    continue
                if event.name == "episode_return" and event.source.endswith("agent"):
                    episodes.append([time.time() - start, event.value, system.steps])
                elif event.source == "ppo" and event.name == "rollouts":
                    # A round's first metric (see PPOTrainer.round_targets).
                    rounds.append({"t": time.time() - start, "rollouts": event.value})
                elif event.source == "ppo" and rounds and event.name in ROUND_METRICS:
                    rounds[-1][event.name] = event.value

        try:
            while True:
                time.sleep(1.0)
                drain()
                now = time.time() - start
                progress.append([now, system.steps, trainer.rounds])
                reached = first_success([r for _, r, _ in episodes]) is not None
                if (stop_at_target and reached) or now >= seconds:
                    break
        finally:
            system.shutdown("benchmark done")
            system.wait(120)
            drain()
            events.close()
        failures = list(system.failures)
    lags = [r["policy_lag_mean"] for r in rounds if "policy_lag_mean" in r]
    return {
        "seed": seed,
        "actors": actors,
        "step_delay": step_delay,
        "lag_correction": correction,
        "startup_s": start - started_up,
        "wall_s": progress[-1][0] if progress else 0.0,
        "episodes": episodes,
        "progress": progress,
        "rounds": rounds,
        "policy_lag_mean": sum(lags) / len(lags) if lags else None,
        "policy_lag_max": max(
            (r.get("policy_lag_max", 0.0) for r in rounds), default=None
        ),
        "failures": failures,
        "loaded_files": loaded_files(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=1200.0)
    parser.add_argument("--actors", type=int, default=0, help="on Ray (0: threads)")
    parser.add_argument("--step-delay", type=float, default=STEP_DELAY)
    parser.add_argument("--no-correction", action="store_true")
    parser.add_argument("--stop-at-target", action="store_true")
    args = parser.parse_args()
    emit(
        run(
            args.seed,
            args.seconds,
            args.actors,
            args.step_delay,
            not args.no_correction,
            args.stop_at_target,
        )
    )


if __name__ == "__main__":
    main()
