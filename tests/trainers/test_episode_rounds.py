"""Config-driven rounds: waiting for new complete episodes, and training_steps rounds in all."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from typing_extensions import override

from engine.data import DataUsersDict, EpisodeBuffer, SequentialBuffer
from engine.model import TrainingModelsDict
from engine.runtime.control import Controller
from engine.runtime.trainer_contract import TrainersDict
from engine.runtime.workers import TrainingWorker
from engine.telemetry.events import EventBus, TrainingRunFinished
from engine.time import TimeController
from engine.torch import TorchTrainingModel
from trainers.config_driven import ConfigDrivenTrainer

WAIT = 10.0


class EpisodeFit(ConfigDrivenTrainer[list[dict[str, Any]]]):
    """Fits y = 2x on each round's episodes and remembers which ones it got."""

    def __init__(
        self,
        config: Mapping[str, Any],
        data_user: str | None = "episodes",
        min_buffer_size: int = 0,
    ) -> None:
        super().__init__(
            {"optimizer": "sgd", "lr": 0.01, **config},
            "net",
            data_user,
            min_buffer_size,
        )
        self.rounds_seen: list[list[list[int]]] = []
        self.ran = threading.Event()

    @override
    def batches(self, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        episodes = self.experience_episodes()
        self.rounds_seen.append([[s["i"] for s in e] for e in episodes])
        steps = [s for e in episodes for s in e]
        for i in range(0, len(steps), batch_size):
            yield steps[i : i + batch_size]

    @override
    def step(self, batch: list[dict[str, Any]]) -> tuple[torch.Tensor, dict]:
        x = torch.tensor([[float(s["i"])] for s in batch])
        return (self.models["net"].model(x) - 2 * x).pow(2).mean(), {}

    @override
    def teardown(self) -> None:
        super().teardown()
        self.ran.set()


def wire(trainer: ConfigDrivenTrainer[Any], buffer: Any = None) -> DataUsersDict:
    users = DataUsersDict.from_data_buffers(
        {"episodes": EpisodeBuffer(1000) if buffer is None else buffer}
    )
    trainer.attach_training_models(
        TrainingModelsDict({"net": TorchTrainingModel(nn.Linear(1, 1))})
    )
    trainer.attach_data_users(users)
    return users


class Agent:
    """Collects numbered steps; ``end`` marks an episode's last one."""

    def __init__(self, users: DataUsersDict) -> None:
        self.collector = users["episodes"].collector
        self.i = 0

    def steps(self, n: int, end: bool = True) -> list[int]:
        first = self.i
        for k in range(n):
            self.collector.collect({"i": self.i, "done": end and k == n - 1})
            self.i += 1
        return list(range(first, self.i))


def test_a_round_waits_for_new_complete_episodes() -> None:
    trainer = EpisodeFit({"num_episodes_per_experience": 3})
    agent = Agent(wire(trainer))
    first = [agent.steps(2), agent.steps(3)]
    partial = agent.steps(2, end=False)
    report = trainer.trainability_report()
    assert (report.new_episodes, report.min_new_episodes) == (2, 3)
    assert not report.trainable and report.reason == "2/3 new episodes"
    assert not trainer.run()
    first.append(partial + agent.steps(1))
    assert trainer.trainability_report().trainable
    assert trainer.run()
    assert trainer.rounds_seen == [first]
    assert not trainer.run(), "no new episodes since the round"
    assert trainer.trainability_report().reason == "0/3 new episodes"
    second = [agent.steps(4), agent.steps(1), agent.steps(2)]
    assert trainer.run()
    assert trainer.rounds_seen[1] == second
    assert trainer.rounds == 2


def test_asking_changes_nothing_the_round_takes_its_experience() -> None:
    trainer = EpisodeFit({"num_episodes_per_experience": 2}, min_buffer_size=1)
    users = wire(trainer)
    agent = Agent(users)
    first = [agent.steps(2), agent.steps(1)]
    for _ in range(3):
        assert trainer.is_trainable()
        report = trainer.trainability_report()
        assert (report.new_data, report.new_episodes) == (3, 2)
        assert trainer.episode_wake_target() == ("episodes", 2)
    assert users["episodes"].collector.pending == 3, "the check moved items"
    assert len(users["episodes"]) == 0
    assert trainer.run()
    assert trainer.rounds_seen == [first]
    assert users["episodes"].collector.pending == 0
    report = trainer.trainability_report()
    assert (report.new_data, report.new_episodes) == (0, 0)
    assert not trainer.is_trainable()


def test_by_default_a_round_takes_every_waiting_episode() -> None:
    trainer = EpisodeFit({"num_episodes_per_experience": 2})
    agent = Agent(wire(trainer))
    waiting = [agent.steps(1), agent.steps(2), agent.steps(3), agent.steps(1)]
    agent.steps(2, end=False)
    assert trainer.run()
    assert trainer.rounds_seen == [waiting]
    assert trainer.trainability_report().new_episodes == 0
    assert not trainer.run()


def test_exact_rounds_take_num_episodes_per_experience_and_leave_the_rest() -> None:
    trainer = EpisodeFit(
        {"num_episodes_per_experience": 2, "episodes_per_round": "exact"}
    )
    agent = Agent(wire(trainer))
    waiting = [agent.steps(1), agent.steps(2), agent.steps(3), agent.steps(1)]
    waiting.append(agent.steps(2))
    assert trainer.run()
    assert trainer.rounds_seen == [waiting[0:2]]
    # Three still wait: the next round can start without new data.
    assert trainer.trainability_report().new_episodes == 3
    assert trainer.episode_wake_target() == ("episodes", 4)
    assert trainer.run()
    assert trainer.rounds_seen[1] == waiting[2:4]
    report = trainer.trainability_report()
    assert (report.new_episodes, report.trainable) == (1, False)
    assert report.reason == "1/2 new episodes"
    assert not trainer.run()
    waiting.append(agent.steps(4))
    assert trainer.run()
    assert trainer.rounds_seen[2] == waiting[4:6]
    assert trainer.rounds == 3


def test_exact_rounds_need_episodes() -> None:
    with pytest.raises(
        ValueError,
        match=r"episodes_per_round = 'exact' takes complete episodes, but "
        r"buffer 'episodes' \(SequentialBuffer\) does not mark episode ends",
    ):
        wire(EpisodeFit({"episodes_per_round": "exact"}), SequentialBuffer(10))


def test_the_episode_condition_joins_the_base_conditions() -> None:
    trainer = EpisodeFit({"num_episodes_per_experience": 1}, min_buffer_size=5)
    agent = Agent(wire(trainer))
    agent.steps(2)
    report = trainer.trainability_report()
    assert report.new_episodes == 1 and not report.trainable
    assert report.reason == "buffer 'episodes' has 2/5 items"
    assert not trainer.run()
    agent.steps(3)
    assert trainer.run()
    assert trainer.rounds_seen == [[[0, 1], [2, 3, 4]]]


def test_without_episodes_the_default_is_ignored_but_an_explicit_count_is_refused() -> (
    None
):
    trainer = EpisodeFit({})
    users = wire(trainer, SequentialBuffer(10))
    users["episodes"].collector.collect({"i": 0})
    assert trainer.episodes_per_experience == 0
    assert trainer.trainability_report().min_new_episodes == 0
    assert trainer.is_trainable()
    with pytest.raises(
        ValueError,
        match=r"num_episodes_per_experience = 8 counts complete episodes, but "
        r"buffer 'episodes' \(SequentialBuffer\) does not mark episode ends",
    ):
        wire(EpisodeFit({"num_episodes_per_experience": 8}), SequentialBuffer(10))
    with pytest.raises(ValueError, match="has no training_condition_data_user"):
        wire(EpisodeFit({"num_episodes_per_experience": 2}, data_user=None))
    # 0 says "do not wait": fine on any buffer.
    wire(EpisodeFit({"num_episodes_per_experience": 0}), SequentialBuffer(10))


def test_training_steps_rounds_then_the_trainer_is_finished(tmp_path: Path) -> None:
    trainer = EpisodeFit({"training_steps": 2, "num_episodes_per_experience": 1})
    agent = Agent(wire(trainer))
    for _ in range(2):
        agent.steps(2)
        assert trainer.run()
    agent.steps(2)
    report = trainer.trainability_report()
    assert not report.trainable
    assert report.reason == "finished: 2/2 training rounds done (training_steps)"
    assert not trainer.run()
    assert trainer.wake_target() is None and trainer.episode_wake_target() is None
    trainer.save_state(tmp_path / "t")
    other = EpisodeFit({"training_steps": 3, "num_episodes_per_experience": 1})
    Agent(wire(other)).steps(2)
    other.load_state(tmp_path / "t")
    assert other.rounds == 2 and not other.finished
    unlimited = EpisodeFit({"training_steps": None, "num_episodes_per_experience": 1})
    unlimited.load_state(tmp_path / "t")
    assert not unlimited.finished


def test_episodes_seen_survive_save_and_load(tmp_path: Path) -> None:
    trainer = EpisodeFit({"num_episodes_per_experience": 2})
    users = wire(trainer)
    agent = Agent(users)
    agent.steps(1)
    agent.steps(1)
    assert trainer.run()
    agent.steps(1)
    users.save_state(tmp_path / "data")
    trainer.save_state(tmp_path / "trainer")
    other = EpisodeFit({"num_episodes_per_experience": 2})
    other_users = wire(other)
    other_users.load_state(tmp_path / "data")
    other.load_state(tmp_path / "trainer")
    assert other.trainability_report().new_episodes == 1
    Agent(other_users).steps(1)
    assert other.run()
    assert [len(e) for e in other.rounds_seen[0]] == [1, 1]


def test_wake_targets_name_only_the_missing_condition() -> None:
    trainer = EpisodeFit({"num_episodes_per_experience": 2}, min_buffer_size=4)
    agent = Agent(wire(trainer))
    agent.steps(1)
    # Both missing: wake on whichever can come first.
    assert trainer.wake_target() == ("episodes", 4)
    assert trainer.episode_wake_target() == ("episodes", 2)
    agent.steps(3, end=False)
    # The buffer is big enough: waking on items would spin.
    assert trainer.wake_target() is None
    assert trainer.episode_wake_target() == ("episodes", 2)
    trainer2 = EpisodeFit({"num_episodes_per_experience": 2}, min_buffer_size=10)
    agent2 = Agent(wire(trainer2))
    agent2.steps(1)
    agent2.steps(1)
    # Episodes are there: only items are missing.
    assert trainer2.episode_wake_target() is None
    assert trainer2.wake_target() == ("episodes", 10)


def test_the_step_ending_the_last_episode_wakes_the_training_thread() -> None:
    trainer = EpisodeFit({"num_episodes_per_experience": 3})
    users = wire(trainer)
    trainers = TrainersDict({"fit": trainer})
    events = EventBus()
    finished = events.subscribe()
    controller = Controller(TimeController(), events)
    failures: list[str] = []
    # Timeouts far beyond the test's: only the wake-up can make it train in time.
    worker = TrainingWorker(
        trainers,
        users,
        controller,
        events,
        lambda where, e, tb: failures.append(tb),
        poll_interval=60.0,
        idle_timeout=60.0,
    )
    assert not worker.records["fit"].custom_condition
    worker.start()
    try:
        agent = Agent(users)
        expected = [agent.steps(3), agent.steps(1)]
        last = agent.steps(2, end=False)
        assert not trainer.ran.is_set()
        expected.append(last + agent.steps(1))
        assert trainer.ran.wait(WAIT), "the training thread was not woken"
        event = finished.get(timeout=WAIT)
        while not isinstance(event, TrainingRunFinished):
            event = finished.get(timeout=WAIT)
        assert trainer.rounds_seen == [expected]
    finally:
        controller.shutdown()
        worker.join(WAIT)
    assert not worker.is_alive() and not failures, failures
