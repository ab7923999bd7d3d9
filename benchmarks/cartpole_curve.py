"""Learning curve of DQN on CartPole-v1, acting and training concurrently in a real ``System``.

Builds the run from ``sample_configs/cartpole_dqn.toml`` (the file users run,
so the figure is the sample's), runs up to ``--max-seconds`` of wall time,
records every episode's return against wall time, and reports when the mean
return over 20 consecutive episodes first reaches the target (475). Results go
to ``benchmarks/results/cartpole_curve.{csv,json}``.

    .venv/bin/python -m benchmarks.cartpole_curve [--config FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from algorithms.dqn import DQNAgent, DQNTrainer, QNetwork
from engine import Interaction, System
from engine.data import ArrayBuffer
from engine.gym import GymEnvironment
from engine.telemetry.events import TrainingRunFinished
from engine.torch import TorchTrainingModel
from trainers.config import TrainingConfiguration

RESULTS = Path(__file__).parent / "results"
SAMPLE_CONFIG = (
    Path(__file__).resolve().parents[1] / "sample_configs" / "cartpole_dqn.toml"
)
TARGET = 475.0
WINDOW = 20

# The values of sample_configs/cartpole_dqn.toml (see its comments for why).
AGENT_ARGS: dict[str, Any] = {
    "model": "q_network",
    "collector": "replay",
    "epsilon_start": 1.0,
    "epsilon_end": 0.01,
    "epsilon_decay_steps": 10_000,
    "n_step": 3,
    "gamma": 0.995,
    "seed": 0,
}
TRAINER_ARGS: dict[str, Any] = {
    "model": "q_network",
    "data_user": "replay",
    "gamma": 0.995,
    "tau": 0.005,
    "double_dqn": True,
    "min_buffer_size": 1000,
    "torch_num_threads": 1,
}
TRAINING: dict[str, Any] = {
    "lr": 5e-4,
    "lr_scheduler": {"name": "cosine", "total_steps": 150_000, "min_lr": 5e-5},
    "batch_size": 128,
    "optimizer": "adam",
    "optimizer_kwargs": {"fused": True},
    "max_steps_per_run": 32,
    "training_steps": None,
    "max_grad_norm": 10.0,
    "seed": 0,
    "log_every": 32,
    "replay_ratio": 0.25,
}
NETWORK: dict[str, Any] = {
    "obs_dim": 4,
    "num_actions": 2,
    "hidden_sizes": [128, 128],
    "seed": 0,
}
REPLAY_SIZE = 1_000_000


def build_system(
    states_dir: Path,
    agent_args: Mapping[str, Any] = AGENT_ARGS,
    trainer_args: Mapping[str, Any] = TRAINER_ARGS,
    training: Mapping[str, Any] = TRAINING,
    network: Mapping[str, Any] = NETWORK,
    replay_size: int = REPLAY_SIZE,
) -> tuple[System, DQNAgent]:
    """Wire the DQN components exactly as ``sample_configs/cartpole_dqn.toml`` does."""
    agent = DQNAgent(**agent_args)
    interaction = Interaction(agent, GymEnvironment("CartPole-v1", seed=0))
    model = TorchTrainingModel(QNetwork(**network))
    trainer = DQNTrainer(TrainingConfiguration(**training), **trainer_args)
    system = System(
        interaction,
        {"q_network": model},
        {"replay": ArrayBuffer(replay_size)},
        {"dqn": trainer},
        {"states_dir": states_dir, "save_final_state": False},
    )
    return system, agent


def build_from_config(config: Path, states_dir: Path) -> tuple[System, DQNAgent]:
    """Build the run a config file describes, saving states under ``states_dir``."""
    from console import config as run_config

    built = run_config.load(
        config,
        overrides={
            "states_dir": str(states_dir),
            "save_final_state": False,
            "metrics": False,
        },
    )
    agent = built.system.interaction.agent
    if not isinstance(agent, DQNAgent):
        raise SystemExit(f"{config}: the agent is not a algorithms.dqn:DQNAgent")
    return built.system, agent


def first_success(returns: list[float]) -> int | None:
    """Index of the episode that completes the first window with mean >= TARGET."""
    if len(returns) < WINDOW:
        return None
    means = np.convolve(returns, np.ones(WINDOW) / WINDOW, mode="valid")
    hits = np.flatnonzero(means >= TARGET)
    return int(hits[0]) + WINDOW - 1 if hits.size else None


def run(
    max_seconds: float = 300.0,
    stop_at_target: bool = True,
    config: Path | None = SAMPLE_CONFIG,
    **overrides: Any,
) -> dict[str, Any]:
    """Train until the target is reached (or ``max_seconds`` pass); return the curve.

    Args:
        max_seconds: Wall-time budget.
        stop_at_target: Stop as soon as the target is reached.
        config: The run's TOML file; None wires :func:`build_system` with ``overrides``.
        **overrides: Arguments of :func:`build_system` (only without ``config``).
    """
    with tempfile.TemporaryDirectory() as tmp:
        if config is not None:
            system, agent = build_from_config(config, Path(tmp))
        else:
            system, agent = build_system(Path(tmp), **overrides)
        sub = system.events.subscribe(maxsize=100_000)
        start = time.time()
        system.start()
        reached: float | None = None
        runs = 0
        last_print = start
        try:
            while time.time() - start < max_seconds:
                event = sub.get(timeout=0.5)
                if isinstance(event, TrainingRunFinished):
                    runs += 1
                returns = [r for _, r in agent.episode_returns]
                hit = first_success(returns)
                if hit is not None and reached is None:
                    reached = agent.episode_returns[hit][0] - start
                    print(
                        f"target reached: mean {TARGET} over {WINDOW} episodes after {reached:.1f} s"
                    )
                    if stop_at_target:
                        break
                if time.time() - last_print > 10:
                    last_print = time.time()
                    recent = returns[-WINDOW:]
                    print(
                        f"{last_print - start:6.1f}s steps={system.steps} runs={runs} "
                        f"episodes={len(returns)} mean{WINDOW}={np.mean(recent) if recent else 0:.1f} "
                        f"eps={agent.epsilon:.3f}",
                        flush=True,
                    )
        finally:
            system.shutdown()
            system.wait(30)
    episodes = [(t - start, r) for t, r in agent.episode_returns]
    returns = [r for _, r in episodes]
    means = [
        float(np.mean(returns[max(0, i - WINDOW + 1) : i + 1]))
        for i in range(len(returns))
    ]
    return {
        "target": TARGET,
        "window": WINDOW,
        "reached_after_s": reached,
        "best_mean20": max(means) if means else None,
        "wall_s": time.time() - start,
        "steps": system.steps,
        "training_runs": runs,
        "episodes": [
            {"wall_s": t, "return": r, "mean20": m}
            for (t, r), m in zip(episodes, means, strict=True)
        ],
    }


def write_results(result: dict[str, Any], stem: str = "cartpole_curve") -> Path:
    """Write the curve as CSV and the whole result as JSON under benchmarks/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"{stem}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["wall_s", "return", "mean20"])
        for e in result["episodes"]:
            writer.writerow([f"{e['wall_s']:.3f}", e["return"], f"{e['mean20']:.2f}"])
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=1))
    return RESULTS / f"{stem}.json"


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--keep-going", action="store_true", help="run past the target")
    parser.add_argument("--config", type=Path, default=SAMPLE_CONFIG)
    args = parser.parse_args()
    result = run(
        args.max_seconds, stop_at_target=not args.keep_going, config=args.config
    )
    path = write_results(result)
    if result["reached_after_s"] is not None:
        print(
            f"reached mean {TARGET} after {result['reached_after_s']:.1f} s wall time"
        )
    else:
        print(
            f"not reached in {result['wall_s']:.0f} s; best mean20 {result['best_mean20']}"
        )
    print(f"steps={result['steps']} training runs={result['training_runs']} -> {path}")


if __name__ == "__main__":
    main()
