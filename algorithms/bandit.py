"""A multi-armed bandit that learns while it acts (pure Python, no NumPy or torch).

Read top to bottom:

* :class:`BanditEnvironment` pays a noisy reward for each pulled arm. Its arm
  means can drift, so the best arm changes now and then: a continual-learning
  problem in miniature.
* :class:`ValueTable` (training model) holds one value estimate per arm; its
  inference side (:class:`ValueTableInference`) is a tuple swapped in whole on
  each sync, so the agent never waits for the trainer.
* :class:`BanditAgent` picks arms epsilon-greedily from the inference table and
  collects ``{"arm", "reward"}`` items into a buffer.
* :class:`BanditTrainer` re-estimates each arm's value from the buffer (a
  sliding window, so it follows drift) and reports the squared error of the old
  estimates against the rewards seen (``loss``) and the average reward.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine import Agent, Environment, InferenceModel, TrainingModel
from engine.data import DataCollector
from engine.tunables import Tunable
from trainers.base import Trainer


class BanditEnvironment(Environment[float, int]):
    """Arms with Gaussian rewards; the observation is the last reward.

    Args:
        means: Mean reward of each arm.
        noise: Standard deviation of the reward noise.
        drift_every: Every this many pulls the arm means are rotated by one
            (0: never), so the best arm moves.
        seed: Random seed.
    """

    def __init__(
        self,
        means: list[float],
        noise: float = 0.1,
        drift_every: int = 0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if not means:
            raise ValueError("means must name at least one arm")
        if noise < 0 or drift_every < 0:
            raise ValueError("noise and drift_every must be >= 0")
        self.means = [float(m) for m in means]
        self.noise = noise
        self.drift_every = drift_every
        self._rng = random.Random(seed)
        self._last_reward = 0.0
        self.pulls = 0

    @property
    def arms(self) -> int:
        """Number of arms."""
        return len(self.means)

    @override
    def observe(self) -> float:
        return self._last_reward

    @override
    def affect(self, action: int) -> None:
        self._last_reward = self._rng.gauss(self.means[action], self.noise)
        self.pulls += 1
        if self.drift_every and self.pulls % self.drift_every == 0:
            self.means = self.means[-1:] + self.means[:-1]

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".json").write_text(
            json.dumps(
                {"means": self.means, "pulls": self.pulls, "last": self._last_reward}
            )
        )

    @override
    def load_state(self, path: Path) -> None:
        data = json.loads(path.with_suffix(".json").read_text())
        means, pulls, last = data["means"], data["pulls"], data["last"]
        # Checked before anything changes: the agent picks among as many arms
        # as its value table has, and a bad mean would fail its next step.
        if not isinstance(means, list) or len(means) != len(self.means):
            count = len(means) if isinstance(means, list) else repr(means)
            raise ValueError(
                f"state has {count} arm means, the environment has {len(self.means)}"
            )
        if not all(_finite(m) for m in [*means, last]):
            raise ValueError("state has an arm mean or reward that is not a number")
        if type(pulls) is not int or pulls < 0:
            raise ValueError(f"impossible 'pulls' ({pulls!r})")
        self.means = [float(m) for m in means]
        self.pulls = pulls
        self._last_reward = float(last)


def _finite(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


class ValueTableInference(InferenceModel):
    """The agent's read-only view: one value per arm."""

    def __init__(self, values: tuple[float, ...]) -> None:
        self.values = values

    @override
    def infer(self) -> tuple[float, ...]:
        """Return the value estimates."""
        return self.values


class ValueTable(TrainingModel[ValueTableInference]):
    """Value estimates per arm, trained by :class:`BanditTrainer`.

    Args:
        arms: Number of arms.
        initial_value: Starting estimate (optimistic values encourage exploring).
    """

    def __init__(self, arms: int, initial_value: float = 0.0) -> None:
        super().__init__()
        if arms < 1:
            raise ValueError(f"arms must be >= 1, got {arms}")
        self.values = [float(initial_value)] * arms

    @override
    def _create_inference_model(self) -> ValueTableInference:
        return ValueTableInference(tuple(self.values))

    @override
    def forward(self, arm: int) -> float:
        return self.values[arm]

    @override
    def sync_impl(self, inference_model: ValueTableInference) -> None:
        # One reference swap: the agent sees either the old or the new table.
        inference_model.values = tuple(self.values)

    def scale_weights(self) -> list[float]:
        """The values, as the ray backend ships them to every actor."""
        return list(self.values)

    def install_scale_weights(self, weights: list[float]) -> None:
        """Take the learner's values (an actor's copy; its sync follows)."""
        self.values = [float(v) for v in weights]

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".json").write_text(json.dumps({"values": self.values}))

    @override
    def load_state(self, path: Path) -> None:
        values = json.loads(path.with_suffix(".json").read_text())["values"]
        if len(values) != len(self.values):
            raise ValueError(
                f"state has {len(values)} arms, model has {len(self.values)}"
            )
        self.values = [float(v) for v in values]
        self.inference_model.values = tuple(self.values)


class BanditAgent(Agent[float, int]):
    """Epsilon-greedy arm picker that collects what each pull paid.

    Args:
        epsilon: Probability of a random arm.
        model: Name of the :class:`ValueTable` model.
        collector: Name of the buffer that receives ``{"arm", "reward"}`` items.
        seed: Random seed.
    """

    def __init__(
        self,
        epsilon: float = 0.1,
        model: str = "values",
        collector: str = "pulls",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.epsilon = epsilon
        self.model_name = model
        self.collector_name = collector
        self._rng = random.Random(seed)
        self._last_arm: int | None = None
        self._table: ValueTableInference
        self._collector: DataCollector[dict[str, Any]]

    @override
    def on_inference_models_attached(self) -> None:
        model = self.get_inference_model(self.model_name)
        if not isinstance(model, ValueTableInference):
            raise TypeError(f"model '{self.model_name}' is not a ValueTable")
        self._table = model

    @override
    def on_data_collectors_attached(self) -> None:
        self._collector = self.get_data_collector(self.collector_name)

    @override
    def tunables(self) -> dict[str, Tunable]:
        """``epsilon``, changeable while the run goes on."""
        return {
            "epsilon": Tunable.attribute(
                self, "epsilon", float, 0.0, 1.0, "probability of a random arm"
            )
        }

    @override
    def step(self, observation: float) -> int:
        if self._last_arm is not None:
            self._collector.collect({"arm": self._last_arm, "reward": observation})
        values = self._table.values
        if self._rng.random() < self.epsilon:
            arm = self._rng.randrange(len(values))
        else:
            arm = max(range(len(values)), key=values.__getitem__)
        self._last_arm = arm
        return arm


class BanditTrainer(Trainer):
    """Re-estimates each arm's value as the mean reward in the buffer.

    Args:
        model: Name of the :class:`ValueTable` model.
        data_user: Name of the buffer of ``{"arm", "reward"}`` items.
        min_buffer_size: Items the buffer must hold before training.
        min_new_data_count: New items needed between trainings.
        learning_rate: Step towards the window mean (1.0: jump to it).
    """

    def __init__(
        self,
        model: str = "values",
        data_user: str = "pulls",
        min_buffer_size: int = 10,
        min_new_data_count: int = 10,
        learning_rate: float = 0.5,
    ) -> None:
        super().__init__(data_user, min_buffer_size, min_new_data_count)
        if not 0.0 < learning_rate <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {learning_rate}")
        self.model_name = model
        self.data_user_name = data_user
        self.learning_rate = learning_rate
        self._model: ValueTable

    @override
    def on_training_models_attached(self) -> None:
        model = self.get_training_model(self.model_name)
        if not isinstance(model, ValueTable):
            raise TypeError(f"model '{self.model_name}' is not a ValueTable")
        self._model = model

    @override
    def tunables(self) -> dict[str, Tunable]:
        """``learning_rate``, changeable while the run goes on."""
        return {
            "learning_rate": Tunable.attribute(
                self,
                "learning_rate",
                float,
                0.0,
                1.0,
                "step towards the window mean (1: jump to it)",
                exclusive_minimum=True,
            )
        }

    @override
    def train(self) -> None:
        items = self.get_data_user(self.data_user_name).get_data()
        if isinstance(items, dict):  # a Dict* buffer: columns
            pairs = list(zip(items["arm"], items["reward"], strict=True))
        else:
            pairs = [(item["arm"], item["reward"]) for item in items]
        values = self._model.values
        sums = [0.0] * len(values)
        counts = [0] * len(values)
        error = 0.0
        for arm, reward in pairs:
            sums[arm] += reward
            counts[arm] += 1
            error += (values[arm] - reward) ** 2
        lr = self.learning_rate
        for arm, count in enumerate(counts):
            if count:
                values[arm] += lr * (sums[arm] / count - values[arm])
        self.pause_point()
        if pairs:
            self.report_metrics(
                {
                    "loss": error / len(pairs),
                    "mean_reward": sum(r for _, r in pairs) / len(pairs),
                }
            )
