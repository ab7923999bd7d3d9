"""A setting changed while a run goes on reaches MLflow: a tag with its new value
and a metric at the step it changed, read back with MLflow's own client."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from algorithms.bandit import BanditAgent, BanditEnvironment, BanditTrainer, ValueTable
from engine import Interaction, LaunchConfig, System
from engine.data import SequentialBuffer
from engine.telemetry.events import Event, SettingChanged

pytest.importorskip("mlflow", reason="needs the mlflow extra")
pytest.importorskip("sqlalchemy", reason="the sqlite tracking store needs sqlalchemy")

from mlflow.tracking import MlflowClient


def test_a_change_is_a_tag_and_a_metric_in_mlflow(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    system = System(
        Interaction(BanditAgent(seed=0), BanditEnvironment([0.1, 0.9], seed=1)),
        {"values": ValueTable(2)},
        {"pulls": SequentialBuffer(100)},
        {"bandit": BanditTrainer(min_buffer_size=5, min_new_data_count=5)},
        LaunchConfig(
            name="tuned",
            run_dir=tmp_path / "run",
            durable_saves=False,
            mlflow_tracking_uri=uri,
            mlflow_experiment="tuning",
        ),
    )
    changed = threading.Event()
    seen: list[SettingChanged] = []

    def on_event(event: Event) -> None:
        if isinstance(event, SettingChanged):
            seen.append(event)
            changed.set()

    system.events.add_callback(on_event)
    system.start()
    try:
        system.set_setting("trainers.bandit.learning_rate", "0.25")
        assert changed.wait(30)
    finally:
        system.shutdown("test over")
        assert system.wait(timeout=60)

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tuning")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.tags["setting.trainers.bandit.learning_rate"] == "0.25"
    history = client.get_metric_history(
        run.info.run_id, "settings/trainers.bandit.learning_rate"
    )
    assert [h.value for h in history] == [0.25]
    assert seen[0].old == 0.5
