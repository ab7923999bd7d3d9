"""The status snapshot's one serialisable form: to_dict, JSON, from_dict."""

from __future__ import annotations

import json

import pytest

from engine.model import TrainingModelsDict
from engine.telemetry.status import (
    BufferStatus,
    ModelStatus,
    SystemStatus,
    TrainerStatus,
)
from engine.telemetry.status_report import model_statuses
from engine.telemetry.trainability import TrainabilityReport
from tests.engine.tiny import ScaleModel


def full_status() -> SystemStatus:
    return SystemStatus(
        name="probe",
        state="paused",
        uptime=12.5,
        time_scale=2.0,
        steps=1234,
        steps_per_second=99.5,
        wall_time=1_700_000_000.0,
        buffers={
            "replay": BufferStatus(size=7, capacity=10, collected=70, pending=3),
            "open": BufferStatus(size=1, capacity=None, collected=1, pending=0),
            "unfed": BufferStatus(0, 10, 0, 0, collector_taken=False),
        },
        trainers={
            "dqn": TrainerStatus(
                condition=TrainabilityReport(
                    "replay", 7, 5, 3, 4, False, "3/4 new items", 1, 2
                ),
                runs=4,
                last_duration=0.25,
                last_metrics={"loss": 0.5, "q": -1.0},
                custom_condition=True,
            ),
            "free": TrainerStatus(
                condition=TrainabilityReport.unconditional(),
                runs=0,
                last_duration=None,
                last_metrics={},
                custom_condition=False,
            ),
        },
        models={
            "q": ModelStatus(4, 1_699_999_999.5, 0.001, False),
            "enc": ModelStatus(0, None, None, True),
            "critic": ModelStatus(0, None, None, False, training_only=True),
        },
        errors=("inference thread: ValueError: boom",),
        last_save="runs/probe/states/a.state",
        started_from="runs/probe/states/0.state",
        last_save_time=1_699_999_990.0,
        next_save_time=1_700_000_050.0,
    )


def test_round_trip_through_json_gives_an_equal_snapshot() -> None:
    status = full_status()
    wire = json.loads(json.dumps(status.to_dict()))
    assert SystemStatus.from_dict(wire) == status


def test_a_minimal_snapshot_round_trips() -> None:
    status = SystemStatus("x", "active", 0.0, 1.0, 0, 0.0, 1.0)
    assert SystemStatus.from_dict(status.to_dict()) == status


def test_unknown_keys_are_ignored_so_a_socket_reply_reads() -> None:
    wire = full_status().to_dict()
    wire["run"] = {"pid": 1, "run_dir": "runs/probe"}
    wire["buffers"]["replay"]["added_later"] = 1
    assert SystemStatus.from_dict(wire) == full_status()


def test_a_reply_that_is_not_a_status_is_a_value_error() -> None:
    wire = full_status().to_dict()
    del wire["uptime"]
    with pytest.raises(ValueError, match="uptime"):
        SystemStatus.from_dict(wire)
    with pytest.raises(ValueError):
        SystemStatus.from_dict({**full_status().to_dict(), "trainers": {"t": {}}})


def test_a_model_without_an_inference_copy_is_reported_training_only() -> None:
    models = TrainingModelsDict(
        {"policy": ScaleModel(), "critic": ScaleModel(has_inference_model=False)}
    )
    statuses = model_statuses(models)
    assert not statuses["policy"].training_only
    assert statuses["critic"].training_only
    # A snapshot from a run older than the field reads as a model it syncs.
    wire = full_status().to_dict()
    del wire["models"]["critic"]["training_only"]
    assert not SystemStatus.from_dict(wire).models["critic"].training_only
