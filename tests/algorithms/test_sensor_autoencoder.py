"""Sensor autoencoder: loss falls on the stream, and a run through the real System."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from algorithms.sensor_autoencoder import (
    AutoEncoder,
    AutoencoderTrainer,
    EncodingAgent,
    SensorStream,
)
from engine import FixedIntervalInteraction, System
from engine.data import DataUsersDict, RandomReplacementBuffer
from engine.model import TrainingModelsDict
from engine.telemetry.events import Metric, ModelSynced, TrainingRunFinished
from engine.torch import TorchTrainingModel

WAIT = 20.0


def make_model() -> TorchTrainingModel[AutoEncoder]:
    torch.manual_seed(0)
    return TorchTrainingModel(AutoEncoder(16, 3, 32), inference_procedure="encode")


def test_reconstruction_loss_falls_on_the_stream() -> None:
    stream = SensorStream(seed=0)
    buffer = RandomReplacementBuffer(500)
    users = DataUsersDict.from_data_buffers({"readings": buffer})
    for _ in range(500):
        users["readings"].collector.collect(stream.observe())
    trainer = AutoencoderTrainer(
        {
            "lr": 3e-3,
            "optimizer": "adam",
            "batch_size": 64,
            "max_steps_per_run": 50,
            "seed": 0,
            "log_every": 50,
        }
    )
    trainer.attach_training_models(TrainingModelsDict({"autoencoder": make_model()}))
    trainer.attach_data_users(users)
    losses = []
    for _ in range(6):
        trainer.setup()
        trainer.train()
        trainer.teardown()
        losses.append(trainer.last_metrics["loss"])
    assert losses[-1] < 0.3 * losses[0], losses


def test_autoencoder_runs_at_a_fixed_interval_through_the_system(
    tmp_path: Path,
) -> None:
    agent = EncodingAgent()
    interaction = FixedIntervalInteraction.with_sleep_adjustor(
        agent, SensorStream(), interval=0.002
    )
    trainer = AutoencoderTrainer(
        {"batch_size": 16, "max_steps_per_run": 2, "seed": 0}, min_buffer_size=32
    )
    system = System(
        interaction,
        {"autoencoder": make_model()},
        {"readings": RandomReplacementBuffer(256)},
        {"autoencoder": trainer},
        {"states_dir": tmp_path, "save_final_state": False},
    )
    sub = system.events.subscribe()
    system.start()
    try:
        deadline = time.monotonic() + WAIT
        seen: set[type] = set()
        while not {TrainingRunFinished, ModelSynced, Metric} <= seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"only saw {seen} within {WAIT} s")
            event = sub.get(timeout=remaining)
            if event is not None:
                seen.add(type(event))
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert not system.failures
    assert agent.last_code is not None and agent.last_code.shape == (3,)
