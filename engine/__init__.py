"""The pamiq-console engine: inference and training threads in one process.

Public names follow PAMIQ-Core, so ``from pamiq_core import X`` becomes
``from engine import X``. The engine never imports a UI library.
"""

from . import data, interaction, model, time, utils
from .data import DataBuffer, DataCollector, DataUser
from .interaction import (
    Actuator,
    ActuatorsDict,
    ActuatorWrapper,
    Agent,
    Environment,
    EnvironmentWrapper,
    FixedIntervalInteraction,
    Interaction,
    IntervalAdjustor,
    LambdaWrapper,
    ModularEnvironment,
    Sensor,
    SensorsDict,
    SensorWrapper,
    SleepIntervalAdjustor,
    Wrapper,
)
from .launch import launch
from .launch_config import LaunchConfig
from .model import InferenceModel, TrainingModel
from .runtime.control import (
    PauseTimeoutError,
    ShutdownRequested,
    SystemState,
    SystemStoppedError,
    pause_point,
)
from .state.persistence import PersistentStateMixin, StateError
from .system import System, SystemFailedError
from .telemetry.events import Event, EventBus, Subscription
from .telemetry.status import SystemStatus
from .telemetry.trainability import TrainabilityReport
from .thread import ThreadEventMixin

__all__ = [
    "Actuator",
    "ActuatorWrapper",
    "ActuatorsDict",
    "Agent",
    "DataBuffer",
    "DataCollector",
    "DataUser",
    "Environment",
    "EnvironmentWrapper",
    "Event",
    "EventBus",
    "FixedIntervalInteraction",
    "InferenceModel",
    "Interaction",
    "IntervalAdjustor",
    "LambdaWrapper",
    "LaunchConfig",
    "ModularEnvironment",
    "PauseTimeoutError",
    "PersistentStateMixin",
    "Sensor",
    "SensorWrapper",
    "SensorsDict",
    "ShutdownRequested",
    "SleepIntervalAdjustor",
    "StateError",
    "Subscription",
    "System",
    "SystemFailedError",
    "SystemState",
    "SystemStatus",
    "SystemStoppedError",
    "ThreadEventMixin",
    "TrainabilityReport",
    "TrainingModel",
    "Wrapper",
    "data",
    "interaction",
    "launch",
    "model",
    "pause_point",
    "time",
    "utils",
]
