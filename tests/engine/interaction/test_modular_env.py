"""Environments built from sensors and actuators (PAMIQ-Core's ModularEnvironment)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import override

from engine import (
    Actuator,
    ActuatorsDict,
    Agent,
    Environment,
    Interaction,
    LaunchConfig,
    ModularEnvironment,
    Sensor,
    SensorsDict,
    System,
)

WAIT = 10.0


class Thermometer(Sensor[float]):
    """Reads a temperature that drifts by one degree per read; keeps its offset."""

    def __init__(self, log: list[str], name: str = "thermometer") -> None:
        self.log, self.name = log, name
        self.offset = 0.0
        self.reads = 0
        self.paused = threading.Event()

    @override
    def read(self) -> float:
        self.reads += 1
        return 20.0 + self.offset + self.reads

    @override
    def setup(self) -> None:
        self.log.append(f"{self.name}.setup")

    @override
    def teardown(self) -> None:
        self.log.append(f"{self.name}.teardown")

    @override
    def on_paused(self) -> None:
        self.log.append(f"{self.name}.paused")
        self.paused.set()

    @override
    def on_resumed(self) -> None:
        self.log.append(f"{self.name}.resumed")

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".json").write_text(
            json.dumps({"offset": self.offset, "reads": self.reads})
        )

    @override
    def load_state(self, path: Path) -> None:
        state = json.loads(path.with_suffix(".json").read_text())
        self.offset, self.reads = state["offset"], state["reads"]


class Heater(Actuator[float]):
    """Remembers the power it was last set to."""

    def __init__(self, log: list[str], name: str = "heater") -> None:
        self.log, self.name = log, name
        self.power: float | None = None

    @override
    def operate(self, action: float) -> None:
        self.power = action

    @override
    def setup(self) -> None:
        self.log.append(f"{self.name}.setup")

    @override
    def teardown(self) -> None:
        self.log.append(f"{self.name}.teardown")

    @override
    def on_paused(self) -> None:
        self.log.append(f"{self.name}.paused")

    @override
    def on_resumed(self) -> None:
        self.log.append(f"{self.name}.resumed")

    @override
    def save_state(self, path: Path) -> None:
        path.with_suffix(".json").write_text(json.dumps({"power": self.power}))

    @override
    def load_state(self, path: Path) -> None:
        self.power = json.loads(path.with_suffix(".json").read_text())["power"]


def test_sensor_and_actuator_must_implement_read_and_operate() -> None:
    with pytest.raises(TypeError, match="read"):
        Sensor()  # type: ignore[abstract]
    with pytest.raises(TypeError, match="operate"):
        Actuator()  # type: ignore[abstract]


def test_a_modular_environment_observes_through_its_sensor_and_acts_through_its_actuator() -> (
    None
):
    log: list[str] = []
    sensor, heater = Thermometer(log), Heater(log)
    env = ModularEnvironment(sensor, heater)
    assert isinstance(env, Environment)
    assert env.observe() == 21.0
    env.affect(0.5)
    assert heater.power == 0.5


def test_lifecycle_reaches_sensor_then_actuator() -> None:
    log: list[str] = []
    env = ModularEnvironment(Thermometer(log), Heater(log))
    env.setup()
    env.on_paused()
    env.on_resumed()
    env.teardown()
    assert log == [
        "thermometer.setup",
        "heater.setup",
        "thermometer.paused",
        "heater.paused",
        "thermometer.resumed",
        "heater.resumed",
        "thermometer.teardown",
        "heater.teardown",
    ]


def test_state_of_both_parts_round_trips(tmp_path: Path) -> None:
    log: list[str] = []
    sensor, heater = Thermometer(log), Heater(log)
    env = ModularEnvironment(sensor, heater)
    sensor.offset = 1.5
    env.observe()
    env.affect(0.75)
    env.save_state(tmp_path / "env")
    assert sorted(p.name for p in (tmp_path / "env").iterdir()) == [
        "actuator.json",
        "sensor.json",
    ]

    other_sensor, other_heater = Thermometer(log), Heater(log)
    ModularEnvironment(other_sensor, other_heater).load_state(tmp_path / "env")
    assert (other_sensor.offset, other_sensor.reads) == (1.5, 1)
    assert other_heater.power == 0.75


def test_from_dict_observes_and_acts_by_name() -> None:
    log: list[str] = []
    env = ModularEnvironment.from_dict(
        sensors={
            "inside": Thermometer(log, "inside"),
            "outside": Thermometer(log, "outside"),
        },
        actuators={"floor": Heater(log, "floor"), "wall": Heater(log, "wall")},
    )
    assert env.observe() == {"inside": 21.0, "outside": 21.0}
    env.affect({"floor": 1.0, "wall": 0.25})
    actuators = env.actuator
    assert isinstance(actuators, ActuatorsDict)
    assert actuators["floor"].power == 1.0  # type: ignore[attr-defined]
    assert actuators["wall"].power == 0.25  # type: ignore[attr-defined]


def test_an_action_missing_an_actuator_moves_none_and_names_it() -> None:
    log: list[str] = []
    floor, wall = Heater(log, "floor"), Heater(log, "wall")
    actuators = ActuatorsDict({"floor": floor, "wall": wall})
    with pytest.raises(KeyError, match="'wall'"):
        actuators.operate({"floor": 1.0})
    assert floor.power is None


def test_sensors_dict_forwards_lifecycle_and_state_by_name(tmp_path: Path) -> None:
    log: list[str] = []
    sensors = SensorsDict()
    sensors["a"] = Thermometer(log, "a")
    sensors["b"] = Thermometer(log, "b")
    sensors.setup()
    sensors.teardown()
    assert log == ["a.setup", "b.setup", "a.teardown", "b.teardown"]

    sensors["b"].offset = 7.0  # type: ignore[attr-defined]
    sensors.save_state(tmp_path / "sensors")
    assert sorted(p.name for p in (tmp_path / "sensors").iterdir()) == [
        "a.json",
        "b.json",
    ]
    fresh = SensorsDict({"a": Thermometer(log, "a"), "b": Thermometer(log, "b")})
    fresh.load_state(tmp_path / "sensors")
    assert fresh["b"].offset == 7.0  # type: ignore[attr-defined]


def test_an_empty_group_still_saves_a_directory(tmp_path: Path) -> None:
    ActuatorsDict().save_state(tmp_path / "none")
    assert (tmp_path / "none").is_dir()


class Thermostat(Agent[dict[str, float], dict[str, float]]):
    """Heats when it is cold inside; signals after some steps."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0
        self.stepped = threading.Event()
        self.last_action: dict[str, float] = {}

    @override
    def step(self, observation: dict[str, float]) -> dict[str, float]:
        self.steps += 1
        if self.steps >= 5:
            self.stepped.set()
        self.last_action = {"floor": 1.0 if observation["inside"] < 30 else 0.0}
        return self.last_action


def test_a_modular_environment_runs_pauses_and_saves_in_a_system(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    inside, floor = Thermometer(log, "inside"), Heater(log, "floor")
    agent = Thermostat()
    system = System(
        Interaction[Any, Any](
            agent, ModularEnvironment.from_dict({"inside": inside}, {"floor": floor})
        ),
        {},
        {},
        {},
        LaunchConfig(states_dir=tmp_path / "states", durable_saves=False),
    )
    system.start()
    try:
        assert agent.stepped.wait(WAIT)
        system.pause()
        assert inside.paused.is_set()
        assert floor.power == agent.last_action["floor"]
        state = system.save_state()
        saved = json.loads(
            (
                state / "interaction" / "environment" / "sensor" / "inside.json"
            ).read_text()
        )
        assert saved["reads"] == inside.reads
        assert (
            state / "interaction" / "environment" / "actuator" / "floor.json"
        ).is_file()
        system.resume()
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert log[:2] == ["inside.setup", "floor.setup"]
    assert log[-2:] == ["inside.teardown", "floor.teardown"]
