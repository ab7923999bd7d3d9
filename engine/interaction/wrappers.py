"""Transform observations and actions on their way (PAMIQ-Core's ``wrappers``).

A :class:`Wrapper` turns one value into another (normalise an image, map a
discrete action to motor commands). :class:`SensorWrapper` applies one to a
sensor's readings, :class:`ActuatorWrapper` to the actions an actuator gets,
and :class:`EnvironmentWrapper` to both sides of an environment. Wherever a
wrapper is expected a plain callable is accepted too (it becomes a
:class:`LambdaWrapper`).

Wrappers are interaction components: a wrapper with state (running statistics
for normalisation, say) is set up, paused and saved with what it wraps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from typing_extensions import override

from ..state.persistence import PersistentStateMixin
from ..thread.thread_events import ThreadEventMixin
from .composite import Composite
from .environment import Environment
from .event_mixin import InteractionEventMixin
from .modular_env import Actuator, Sensor

T = TypeVar("T")
W = TypeVar("W")
ObsType = TypeVar("ObsType")
WrappedObsType = TypeVar("WrappedObsType")
ActType = TypeVar("ActType")
WrappedActType = TypeVar("WrappedActType")


class Wrapper(
    ABC, InteractionEventMixin, PersistentStateMixin, ThreadEventMixin, Generic[T, W]
):
    """Turns a ``T`` into a ``W``; calling the wrapper calls :meth:`wrap`."""

    @abstractmethod
    def wrap(self, value: T) -> W:
        """Return the transformed ``value``."""

    def __call__(self, value: T) -> W:
        """Call :meth:`wrap`."""
        return self.wrap(value)

    def wrap_sensor(self, sensor: Sensor[T]) -> SensorWrapper[T, W]:
        """A sensor whose readings are those of ``sensor`` passed through this wrapper."""
        return SensorWrapper(sensor, self)

    def wrap_actuator(self, actuator: Actuator[W]) -> ActuatorWrapper[W, T]:
        """An actuator that passes each action through this wrapper to ``actuator``."""
        return ActuatorWrapper(actuator, self)


class LambdaWrapper(Wrapper[T, W]):
    """A wrapper that calls a function.

    Args:
        func: Turns a value into the wrapped value.

    Raises:
        TypeError: If ``func`` is not callable.
    """

    def __init__(self, func: Callable[[T], W]) -> None:
        super().__init__()
        if not callable(func):
            raise TypeError(f"LambdaWrapper needs a callable, got {func!r}")
        self._func = func

    @override
    def wrap(self, value: T) -> W:
        return self._func(value)


def as_wrapper(wrapper: Wrapper[T, W] | Callable[[T], W], where: str) -> Wrapper[T, W]:
    """Return ``wrapper`` itself, or a :class:`LambdaWrapper` around a plain callable.

    Args:
        wrapper: A wrapper or a callable.
        where: The argument's name, for the error message.

    Raises:
        TypeError: If ``wrapper`` is neither.
    """
    if isinstance(wrapper, Wrapper):
        return wrapper
    if callable(wrapper):
        return LambdaWrapper(wrapper)
    raise TypeError(f"{where} must be a Wrapper or a callable, got {wrapper!r}")


class EnvironmentWrapper(
    Composite,
    Environment[WrappedObsType, WrappedActType],
    Generic[ObsType, WrappedObsType, ActType, WrappedActType],
):
    """An environment seen through wrappers: observations and actions are transformed.

    Its state holds the environment's and both wrappers' under ``env``,
    ``obs_wrapper`` and ``act_wrapper``.

    Args:
        env: The environment to wrap.
        obs_wrapper: Turns the environment's observations into the agent's.
        act_wrapper: Turns the agent's actions into the environment's.

    Raises:
        TypeError: If a wrapper is neither a :class:`Wrapper` nor a callable.
    """

    def __init__(
        self,
        env: Environment[ObsType, ActType],
        obs_wrapper: Wrapper[ObsType, WrappedObsType]
        | Callable[[ObsType], WrappedObsType],
        act_wrapper: Wrapper[WrappedActType, ActType]
        | Callable[[WrappedActType], ActType],
    ) -> None:
        super().__init__()
        self.env = env
        self._obs_wrapper = as_wrapper(obs_wrapper, "EnvironmentWrapper obs_wrapper")
        self._act_wrapper = as_wrapper(act_wrapper, "EnvironmentWrapper act_wrapper")

    @property
    def obs_wrapper(self) -> Wrapper[ObsType, WrappedObsType]:
        """The observation wrapper."""
        return self._obs_wrapper

    @property
    def act_wrapper(self) -> Wrapper[WrappedActType, ActType]:
        """The action wrapper."""
        return self._act_wrapper

    @override
    def _parts(self) -> Iterator[tuple[str, Any]]:
        yield "env", self.env
        yield "obs_wrapper", self._obs_wrapper
        yield "act_wrapper", self._act_wrapper

    @override
    def observe(self) -> WrappedObsType:
        return self._obs_wrapper(self.env.observe())

    @override
    def affect(self, action: WrappedActType) -> None:
        self.env.affect(self._act_wrapper(action))


class SensorWrapper(Composite, Sensor[W], Generic[T, W]):
    """A sensor whose readings pass through a wrapper.

    Its state holds the sensor's and the wrapper's under ``sensor`` and ``wrapper``.

    Args:
        sensor: The sensor to read.
        wrapper: Turns each reading into what this sensor returns.

    Raises:
        TypeError: If ``wrapper`` is neither a :class:`Wrapper` nor a callable.
    """

    def __init__(
        self, sensor: Sensor[T], wrapper: Wrapper[T, W] | Callable[[T], W]
    ) -> None:
        super().__init__()
        self.sensor = sensor
        self._wrapper = as_wrapper(wrapper, "SensorWrapper wrapper")

    @property
    def wrapper(self) -> Wrapper[T, W]:
        """The wrapper applied to the readings."""
        return self._wrapper

    @override
    def _parts(self) -> Iterator[tuple[str, Any]]:
        yield "sensor", self.sensor
        yield "wrapper", self._wrapper

    @override
    def read(self) -> W:
        return self._wrapper(self.sensor.read())


class ActuatorWrapper(Composite, Actuator[W], Generic[T, W]):
    """An actuator whose actions pass through a wrapper first.

    Its state holds the actuator's and the wrapper's under ``actuator`` and ``wrapper``.

    Args:
        actuator: The actuator that carries out the transformed actions.
        wrapper: Turns each action given to this actuator into one for ``actuator``.

    Raises:
        TypeError: If ``wrapper`` is neither a :class:`Wrapper` nor a callable.
    """

    def __init__(
        self, actuator: Actuator[T], wrapper: Wrapper[W, T] | Callable[[W], T]
    ) -> None:
        super().__init__()
        self.actuator = actuator
        self._wrapper = as_wrapper(wrapper, "ActuatorWrapper wrapper")

    @property
    def wrapper(self) -> Wrapper[W, T]:
        """The wrapper applied to the actions."""
        return self._wrapper

    @override
    def _parts(self) -> Iterator[tuple[str, Any]]:
        yield "actuator", self.actuator
        yield "wrapper", self._wrapper

    @override
    def operate(self, action: W) -> None:
        self.actuator.operate(self._wrapper(action))
