"""replay_ratio: the agent collects only one round ahead of the optimizer steps taken."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from typing_extensions import override

from engine import Agent, Environment, Interaction, System
from engine.data import DataUsersDict, SequentialBuffer
from engine.model import TrainingModelsDict
from engine.telemetry.events import TrainingRunFinished
from engine.torch import TorchTrainingModel
from trainers.config_driven import ConfigDrivenTrainer

WAIT = 20.0


class ReplayFit(ConfigDrivenTrainer[list[float]]):
    """Fits y = 2x on batches drawn from the replay buffer."""

    endless_batches = True

    def __init__(self, config: Mapping[str, Any], **kwds: Any) -> None:
        super().__init__(
            {"optimizer": "sgd", "lr": 0.001, "batch_size": 4, **config},
            "net",
            "replay",
            **kwds,
        )

    @override
    def batches(self, batch_size: int) -> Iterator[list[float]]:
        user = self.get_data_user("replay")
        while True:
            yield user.sample(batch_size)

    @override
    def step(self, batch: list[float]) -> tuple[torch.Tensor, Mapping[str, float]]:
        x = torch.tensor(batch)[:, None]
        return (self.models["net"].model(x) - 2 * x).pow(2).mean(), {}


def attach(trainer: ReplayFit) -> DataUsersDict:
    users = DataUsersDict.from_data_buffers({"replay": SequentialBuffer[float](1000)})
    trainer.attach_training_models(
        TrainingModelsDict({"net": TorchTrainingModel(nn.Linear(1, 1))})
    )
    trainer.attach_data_users(users)
    return users


def collect(users: DataUsersDict, n: int) -> None:
    for i in range(n):
        users["replay"].collector.collect(float(i % 7))


def run_once(trainer: ReplayFit) -> bool:
    return trainer.run()


def test_the_limit_follows_the_steps_taken_and_is_lifted_when_finished() -> None:
    trainer = ReplayFit(
        {"replay_ratio": 0.5, "max_steps_per_run": 4, "training_steps": 2},
        min_buffer_size=10,
    )
    users = attach(trainer)
    user = users["replay"]
    assert not run_once(trainer)
    # Warm-up collection is free, plus one round (4 steps / 0.5) ahead.
    assert user.collection_limit == 10 + 8
    collect(users, 18)
    assert run_once(trainer)
    assert trainer.global_step == 4
    assert user.collection_limit == 10 + math.ceil((4 + 4) / 0.5)
    assert run_once(trainer)
    assert not run_once(trainer)  # finished after training_steps rounds
    assert user.collection_limit is None


def test_asking_sets_no_limit_a_run_does_whether_it_trains_or_not() -> None:
    trainer = ReplayFit(
        {"replay_ratio": 0.5, "max_steps_per_run": 4}, min_buffer_size=10
    )
    users = attach(trainer)
    user = users["replay"]
    user.limit_collection(None)  # as a loaded state leaves it
    collect(users, 5)
    assert not trainer.is_trainable()
    assert user.collection_limit is None
    assert not run_once(trainer)
    assert user.collection_limit == 10 + 8
    collect(users, 5)
    user.limit_collection(None)
    assert trainer.is_trainable()
    assert user.collection_limit is None and trainer.global_step == 0
    assert run_once(trainer)
    assert user.collection_limit == 10 + math.ceil((4 + 4) / 0.5)


def test_the_limit_never_holds_back_data_the_trainer_waits_for() -> None:
    trainer = ReplayFit(
        {"replay_ratio": 1.0, "max_steps_per_run": 2},
        min_buffer_size=5,
        min_new_data_count=40,
    )
    users = attach(trainer)
    collect(users, 45)
    assert run_once(trainer)
    # One round ahead would be 5 + 4 items, but the next round needs 40 new ones.
    assert users["replay"].collection_limit == 45 + 40


class Counter(Environment[int, int]):
    def __init__(self) -> None:
        self.value = 0

    @override
    def observe(self) -> int:
        self.value += 1
        return self.value

    @override
    def affect(self, action: int) -> None:
        pass


class Collector(Agent[int, int]):
    """Collects every observation as fast as the engine lets it."""

    @override
    def on_data_collectors_attached(self) -> None:
        self.collector = self.get_data_collector("replay")

    @override
    def step(self, observation: int) -> int:
        self.collector.collect(float(observation % 7))
        return 0


def test_a_fast_agent_stays_within_one_round_of_the_ratio(tmp_path: Path) -> None:
    ratio, per_round, warmup = 0.25, 8, 50
    trainer = ReplayFit(
        {"replay_ratio": ratio, "max_steps_per_run": per_round},
        min_buffer_size=warmup,
    )
    system = System(
        Interaction(Collector(), Counter()),
        {"net": TorchTrainingModel(nn.Linear(1, 1))},
        {"replay": SequentialBuffer[float](1000)},
        {"fit": trainer},
        {"states_dir": tmp_path, "save_final_state": False},
    )
    user = system.data_users["replay"]
    runs = system.events.subscribe(maxsize=10_000)
    system.start()
    try:
        finished = 0
        deadline = time.monotonic() + WAIT
        while finished < 20:
            event = runs.get(timeout=max(0.0, deadline - time.monotonic()))
            finished += isinstance(event, TrainingRunFinished)
        system.pause()
        # The agent was held back: at most one round beyond the steps taken.
        bound = warmup + math.ceil((trainer.global_step + per_round) / ratio)
        assert user.collected_total <= bound
        # And not held back more than that: within one round below the ratio too
        # (the trainer may start a round as the agent, slowed by a busy machine,
        # is still collecting the last one's items).
        assert (
            user.collected_total >= warmup + (trainer.global_step - per_round) / ratio
        )
        system.resume()
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert not system.failures
    assert threading.active_count() >= 1
