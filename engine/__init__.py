"""The pamiq-console engine: inference and training threads in one process.

Public names follow PAMIQ-Core, so ``from pamiq_core import X`` becomes
``from engine import X``. The engine never imports a UI library.

The names here load on first use (PEP 562), each from the module in
:data:`_SOURCES`: importing one module of the engine (every ``pamiq-console``
command imports ``engine.services.run_dir``) runs this file first, and would
otherwise import numpy and the whole runtime with it (a third of ``pamiq-console
status``'s start-up).
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

_SOURCES: dict[str, tuple[str, ...]] = {
    ".data": ("DataBuffer", "DataCollector", "DataUser"),
    ".interaction": (
        "Actuator",
        "ActuatorsDict",
        "ActuatorWrapper",
        "Agent",
        "Environment",
        "EnvironmentWrapper",
        "FixedIntervalInteraction",
        "Interaction",
        "IntervalAdjustor",
        "LambdaWrapper",
        "ModularEnvironment",
        "Sensor",
        "SensorsDict",
        "SensorWrapper",
        "SleepIntervalAdjustor",
        "Wrapper",
    ),
    ".launch": ("launch",),
    ".launch_config": ("LaunchConfig",),
    ".model": ("InferenceModel", "TrainingModel"),
    ".runtime.control": (
        "PauseTimeoutError",
        "ShutdownRequested",
        "SystemState",
        "SystemStoppedError",
        "pause_point",
    ),
    ".state.persistence": ("PersistentStateMixin", "StateError"),
    ".system": ("System", "SystemFailedError"),
    ".telemetry.events": ("Event", "EventBus", "Subscription"),
    ".telemetry.status": ("SystemStatus",),
    ".telemetry.trainability": ("TrainabilityReport",),
    ".thread": ("ThreadEventMixin",),
}
"""The module each public name comes from (the imports under TYPE_CHECKING below,
for type checkers, name the same)."""
_SUBMODULES = ("data", "interaction", "model", "time", "utils")
"""Submodules that are public names themselves (``from engine import time``)."""
_SOURCE_OF = {name: module for module, names in _SOURCES.items() for name in names}

if _TYPE_CHECKING:
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


def __getattr__(name: str) -> _Any:
    if name in _SUBMODULES:
        return _importlib.import_module(f".{name}", __name__)
    if name not in _SOURCE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_SOURCE_OF[name], __name__), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Face(_types.ModuleType):
    """This package, whose ``launch`` is the function, never the module that
    holds it: the import system sets ``engine.launch`` to the module when it
    loads it (``import engine.launch``), after this file has run."""

    def __setattr__(self, name: str, value: _Any) -> None:
        if name == "launch" and isinstance(value, _types.ModuleType):
            value = value.launch
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Face

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
