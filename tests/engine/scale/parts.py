"""Tiny real components for scale tests, built by module-level factories Ray can pickle.

The agent collects, per step, a dict with its observation (a numpy array), the
weight its inference model had when it acted, and its actor index, so a test
can tell which actor collected an item and under which weights.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from engine import Agent, Environment, Interaction
from engine.scale import ActorParts
from tests.engine.tiny import ScaleModel
from trainers import Trainer


class WeightModel(ScaleModel):
    """The engine tests' one-float model, shipped through ``scale_weights``."""

    def scale_weights(self) -> float:
        return self.weight

    def install_scale_weights(self, weights: float) -> None:
        self.weight = weights


class CountingEnv(Environment[int, float]):
    """Counts observations; sleeps ``delay`` per step like a slow sensor."""

    def __init__(self, delay: float = 0.001) -> None:
        self.count = 0
        self.delay = delay

    @override
    def observe(self) -> int:
        self.count += 1
        return self.count

    @override
    def affect(self, action: float) -> None:
        if self.delay:
            time.sleep(self.delay)

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".txt").write_text(str(self.count))

    @override
    def load_state(self, path: Path) -> None:
        self.count = int(path.with_suffix(".txt").read_text())


class TaggingAgent(Agent[int, float]):
    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.paused = threading.Event()

    @override
    def on_inference_models_attached(self) -> None:
        self.model = self.get_inference_model("w")

    @override
    def on_data_collectors_attached(self) -> None:
        self.collector = self.get_data_collector("obs")

    @override
    def step(self, observation: int) -> float:
        self.collector.collect(
            {
                "obs": np.full(3, observation, dtype=np.float32),
                "weight": float(self.model.weight),
                "actor": self.index,
            }
        )
        return self.model(observation)

    @override
    def on_paused(self) -> None:
        self.paused.set()

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".json").write_text(json.dumps({"index": self.index}))

    @override
    def load_state(self, path: Path) -> None:
        json.loads(path.with_suffix(".json").read_text())


def make_parts(index: int) -> ActorParts:
    """One actor: a tagging agent in a counting environment, model ``w``."""
    return ActorParts(
        Interaction(TaggingAgent(index), CountingEnv()), {"w": WeightModel()}
    )


def make_fast_parts(index: int) -> ActorParts:
    """Like :func:`make_parts` without the environment's sleep."""
    return ActorParts(
        Interaction(TaggingAgent(index), CountingEnv(delay=0.0)), {"w": WeightModel()}
    )


def make_failing_parts(index: int) -> ActorParts:
    """An actor whose environment raises on its fifth step."""
    return ActorParts(
        Interaction(TaggingAgent(index), FailingEnv()), {"w": WeightModel()}
    )


class FailingEnv(CountingEnv):
    @override
    def observe(self) -> int:
        count = super().observe()
        if count == 5:
            raise RuntimeError("sensor unplugged")
        return count


class RecordingTrainer(Trainer):
    """Records what it sees; adds 1 to the weight per run (then it is synced)."""

    def __init__(self, min_new: int = 20) -> None:
        super().__init__("obs", min_buffer_size=1, min_new_data_count=min_new)
        self.runs = 0
        self.ran = threading.Event()
        self.seen: list[Any] = []

    @override
    def on_training_models_attached(self) -> None:
        self.model = self.get_training_model("w")

    @override
    def train(self) -> None:
        self.seen = list(self.get_data_user("obs").get_data())
        self.model.weight += 1.0
        self.runs += 1
        self.ran.set()


class ReportingAgent(TaggingAgent):
    """Reports how many steps it took, every fifth step (as an agent reports returns)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.taken = 0

    @override
    def step(self, observation: int) -> float:
        self.taken += 1
        if self.taken % 5 == 0:
            self.report_metrics({"taken": self.taken})
        return super().step(observation)


def make_reporting_parts(index: int) -> ActorParts:
    """Like :func:`make_parts` with an agent that reports a metric."""
    return ActorParts(
        Interaction(ReportingAgent(index), CountingEnv()), {"w": WeightModel()}
    )
