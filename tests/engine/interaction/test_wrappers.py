"""Wrappers that transform observations and actions (PAMIQ-Core's wrappers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typing_extensions import override

from engine import (
    ActuatorWrapper,
    Environment,
    EnvironmentWrapper,
    LambdaWrapper,
    Sensor,
    SensorWrapper,
    Wrapper,
)
from tests.engine.interaction.test_modular_env import Heater, Thermometer


class RunningMean(Wrapper[float, float]):
    """Centres readings on their running mean: a wrapper with state."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.log = log if log is not None else []
        self.count = 0
        self.mean = 0.0

    @override
    def wrap(self, value: float) -> float:
        self.count += 1
        self.mean += (value - self.mean) / self.count
        return value - self.mean

    @override
    def setup(self) -> None:
        self.log.append("mean.setup")

    @override
    def teardown(self) -> None:
        self.log.append("mean.teardown")

    @override
    def on_paused(self) -> None:
        self.log.append("mean.paused")

    @override
    def on_resumed(self) -> None:
        self.log.append("mean.resumed")

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".json").write_text(
            json.dumps({"count": self.count, "mean": self.mean})
        )

    @override
    def load_state(self, path: Path) -> None:
        state = json.loads(path.with_suffix(".json").read_text())
        self.count, self.mean = state["count"], state["mean"]


class Counter(Environment[int, int]):
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.value = 0
        self.received: list[int] = []

    @override
    def observe(self) -> int:
        return self.value

    @override
    def affect(self, action: int) -> None:
        self.received.append(action)
        self.value += action

    @override
    def setup(self) -> None:
        self.log.append("env.setup")

    @override
    def teardown(self) -> None:
        self.log.append("env.teardown")

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".txt").write_text(str(self.value))

    @override
    def load_state(self, path: Path) -> None:
        self.value = int(path.with_suffix(".txt").read_text())


def test_a_wrapper_is_called_like_a_function() -> None:
    wrapper = LambdaWrapper(lambda x: x * 10)
    assert wrapper(3) == 30
    assert wrapper.wrap(4) == 40


def test_lambda_wrapper_refuses_what_it_cannot_call() -> None:
    with pytest.raises(TypeError, match="LambdaWrapper needs a callable, got 3"):
        LambdaWrapper(3)  # type: ignore[arg-type]


def test_a_sensor_wrapper_transforms_each_reading() -> None:
    log: list[str] = []
    sensor = SensorWrapper(Thermometer(log), lambda celsius: celsius * 9 / 5 + 32)
    assert isinstance(sensor, Sensor)
    assert sensor.read() == pytest.approx(21.0 * 9 / 5 + 32)
    assert isinstance(sensor.wrapper, LambdaWrapper)


def test_an_actuator_wrapper_transforms_each_action() -> None:
    log: list[str] = []
    heater = Heater(log)
    percent = ActuatorWrapper(heater, lambda pct: pct / 100)
    percent.operate(40)
    assert heater.power == 0.4


def test_wrap_sensor_and_wrap_actuator_put_the_wrapper_in_front() -> None:
    log: list[str] = []
    double = LambdaWrapper(lambda x: 2 * x)
    sensor = double.wrap_sensor(Thermometer(log))
    heater = Heater(log)
    actuator = double.wrap_actuator(heater)
    assert sensor.read() == 42.0
    actuator.operate(0.25)
    assert heater.power == 0.5
    assert sensor.wrapper is double and actuator.wrapper is double


def test_a_stateful_sensor_wrapper_is_set_up_paused_and_saved_with_its_sensor(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    mean = RunningMean(log)
    thermometer = Thermometer(log)
    sensor = SensorWrapper(thermometer, mean)
    sensor.setup()
    sensor.on_paused()
    sensor.on_resumed()
    sensor.teardown()
    assert log == [
        "thermometer.setup",
        "mean.setup",
        "thermometer.paused",
        "mean.paused",
        "thermometer.resumed",
        "mean.resumed",
        "thermometer.teardown",
        "mean.teardown",
    ]

    readings = [sensor.read() for _ in range(3)]
    assert readings == pytest.approx([0.0, 0.5, 1.0])
    sensor.save_state(tmp_path / "sensor")
    assert sorted(p.name for p in (tmp_path / "sensor").iterdir()) == [
        "sensor.json",
        "wrapper.json",
    ]
    restored_mean, restored_thermometer = RunningMean(), Thermometer([])
    SensorWrapper(restored_thermometer, restored_mean).load_state(tmp_path / "sensor")
    assert (restored_mean.count, restored_mean.mean) == (3, mean.mean)
    assert restored_thermometer.reads == 3


def test_an_environment_wrapper_transforms_observations_and_actions() -> None:
    log: list[str] = []
    env = Counter(log)
    wrapped = EnvironmentWrapper(env, lambda n: f"count={n}", lambda text: len(text))
    assert isinstance(wrapped, Environment)
    assert wrapped.observe() == "count=0"
    wrapped.affect("abc")
    assert env.received == [3]
    assert wrapped.observe() == "count=3"


def test_an_environment_wrapper_forwards_lifecycle_and_state(tmp_path: Path) -> None:
    log: list[str] = []
    env = Counter(log)
    mean = RunningMean(log)
    wrapped = EnvironmentWrapper(env, mean, lambda a: a)
    wrapped.setup()
    wrapped.teardown()
    assert log == ["env.setup", "mean.setup", "env.teardown", "mean.teardown"]

    env.value = 5
    wrapped.observe()
    wrapped.save_state(tmp_path / "wrapped")
    # The lambda action wrapper has no state and writes nothing.
    assert sorted(p.name for p in (tmp_path / "wrapped").iterdir()) == [
        "env.txt",
        "obs_wrapper.json",
    ]
    fresh_env, fresh_mean = Counter([]), RunningMean()
    EnvironmentWrapper(fresh_env, fresh_mean, lambda a: a).load_state(
        tmp_path / "wrapped"
    )
    assert fresh_env.value == 5
    assert (fresh_mean.count, fresh_mean.mean) == (1, 5.0)


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: EnvironmentWrapper(Counter([]), None, lambda a: a),  # type: ignore[arg-type]
            "EnvironmentWrapper obs_wrapper must be a Wrapper or a callable, got None",
        ),
        (
            lambda: EnvironmentWrapper(Counter([]), lambda o: o, "x"),  # type: ignore[arg-type]
            "EnvironmentWrapper act_wrapper must be a Wrapper or a callable, got 'x'",
        ),
        (
            lambda: SensorWrapper(Thermometer([]), 1.5),  # type: ignore[arg-type]
            "SensorWrapper wrapper must be a Wrapper or a callable, got 1.5",
        ),
        (
            lambda: ActuatorWrapper(Heater([]), [1]),  # type: ignore[arg-type]
            r"ActuatorWrapper wrapper must be a Wrapper or a callable, got \[1\]",
        ),
    ],
)
def test_a_wrapper_that_is_neither_a_wrapper_nor_callable_is_refused(
    make, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        make()
