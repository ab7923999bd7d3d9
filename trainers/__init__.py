"""Trainers: the seed ``Trainer`` API, torch trainers and their configuration.

Whole algorithms (agent, network and trainer in one file each) live in the
``algorithms`` package; this package is the API they are written against.

Config-driven training comes two ways, as in ASTRA-RL: subclass
:class:`ConfigDrivenTrainer`, or compose a :class:`PushbuttonTrainer` from a
:class:`TrainingConfiguration`, a source of experience and an :class:`Algorithm`.

Only :class:`Trainer` and :class:`TrainersDict` are imported eagerly; the torch-based names load on first
use, so pure-Python runs never import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from engine.runtime.trainer_contract import TrainersDict

from .base import Trainer

_LAZY = {
    "TorchTrainer": "trainers.torch",
    "OptimizersSetup": "trainers.torch",
    "TrainingConfiguration": "trainers.config",
    "ConfigDrivenTrainer": "trainers.config_driven",
    "PushbuttonTrainer": "trainers.pushbutton",
    "Algorithm": "trainers.algorithm",
}

__all__ = [
    "Algorithm",
    "ConfigDrivenTrainer",
    "OptimizersSetup",
    "PushbuttonTrainer",
    "TorchTrainer",
    "Trainer",
    "TrainersDict",
    "TrainingConfiguration",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trainers' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
