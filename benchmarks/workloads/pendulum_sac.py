"""Figure 18 (ours): the Pendulum SAC sample as users run it, with one seed.

Builds the run from ``sample_configs/pendulum_sac.toml`` (the file users run;
only the seeds of the agent, the environment, the two networks and the
trainer are set), starts it and records every episode (wall seconds since
start, return, agent steps at its end) and, about once a second, the agent's
steps and the trainer's optimizer steps: the same record as figure 11's
CartPole runs (``workloads/cartpole.py``).

``--seconds S --extend-to T``: stop after S seconds if the 20-episode mean has
reached -200 by then, else go on to T seconds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from ._components import emit
from .cartpole import REPO, first_success, loaded_files

SAMPLE = REPO / "sample_configs" / "pendulum_sac.toml"
TARGET = -200.0


def reached(returns: list[float]) -> bool:
    """Whether some 20 consecutive returns have a mean of at least ``TARGET``."""
    return first_success(returns, TARGET) is not None


def build(seed: int, states: Path) -> Any:
    """The sample's run with every seed set to ``seed``."""
    from console import config as run_config

    raw = run_config.load_toml(SAMPLE)
    raw["interaction"]["agent"]["seed"] = seed
    raw["interaction"]["environment"]["seed"] = seed
    for name in ("policy", "critic"):
        raw["models"][name]["model"]["seed"] = seed
    raw["trainers"]["sac"]["training"]["seed"] = seed
    raw["system"].update(
        {
            "states_dir": str(states),
            "run_dir": str(states),
            "save_final_state": False,
            "metrics": False,
        }
    )
    settings = run_config.resolve_settings(raw, SAMPLE, REPO)
    return run_config.build(raw, settings).system


def run_learning(seed: int, seconds: float, extend_to: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pamiq-bench-") as tmp:
        system = build(seed, Path(tmp))
        trainer = system.trainers["sac"]
        agent = system.interaction.agent
        progress: list[list[float]] = []
        start = time.time()
        system.start()
        budget = seconds
        try:
            while True:
                time.sleep(1.0)
                now = time.time() - start
                progress.append([now, system.steps, trainer.global_step])
                if now < budget:
                    continue
                # A copy first (one call): the agent's thread appends meanwhile.
                if budget < extend_to and not reached(
                    [r for _, r in list(agent.episode_returns)]
                ):
                    budget = extend_to
                    continue
                break
        finally:
            system.shutdown("benchmark done")
            system.wait(120)
        failures = list(system.failures)
    episodes = [
        [t - start, r, n]
        for (t, r), n in zip(
            agent.episode_returns, agent.episode_end_steps, strict=True
        )
    ]
    return {
        "seed": seed,
        "wall_s": progress[-1][0] if progress else 0.0,
        "episodes": episodes,
        "progress": progress,
        "replay_ratio": trainer.config.replay_ratio,
        "failures": failures,
        "loaded_files": loaded_files(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--extend-to", type=float, default=0.0)
    args = parser.parse_args()
    emit(run_learning(args.seed, args.seconds, max(args.extend_to, args.seconds)))


if __name__ == "__main__":
    main()
