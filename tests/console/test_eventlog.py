"""The event log's coalescing: bursts are summed, order is kept."""

from __future__ import annotations

from console.eventlog import Coalescer
from engine.telemetry.events import ModelSynced, StateSaved, TrainingRunFinished


def sync(version: int, at: float) -> ModelSynced:
    return ModelSynced(wall_time=at, model="m", version=version, duration=0.001)


def run(number: int, at: float) -> TrainingRunFinished:
    return TrainingRunFinished(wall_time=at, trainer="t", run=number, duration=0.01)


def test_the_first_of_a_burst_shows_at_once_the_rest_are_summed() -> None:
    log = Coalescer(window=1.0)
    assert [line.text for line in log.feed(sync(1, 100.0), now=100.0)] == [
        "model m synced to v1 (1.0 ms)"
    ]
    for version in range(2, 6):
        assert log.feed(sync(version, 100.0 + version / 10), now=100.5) == []
    (summary,) = log.flush(now=101.1)
    assert summary.count == 4 and summary.text.endswith("v5 (1.0 ms) (x4)")
    assert log.flush(now=102.2) == []  # an idle window closes without a line


def test_other_events_close_open_bursts_first_and_flushes_keep_time_order() -> None:
    log = Coalescer(window=1.0)
    log.feed(run(1, 100.0), now=100.0)
    log.feed(sync(1, 100.1), now=100.1)
    log.feed(sync(2, 100.2), now=100.2)
    log.feed(sync(3, 100.3), now=100.3)
    log.feed(run(2, 100.9), now=100.9)
    log.feed(run(3, 100.95), now=100.95)
    saved = StateSaved(wall_time=101.0, path="s", duration=0.05, paused_for=0.01)
    lines = log.feed(saved, now=101.0)
    assert [line.kind for line in lines] == ["sync", "training", "saved"]
    times = [line.wall_time for line in lines]
    assert times == sorted(times)
