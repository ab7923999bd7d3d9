"""The run loop the SB3 reference programs share: learn within a wall-time
budget, record every episode and the progress, and print the result as JSON.

Runs in the suite's cached SB3 virtualenv with the programs beside it, so it
imports nothing of ours: each program imports it as a sibling (the directory
of ``python benchmarks/sb3/<program>.py`` is on ``sys.path``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

#: How many consecutive episodes a run's mean return is taken over.
WINDOW = 20


def parse_args() -> argparse.Namespace:
    """``--seed``, ``--seconds`` (the budget) and ``--extend-to`` (see :func:`learn`)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--extend-to", type=float, default=0.0)
    return parser.parse_args()


def learn(
    model: Any, total_timesteps: int, seconds: float, extend_to: float, target: float
) -> dict[str, Any]:
    """Let ``model`` learn for ``seconds`` of wall time, recording as it goes.

    A run whose ``WINDOW``-episode mean return has not reached ``target`` by
    then goes on until ``extend_to`` seconds (or until it does).

    Args:
        model: A Stable-Baselines3 model, its environment wrapped in a ``Monitor``.
        total_timesteps: What ``learn`` is given: large enough never to end
            the run before its budget.
        seconds: The wall-time budget.
        extend_to: How long a run that has not reached ``target`` goes on.
        target: The mean return that ends an extension.

    Returns:
        ``wall_s``, ``env_steps``, ``gradient_steps``, ``episodes`` (wall
        seconds, return and environment steps at each one's end) and
        ``progress`` (wall seconds, environment steps and gradient steps about
        once a second, and at the end).
    """
    from stable_baselines3.common.callbacks import BaseCallback

    extend_to = max(seconds, extend_to)
    episodes: list[list[float]] = []
    progress: list[list[float]] = []

    class Budget(BaseCallback):
        """Records episodes and stops the run when the wall-time budget is spent."""

        def __init__(self) -> None:
            super().__init__()
            self.start = time.perf_counter()
            self.last = self.start
            self.reached = False

        def _on_step(self) -> bool:
            now = time.perf_counter()
            for info in self.locals.get("infos", []):
                episode = info.get("episode")
                if episode is not None:
                    episodes.append(
                        [now - self.start, float(episode["r"]), self.num_timesteps]
                    )
                    recent = [e[1] for e in episodes[-WINDOW:]]
                    if len(recent) == WINDOW and sum(recent) / WINDOW >= target:
                        self.reached = True
            if now - self.last >= 1.0:
                self.last = now
                progress.append(
                    [now - self.start, self.num_timesteps, self.model._n_updates]
                )
            elapsed = now - self.start
            if elapsed < seconds:
                return True
            return elapsed < extend_to and not self.reached

    budget = Budget()
    model.learn(total_timesteps=total_timesteps, callback=budget)
    wall = time.perf_counter() - budget.start
    progress.append([wall, model.num_timesteps, model._n_updates])
    return {
        "wall_s": wall,
        "env_steps": model.num_timesteps,
        "gradient_steps": model._n_updates,
        "episodes": episodes,
        "progress": progress,
    }


def versions() -> dict[str, str]:
    """The versions of Python, SB3, torch and gymnasium used."""
    import gymnasium
    import stable_baselines3
    import torch

    return {
        "python": sys.version.split()[0],
        "stable_baselines3": stable_baselines3.__version__,
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
    }


def emit(result: dict[str, Any]) -> None:
    """Print the result as one line of JSON (what JSON has no type for, as text)."""
    sys.stdout.write(json.dumps(result, default=str) + "\n")
