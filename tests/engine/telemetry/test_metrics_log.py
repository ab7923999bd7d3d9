"""MetricsLog: Metric events become lines of metrics.jsonl."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.telemetry.events import EventBus, LogMessage, Metric
from engine.telemetry.metrics_log import MetricsLog, read_metrics, tensorboard_available


def test_metrics_are_written_as_json_lines(tmp_path: Path) -> None:
    bus = EventBus()
    with MetricsLog(bus, tmp_path / "run", tensorboard=False) as log:
        bus.publish(Metric(source="dqn", name="loss", value=0.5, step=1))
        bus.publish(LogMessage(level="info", message="not a metric"))
        bus.publish(Metric(source="dqn", name="lr", value=1e-3, step=1))
    records = read_metrics(tmp_path / "run")
    assert [(r["source"], r["name"], r["value"], r["step"]) for r in records] == [
        ("dqn", "loss", 0.5, 1),
        ("dqn", "lr", 1e-3, 1),
    ]
    assert log.written == 2 and log.dropped == 0


def test_tensorboard_is_optional(tmp_path: Path) -> None:
    if tensorboard_available():
        pytest.skip("tensorboard is installed here")
    with pytest.raises(RuntimeError, match="tensorboard"):
        MetricsLog(EventBus(), tmp_path, tensorboard=True)
    MetricsLog(EventBus(), tmp_path).close()


def test_each_run_appending_to_the_file_is_told_apart(tmp_path: Path) -> None:
    for value in (1.0, 2.0):
        bus = EventBus()
        with MetricsLog(bus, tmp_path / "run", tensorboard=False):
            bus.publish(Metric(source="agent", name="x", value=value, step=1))
            bus.publish(Metric(source="agent", name="x", value=value, step=2))
    records = read_metrics(tmp_path / "run")
    runs = [r["run"] for r in records]
    assert runs[0] == runs[1] and runs[2] == runs[3] and runs[1] < runs[2]
    assert [r["value"] for r in records if r["run"] == runs[2]] == [2.0, 2.0]
