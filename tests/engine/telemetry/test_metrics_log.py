"""MetricsLog: Metric events become lines of metrics.jsonl."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.telemetry.events import ErrorOccurred, EventBus, LogMessage, Metric
from engine.telemetry.metrics_log import (
    MetricsLog,
    metrics_files,
    tensorboard_available,
)
from tests.engine.telemetry.metrics_lines import read_metrics


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


def _wait_for(condition: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.002)


def test_metrics_jsonl_is_rotated_at_its_cap_and_read_whole_across_rotations(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    cap, keep, sent = 1000, 2, 0
    for _ in range(2):  # a second run of the directory rotates on as the first did
        bus = EventBus()
        with MetricsLog(
            bus, run, tensorboard=False, flush_interval=0.01, max_bytes=cap, keep=keep
        ) as log:
            for batch in range(1, 41):
                for _ in range(4):  # ~130 bytes a line: a few lines a flush
                    bus.publish(Metric(source="agent", name="x", value=sent, step=sent))
                    sent += 1
                _wait_for(lambda n=4 * batch: log.written >= n, "a flush")
        assert log.unwritten == 0 and log.rotations > 0
    files = sorted(p.name for p in run.iterdir() if p.name.startswith("metrics"))
    assert files == ["metrics.jsonl", "metrics.jsonl.1", "metrics.jsonl.2"]
    assert all((run / name).stat().st_size <= cap for name in files)
    # The reader sees the newest lines in order, with no gap or repeat, up to
    # the last one sent; the oldest went with the rotated file beyond `keep`.
    assert metrics_files(run) == [run / n for n in reversed(files)]
    values = [int(r["value"]) for r in read_metrics(run)]
    assert values == list(range(values[0], sent)) and values[0] > 0
    assert len(values) > 10


def test_a_file_that_cannot_be_rotated_is_written_on_with_one_warning(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    bus = EventBus()
    warnings: list[LogMessage] = []

    def warned(event: object) -> None:
        if isinstance(event, LogMessage):
            warnings.append(event)

    bus.add_callback(warned)
    # A directory where the first rotated file goes: the rename fails.
    (run / "metrics.jsonl.1").mkdir()
    (run / "metrics.jsonl.1" / "x").write_text("keeps it from being replaced")
    with MetricsLog(
        bus, run, tensorboard=False, flush_interval=0.01, max_bytes=200, keep=1
    ) as log:
        for i in range(20):
            bus.publish(Metric(source="agent", name="x", value=i, step=i))
            _wait_for(lambda i=i: log.written > i, "a flush")
    assert log.rotations == 0 and log.written == 20 and log.unwritten == 0
    (warning,) = warnings
    assert "cannot rotate" in warning.message and "metrics.jsonl" in warning.message
    assert [int(r["value"]) for r in read_metrics(run)][-20:] == list(range(20))


def test_a_writer_failure_is_published_when_no_handler_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = EventBus()
    seen = bus.subscribe()
    log = MetricsLog(bus, tmp_path / "run", tensorboard=False)

    def fail() -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(log, "_write_until_closed", fail)
    log.start()
    try:
        event = seen.get(timeout=10.0)  # published on the writer's thread
    finally:
        log.close()
    assert isinstance(event, ErrorOccurred)
    assert (event.thread, event.message) == (
        "metrics-log",
        "metrics-log thread failed: RuntimeError: disk on fire",
    )
    assert "RuntimeError: disk on fire" in event.traceback
