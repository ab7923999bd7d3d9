"""An environment built from a sensor and an actuator (PAMIQ-Core's ``modular_env``).

A :class:`Sensor` produces observations and an :class:`Actuator` carries out
actions; :class:`ModularEnvironment` joins one of each into an
:class:`~engine.interaction.Environment`. :class:`SensorsDict` and
:class:`ActuatorsDict` group several by name, so a robot with a camera and a
microphone, wheels and an arm is ``ModularEnvironment.from_dict(sensors,
actuators)``: it observes ``{"camera": ..., "mic": ...}`` and takes actions
``{"wheels": ..., "arm": ...}``.

Every part is a full interaction component: setup/teardown, pause/resume and
state save/load reach each sensor and actuator, each part's state under its
own path (``sensor``/``actuator``, or the part's name in a dict).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import UserDict
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from typing_extensions import override

from ..state.persistence import PersistentStateMixin
from ..thread.thread_events import ThreadEventMixin
from .composite import Composite
from .environment import Environment
from .event_mixin import InteractionEventMixin

T = TypeVar("T")
ObsType = TypeVar("ObsType")
ActType = TypeVar("ActType")


class Sensor(
    ABC, InteractionEventMixin, PersistentStateMixin, ThreadEventMixin, Generic[T]
):
    """Reads one observation from the world each step."""

    @abstractmethod
    def read(self) -> T:
        """Return the current reading."""


class Actuator(
    ABC, InteractionEventMixin, PersistentStateMixin, ThreadEventMixin, Generic[T]
):
    """Carries out one action in the world each step."""

    @abstractmethod
    def operate(self, action: T) -> None:
        """Carry out ``action``."""


class ModularEnvironment(Composite, Environment[ObsType, ActType]):
    """Observes through a sensor and acts through an actuator.

    Args:
        sensor: Reads the observations.
        actuator: Carries out the actions.
    """

    def __init__(self, sensor: Sensor[ObsType], actuator: Actuator[ActType]) -> None:
        super().__init__()
        self.sensor = sensor
        self.actuator = actuator

    @override
    def _parts(self) -> Iterator[tuple[str, Any]]:
        yield "sensor", self.sensor
        yield "actuator", self.actuator

    @override
    def observe(self) -> ObsType:
        """Read the sensor."""
        return self.sensor.read()

    @override
    def affect(self, action: ActType) -> None:
        """Operate the actuator."""
        self.actuator.operate(action)

    @staticmethod
    def from_dict(
        sensors: Mapping[str, Sensor[Any]], actuators: Mapping[str, Actuator[Any]]
    ) -> ModularEnvironment[Mapping[str, Any], Mapping[str, Any]]:
        """An environment over named sensors and actuators.

        Args:
            sensors: Sensors by name; observations are ``{name: reading}``.
            actuators: Actuators by name; actions are ``{name: action}``.
        """
        return ModularEnvironment(SensorsDict(sensors), ActuatorsDict(actuators))


class SensorsDict(Composite, Sensor[Mapping[str, Any]], UserDict[str, Sensor[Any]]):
    """Sensors by name, read together: ``read()`` is ``{name: reading}``."""

    @override
    def _parts(self) -> Iterator[tuple[str, Any]]:
        return iter(self.data.items())

    @override
    def read(self) -> Mapping[str, Any]:
        return {name: sensor.read() for name, sensor in self.data.items()}


class ActuatorsDict(
    Composite, Actuator[Mapping[str, Any]], UserDict[str, Actuator[Any]]
):
    """Actuators by name, operated together from one ``{name: action}`` mapping."""

    @override
    def _parts(self) -> Iterator[tuple[str, Any]]:
        return iter(self.data.items())

    @override
    def operate(self, action: Mapping[str, Any]) -> None:
        """Give each actuator its action.

        Raises:
            KeyError: Naming the actuators ``action`` has no entry for (checked
                before any actuator moves).
        """
        missing = [name for name in self.data if name not in action]
        if missing:
            raise KeyError(
                f"action has no entry for actuator(s) {', '.join(map(repr, missing))} "
                f"(got {', '.join(map(repr, action)) or 'none'})"
            )
        for name, actuator in self.data.items():
            actuator.operate(action[name])
