"""The event log's coalescing: bursts are summed, order is kept."""

from __future__ import annotations

from console.eventlog import (
    ERROR,
    INFO,
    NOTICE,
    OK,
    SEVERITIES,
    WARNING,
    Coalescer,
)
from console.render import SEVERITY_STYLES
from engine.telemetry.events import (
    ErrorOccurred,
    Event,
    LogMessage,
    ModelSynced,
    StateLoaded,
    StateRemoved,
    StateSaved,
    SystemStateChanged,
    TrainingRunFinished,
)

_HOLD = ("pausing", "paused", "resuming", "active")
"""The transitions of every pause, the operator's or a save's."""


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


def _texts(log: Coalescer, *events: Event) -> list[tuple[str, str]]:
    return [(line.text, line.severity) for e in events for line in log.feed(e, 10.0)]


def test_a_save_s_pause_is_not_logged_as_the_operator_s() -> None:
    held = [SystemStateChanged(wall_time=10.0, state=s) for s in _HOLD]
    saved = StateSaved(wall_time=10.0, path="s", duration=0.05, paused_for=0.01)
    assert _texts(Coalescer(), *held[:2], saved, *held[2:]) == [
        ("saved s in 50.0 ms (paused 10.0 ms)", OK)
    ]
    # The operator's pause: the engine's notices, after the same transitions.
    operator = [*held[:2], LogMessage(wall_time=10.0, level="info", message="paused")]
    operator += [*held[2:], LogMessage(wall_time=10.0, level="info", message="resumed")]
    assert _texts(Coalescer(), *operator) == [
        ("system paused", NOTICE),
        ("system resumed", NOTICE),
    ]
    stopping = SystemStateChanged(wall_time=10.0, state="stopping")
    assert _texts(Coalescer(), stopping) == [("system stopping", NOTICE)]


def test_lines_have_the_severity_of_what_happened() -> None:
    def one(event: Event) -> str:
        (line,) = Coalescer().feed(event, 10.0)
        return line.severity

    assert one(StateLoaded(wall_time=1.0, path="p")) == NOTICE  # not an error
    assert one(ErrorOccurred(wall_time=1.0, thread="t", message="m")) == ERROR
    died = LogMessage(wall_time=1.0, level="warning", message="actor 1 died: oom")
    assert one(died) == WARNING  # not a plain line
    gone = LogMessage(wall_time=1.0, level="error", message="actor 1 is gone")
    assert one(gone) == ERROR
    assert one(LogMessage(wall_time=1.0, level="info", message="started")) == INFO
    assert one(StateRemoved(wall_time=1.0, path="p", reason="r")) == INFO
    assert one(StateSaved(wall_time=1.0, path="p", duration=0.1, paused_for=0.1)) == OK
    # Each severity has a colour of its own; only an error is red.
    styles = [SEVERITY_STYLES[s] for s in SEVERITIES]
    assert len(set(styles)) == len(styles)
    assert [s for s in SEVERITIES if "red" in SEVERITY_STYLES[s]] == [ERROR]
