"""The trainer contract: required methods checked at wiring, optional hooks found once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from typing_extensions import override

from engine.runtime.trainer_contract import trainer_hooks
from engine.telemetry.events import Metric
from engine.telemetry.trainability import TrainabilityReport, predictable_condition
from tests.engine.tiny import NudgeTrainer, make_system
from trainers import Trainer


class DuckTrainer:
    """Only what TrainerLike declares: no metrics, no report, no wake-ups."""

    def __init__(self) -> None:
        self.ran = threading.Event()

    def attach_training_models(self, training_models: object) -> None:
        pass

    def attach_data_users(self, data_users: object) -> None:
        pass

    def run(self) -> bool:
        self.ran.set()
        return False

    def save_state(self, path: Path) -> None:
        path.mkdir()

    def load_state(self, path: Path) -> None:
        pass

    def on_paused(self) -> None:
        pass

    def on_resumed(self) -> None:
        pass


class NoRun(DuckTrainer):
    run = None  # type: ignore[assignment]


def test_a_trainer_without_a_required_method_is_refused_when_wired(
    tmp_path: Path,
) -> None:
    with pytest.raises(TypeError) as info:
        make_system(tmp_path, trainer=NoRun())  # type: ignore[arg-type]
    message = str(info.value)
    assert "trainer 'nudge'" in message
    assert "NoRun" in message and "lacks run()" in message


def test_a_duck_typed_trainer_runs_with_default_hooks(tmp_path: Path) -> None:
    trainer = DuckTrainer()
    system, *_ = make_system(tmp_path, trainer=trainer)  # type: ignore[arg-type]
    system.start()
    try:
        assert trainer.ran.wait(10)
        status = system.status().trainers["nudge"]
        assert status.condition == TrainabilityReport.unconditional()
        assert status.last_metrics == {}
        assert status.custom_condition  # it decides in run(): polled
    finally:
        system.shutdown()
        assert system.wait(10)


class Unmarked(NudgeTrainer):
    @override
    def is_trainable(self) -> bool:
        return super().is_trainable()


class Marked(NudgeTrainer):
    @override
    @predictable_condition
    def is_trainable(self) -> bool:
        return super().is_trainable()


class MarkedThenOverridden(Marked):
    @override
    def is_trainable(self) -> bool:
        return super().is_trainable()


@pytest.mark.parametrize(
    ("trainer", "predictable"),
    [
        (NudgeTrainer(), True),
        (Unmarked(), False),
        (Marked(), True),
        (MarkedThenOverridden(), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Trainer) else str(v),
)
def test_only_conditions_the_engine_can_predict_are_waited_on(
    trainer: Trainer, predictable: bool
) -> None:
    hooks = trainer_hooks("t", trainer)
    assert hooks.predictable is predictable
    assert trainer.has_predictable_condition() is predictable
    if not predictable:
        # A condition of its own is polled: no wake target could be trusted.
        assert hooks.wake_target() is None


def test_trainer_metrics_reach_the_status_and_the_event_stream(
    tmp_path: Path,
) -> None:
    class Reporting(NudgeTrainer):
        @override
        def train(self) -> None:
            super().train()
            self.report_metrics({"loss": 0.5})

    system, *_ = make_system(tmp_path, trainer=Reporting(min_new=1))
    sub = system.events.subscribe()
    system.start()
    try:
        event = sub.get(timeout=10)
        while not (isinstance(event, Metric) and event.name == "loss"):
            assert event is not None, "no loss metric within 10 s"
            event = sub.get(timeout=10)
        assert event.source == "nudge"
        assert system.status().trainers["nudge"].last_metrics["loss"] == 0.5
    finally:
        system.shutdown()
        assert system.wait(10)
