"""The pamiq-console engine: inference and training threads in one process.

Public names follow PAMIQ-Core, so ``from pamiq_core import X`` becomes
``from engine import X``. The engine never imports a UI library.
"""

from . import data, interaction, model, time, utils
from .control import (
    PauseTimeoutError,
    ShutdownRequested,
    SystemState,
    SystemStoppedError,
    pause_point,
)
from .data import DataBuffer, DataCollector, DataUser
from .events import Event, EventBus, Subscription
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
from .state import PersistentStateMixin
from .state_store import StateError
from .status import SystemStatus
from .system import System, SystemFailedError
from .thread_events import ThreadEventMixin
from .trainability import TrainabilityReport

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
