"""Schedulers and reflection helpers (PAMIQ-Core's ``pamiq_core.utils``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.utils.reflection import get_class_module_path
from engine.utils.schedulers import (
    Scheduler,
    StepIntervalScheduler,
    TimeIntervalScheduler,
)
from tests.engine.tiny import advance_clock


class Calls:
    def __init__(self) -> None:
        self.order: list[str] = []

    def make(self, name: str):
        return lambda: self.order.append(name)


@pytest.mark.usefixtures("still_clock")
def test_time_interval_scheduler_fires_once_per_interval_of_engine_time() -> None:
    calls = Calls()
    scheduler = TimeIntervalScheduler(5.0, calls.make("tick"))
    scheduler.update()
    advance_clock(4.9)
    scheduler.update()
    assert calls.order == []
    advance_clock(0.2)
    assert scheduler.is_available()
    scheduler.update()
    scheduler.update()
    assert calls.order == ["tick"]
    advance_clock(5.1)
    scheduler.update()
    assert calls.order == ["tick", "tick"]


@pytest.mark.usefixtures("still_clock")
def test_time_interval_scheduler_does_not_move_while_the_clock_is_paused() -> None:
    calls = Calls()
    scheduler = TimeIntervalScheduler(0.0, calls.make("tick"))
    for _ in range(3):
        scheduler.update()  # no engine time passes while paused: 0 s never elapse
    assert calls.order == []
    advance_clock(0.001)
    scheduler.update()
    assert calls.order == ["tick"]


@pytest.mark.usefixtures("still_clock")
def test_time_interval_scheduler_state_keeps_the_interval_across_a_load(
    tmp_path: Path,
) -> None:
    calls = Calls()
    scheduler = TimeIntervalScheduler(10.0, calls.make("old"))
    advance_clock(6.0)
    scheduler.save_state(tmp_path / "scheduler")
    assert (tmp_path / "scheduler.json").is_file()

    resumed = TimeIntervalScheduler(10.0, calls.make("resumed"))
    resumed.load_state(tmp_path / "scheduler")
    advance_clock(3.0)
    resumed.update()
    assert calls.order == []  # 9 s of the interval have passed, not 10
    advance_clock(1.5)
    resumed.update()
    assert calls.order == ["resumed"]


def test_step_interval_scheduler_fires_on_every_nth_update() -> None:
    calls = Calls()
    scheduler = StepIntervalScheduler(3, [calls.make("a"), calls.make("b")])
    for _ in range(7):
        scheduler.update()
    assert calls.order == ["a", "b", "a", "b"]


def test_step_interval_scheduler_state_round_trips(tmp_path: Path) -> None:
    calls = Calls()
    scheduler = StepIntervalScheduler(3, calls.make("old"))
    scheduler.update()
    scheduler.update()
    scheduler.save_state(tmp_path / "steps")

    resumed = StepIntervalScheduler(3, calls.make("resumed"))
    resumed.load_state(tmp_path / "steps")
    resumed.update()
    assert calls.order == ["resumed"]


def test_callbacks_can_be_registered_and_removed() -> None:
    calls = Calls()
    first, second = calls.make("first"), calls.make("second")
    scheduler = StepIntervalScheduler(1, first)
    scheduler.register_callback(second)
    scheduler.update()
    scheduler.remove_callback(first)
    scheduler.update()
    assert calls.order == ["first", "second", "second"]
    with pytest.raises(ValueError, match="is not registered"):
        scheduler.remove_callback(first)


def test_a_custom_scheduler_only_decides_when() -> None:
    class EveryOther(Scheduler):
        def __init__(self, callback) -> None:
            super().__init__(callback)
            self.flip = False

        def is_available(self) -> bool:
            self.flip = not self.flip
            return self.flip

    calls = Calls()
    scheduler = EveryOther(calls.make("x"))
    for _ in range(4):
        scheduler.update()
    assert calls.order == ["x", "x"]


@pytest.mark.parametrize(
    "make, error, message",
    [
        (
            lambda: TimeIntervalScheduler(-1.0),
            ValueError,
            "TimeIntervalScheduler: interval must be >= 0 seconds, got -1.0",
        ),
        (
            lambda: StepIntervalScheduler(0),
            ValueError,
            "StepIntervalScheduler: interval must be an integer >= 1, got 0",
        ),
        (
            lambda: StepIntervalScheduler(2.5),  # type: ignore[arg-type]
            ValueError,
            "StepIntervalScheduler: interval must be an integer >= 1, got 2.5",
        ),
        (
            lambda: StepIntervalScheduler(1, ["not callable"]),  # type: ignore[list-item]
            TypeError,
            "StepIntervalScheduler: a callback must be callable, got 'not callable'",
        ),
    ],
)
def test_bad_scheduler_arguments_are_refused_clearly(make, error, message) -> None:
    with pytest.raises(error, match=message):
        make()


class Local:
    pass


def test_get_class_module_path_names_module_and_class() -> None:
    assert get_class_module_path(Local) == "tests.engine.utils.test_utils.Local"
    assert get_class_module_path(int) == "builtins.int"
