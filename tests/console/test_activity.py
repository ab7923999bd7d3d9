"""The rates of the trainers and models panels: right at once after a load, a
pause or a resume, and not frozen once the run stopped."""

from __future__ import annotations

from console.activity import Activity
from console.render import per_second
from engine.telemetry.events import Event, StateLoaded
from engine.telemetry.status import ModelStatus, SystemStatus, TrainerStatus
from engine.telemetry.trainability import TrainabilityReport

T0 = 1_700_000_000.0


def _status(at: float, runs: int, state: str = "active") -> SystemStatus:
    return SystemStatus(
        name="r",
        state=state,
        uptime=at - T0,
        time_scale=1.0,
        steps=runs * 10,
        steps_per_second=0.0,
        wall_time=at,
        trainers={
            "t": TrainerStatus(TrainabilityReport.unconditional(), runs, 0.1, {}, False)
        },
        models={"m": ModelStatus(runs, at, 0.001, False)},
    )


def _feed(
    activity: Activity,
    start: float,
    runs: int,
    per_second: int,
    seconds: int,
    events: dict[int, list[Event]] | None = None,
) -> int:
    """Two snapshots a second for ``seconds``, ``per_second`` runs a second."""
    for tick in range(1, 2 * seconds + 1):
        runs += per_second // 2
        activity.feed(_status(start + tick / 2, runs), (events or {}).get(tick, []))
    return runs


def test_after_a_load_the_rate_is_the_new_pace_at_once() -> None:
    activity = Activity(window=10.0)
    runs = _feed(activity, T0, 0, 4, 12)
    assert activity.trainer("t").per_second == 4.0  # type: ignore[union-attr]
    # A load sets the counters back to the state's; they climb on from there.
    load = T0 + 12.2
    activity.feed(_status(T0 + 12.5, 10), [StateLoaded(wall_time=load, path="s")])
    _feed(activity, T0 + 12.5, 10, 4, 1)
    rate = activity.trainer("t")
    assert rate is not None and rate.per_second == 4.0
    assert activity.model("m").per_second == 4.0  # type: ignore[union-attr]
    # Set forward, the jump is no burst of activity either.
    activity = Activity(window=10.0)
    runs = _feed(activity, T0, 0, 4, 5)
    activity.feed(
        _status(T0 + 5.5, runs + 5000), [StateLoaded(wall_time=T0 + 5.4, path="s")]
    )
    _feed(activity, T0 + 5.5, runs + 5000, 4, 1)
    assert activity.trainer("t").per_second == 4.0  # type: ignore[union-attr]


def test_a_load_whose_event_was_lost_does_not_read_as_zero() -> None:
    activity = Activity(window=10.0)
    _feed(activity, T0, 1000, 6, 5)
    _feed(activity, T0 + 5, 20, 6, 2)  # set back to 20: no event came
    assert activity.trainer("t").per_second == 6.0  # type: ignore[union-attr]


def test_paused_reads_zero_and_a_resume_shows_the_pace_at_once() -> None:
    activity = Activity(window=10.0)
    runs = _feed(activity, T0, 0, 4, 5)
    for tick in range(1, 7):
        activity.feed(_status(T0 + 5 + tick / 2, runs, "paused"), [])
    assert activity.trainer("t").per_second == 0.0  # type: ignore[union-attr]
    runs = _feed(activity, T0 + 8, runs, 4, 1)
    # The paused seconds do not dilute the rate once it runs again.
    assert activity.trainer("t").per_second == 4.0  # type: ignore[union-attr]
    # After a long pause, the new pace shows at once.
    for tick in range(1, 31):
        activity.feed(_status(T0 + 9 + tick / 2, runs, "paused"), [])
    _feed(activity, T0 + 24, runs, 8, 1)
    assert activity.trainer("t").per_second == 8.0  # type: ignore[union-attr]


def test_a_stopped_run_has_no_rate() -> None:
    activity = Activity(window=10.0)
    runs = _feed(activity, T0, 0, 4, 5)
    stopped = _status(T0 + 5.5, runs, "stopped")
    activity.feed(stopped, [])
    assert activity.trainer("t") is None and activity.model("m") is None
    assert per_second(activity.model("m")) == "-"
    # A run that is gone repeats its last status (same time): still none.
    activity.feed(stopped, [])
    assert activity.trainer("t") is None
