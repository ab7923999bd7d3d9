"""Agents, environments and the interactions that connect them."""

from . import modular_env, wrappers
from .agent import Agent
from .environment import Environment
from .event_mixin import InteractionEventMixin
from .interactions import FixedIntervalInteraction, Interaction
from .interval_adjustors import IntervalAdjustor, SleepIntervalAdjustor
from .modular_env import (
    Actuator,
    ActuatorsDict,
    ModularEnvironment,
    Sensor,
    SensorsDict,
)
from .wrappers import (
    ActuatorWrapper,
    EnvironmentWrapper,
    LambdaWrapper,
    SensorWrapper,
    Wrapper,
)

__all__ = [
    "Actuator",
    "ActuatorWrapper",
    "ActuatorsDict",
    "Agent",
    "Environment",
    "EnvironmentWrapper",
    "FixedIntervalInteraction",
    "Interaction",
    "InteractionEventMixin",
    "IntervalAdjustor",
    "LambdaWrapper",
    "ModularEnvironment",
    "Sensor",
    "SensorWrapper",
    "SensorsDict",
    "SleepIntervalAdjustor",
    "Wrapper",
    "modular_env",
    "wrappers",
]
