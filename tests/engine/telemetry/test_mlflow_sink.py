"""MLflow as a metric sink: what a run logs is read back with MLflow's own client."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from algorithms.bandit import BanditAgent, BanditEnvironment, BanditTrainer, ValueTable
from engine import LaunchConfig, System
from engine.data import SequentialBuffer
from engine.interaction import FixedIntervalInteraction
from engine.launch_config import LaunchConfigError
from engine.telemetry import mlflow_sink
from engine.telemetry.events import ErrorOccurred, EventBus, LogMessage, Metric
from tests.engine.telemetry.metrics_lines import read_metrics

mlflow = pytest.importorskip("mlflow", reason="needs the mlflow extra")
pytest.importorskip("sqlalchemy", reason="the sqlite tracking store needs sqlalchemy")

from mlflow.tracking import MlflowClient  # noqa: E402


def _system(tmp_path: Path, **config: Any) -> System:
    return System(
        FixedIntervalInteraction.with_sleep_adjustor(
            BanditAgent(epsilon=0.1, model="values", collector="pulls", seed=0),
            BanditEnvironment(means=[0.1, 0.5, 0.9], noise=0.2, seed=1),
            0.002,
        ),
        {"values": ValueTable(arms=3)},
        {"pulls": SequentialBuffer(500)},
        {
            "bandit": BanditTrainer(
                model="values",
                data_user="pulls",
                min_buffer_size=20,
                min_new_data_count=10,
            )
        },
        LaunchConfig(
            name="bandit-mlflow",
            states_dir=tmp_path / "states",
            run_dir=tmp_path / "run",
            durable_saves=False,
            **config,
        ),
    )


def _run_until_metrics(system: System, count: int) -> None:
    """Run ``system`` until its trainer reported ``count`` losses, then stop it."""
    seen = threading.Event()
    got: list[Metric] = []

    def on_event(event: object) -> None:
        if isinstance(event, Metric) and (event.source, event.name) == (
            "bandit",
            "loss",
        ):
            got.append(event)
            if len(got) >= count:
                seen.set()

    remove = system.events.add_callback(on_event)
    system.start()
    try:
        assert seen.wait(30), "the trainer reported no metrics"
    finally:
        remove()
        system.shutdown("test over")
        assert system.wait(timeout=60)


def test_a_run_s_metrics_params_and_end_are_read_back_with_mlflow_s_client(
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    system = _system(
        tmp_path,
        mlflow_tracking_uri=uri,
        mlflow_experiment="bandits",
        mlflow_params={"trainers": {"bandit": {"lr": 0.1}}, "seed": 0},
    )
    _run_until_metrics(system, 5)

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("bandits")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "bandit-mlflow"
    assert run.info.status == "FINISHED"
    assert run.data.params == {"trainers.bandit.lr": "0.1", "seed": "0"}
    assert run.data.tags["pamiq.run_dir"] == str(tmp_path / "run")
    history = client.get_metric_history(run.info.run_id, "bandit/loss")
    # the same values at the same steps as metrics.jsonl has
    written = [
        (m["step"], m["value"])
        for m in read_metrics(tmp_path / "run")
        if (m["source"], m["name"]) == ("bandit", "loss")
    ]
    assert len(history) >= 5
    assert sorted((h.step, h.value) for h in history) == sorted(written)


def test_an_unreachable_tracking_server_drops_metrics_with_a_warning_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow retries a refused connection for minutes by default
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    system = _system(tmp_path, mlflow_tracking_uri="http://127.0.0.1:9")
    warnings: list[str] = []
    system.events.add_callback(
        lambda e: (
            warnings.append(e.message)
            if isinstance(e, LogMessage) and e.message.startswith("mlflow:")
            else None
        )
    )
    services = system.services
    assert services is not None
    _run_until_metrics(system, 5)
    assert len(warnings) == 1 and "cannot log to http://127.0.0.1:9" in warnings[0]
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["exit_code"] == 0
    # metrics.jsonl has every metric MLflow did not get
    assert any(m["source"] == "bandit" for m in read_metrics(tmp_path / "run"))


def test_a_run_that_failed_ends_its_mlflow_run_failed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    bus = EventBus()
    sink = mlflow_sink.MlflowSink(bus, uri, "failures", "broken", flush_interval=0.05)
    sink.start()
    bus.publish(Metric(source="agent", name="reward", value=1.0, step=1))
    bus.publish(ErrorOccurred(thread="training", message="boom", traceback=""))
    sink.close()
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("failures")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FAILED"
    assert [
        m.value for m in client.get_metric_history(run.info.run_id, "agent/reward")
    ] == [1.0]


def test_asking_for_mlflow_without_it_installed_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mlflow_sink, "mlflow_available", lambda: False)
    with pytest.raises(LaunchConfigError) as caught:
        LaunchConfig(mlflow_tracking_uri="sqlite:///x.db")
    assert str(caught.value) == (
        "LaunchConfig.mlflow_tracking_uri needs MLflow: "
        "pip install 'pamiq-console[mlflow]'"
    )


def test_nested_settings_are_flattened_into_parameters() -> None:
    flat = mlflow_sink.flatten_params(
        {"trainers": {"dqn": {"lr": 1e-3, "layers": [64, 64]}}, "name": "x" * 7000}
    )
    assert flat["trainers.dqn.lr"] == "0.001"
    assert flat["trainers.dqn.layers"] == "[64, 64]"
    assert len(flat["name"]) == mlflow_sink.MAX_PARAM_VALUE
