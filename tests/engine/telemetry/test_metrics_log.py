"""MetricsLog: Metric events become lines of metrics.jsonl."""

from __future__ import annotations

import subprocess
import sys
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


needs_tensorboard = pytest.mark.skipif(
    not tensorboard_available(), reason="needs the tensorboard extra"
)


@needs_tensorboard
def test_metrics_reach_tensorboard_as_scalars(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    bus = EventBus()
    with MetricsLog(bus, tmp_path / "run", tensorboard=True):
        bus.publish(Metric(source="dqn", name="loss", value=0.5, step=1))
        bus.publish(Metric(source="dqn", name="loss", value=0.25, step=2))
        bus.publish(Metric(source="agent", name="return", value=9.0, step=7))
    reader = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    reader.Reload()
    assert sorted(reader.Tags()["scalars"]) == ["agent/return", "dqn/loss"]
    assert [(s.step, s.value) for s in reader.Scalars("dqn/loss")] == [
        (1, 0.5),
        (2, 0.25),
    ]
    assert [(s.step, s.value) for s in reader.Scalars("agent/return")] == [(7, 9.0)]


@needs_tensorboard
def test_tensorboard_logging_does_not_import_torch(tmp_path: Path) -> None:
    # A run without torch models must not pay for torch because TensorBoard is installed.
    program = (
        "import sys\n"
        "from engine.telemetry.events import EventBus, Metric\n"
        "from engine.telemetry.metrics_log import MetricsLog\n"
        "bus = EventBus()\n"
        f"with MetricsLog(bus, {str(tmp_path)!r}, tensorboard=True):\n"
        "    bus.publish(Metric(source='a', name='b', value=1.0, step=1))\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert list((tmp_path / "tensorboard").iterdir())
