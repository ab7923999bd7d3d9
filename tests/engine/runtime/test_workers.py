"""The training worker's run counts: read, and continued from a saved state's."""

from __future__ import annotations

import pytest

from engine.data import DataUsersDict
from engine.data.impls import SequentialBuffer
from engine.model import TrainingModelsDict
from engine.runtime.control import Controller
from engine.runtime.trainer_contract import TrainersDict
from engine.runtime.workers import TrainingWorker
from engine.telemetry.events import EventBus
from engine.time import TimeController
from tests.engine.tiny import NudgeTrainer, ScaleModel


def training_worker() -> TrainingWorker:
    users = DataUsersDict.from_data_buffers({"obs": SequentialBuffer(10)})
    trainers = TrainersDict({"a": NudgeTrainer(), "b": NudgeTrainer()})
    trainers.attach_data_users(users)
    trainers.attach_training_models(TrainingModelsDict({"scale": ScaleModel()}))
    events = EventBus()
    # Never started: the counts are read and restored on the caller's thread,
    # as the system does while it holds still.
    return TrainingWorker(
        trainers,
        users,
        Controller(TimeController(), events),
        events,
        lambda where, e, tb: None,
    )


def test_run_counts_start_at_zero_and_are_a_copy() -> None:
    worker = training_worker()
    counts = worker.run_counts()
    assert counts == {"a": 0, "b": 0}
    counts["a"] = 5
    assert worker.run_counts() == {"a": 0, "b": 0}


def test_restored_counts_are_continued_and_unknown_trainers_ignored() -> None:
    worker = training_worker()
    worker.restore_run_counts({"a": 4, "gone": 9})
    assert worker.run_counts() == {"a": 4, "b": 0}
    assert worker.records["a"].status().runs == 4


@pytest.mark.parametrize("count", [-1, 2.0, True, None])
def test_an_impossible_count_is_refused_before_any_is_changed(count: object) -> None:
    worker = training_worker()
    with pytest.raises(ValueError, match="impossible run count"):
        worker.restore_run_counts({"a": 3, "b": count})  # type: ignore[dict-item]
    assert worker.run_counts() == {"a": 0, "b": 0}
