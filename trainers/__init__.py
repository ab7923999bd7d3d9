"""Trainers: the seed ``Trainer`` API, torch trainers and their configuration.

Whole algorithms (agent, network and trainer in one file each) live in the
``algorithms`` package; this package is the API they are written against.

Config-driven training (a :class:`TrainingConfiguration` says how to train)
comes two ways, as in ASTRA-RL, and both run one training loop:

- the config-driven trainer: subclass :class:`ConfigDrivenTrainer` and write
  its ``batches()`` and ``step()`` (:mod:`trainers.config_driven`);
- the pushbutton trainer: compose a :class:`PushbuttonTrainer` from a
  configuration, a source of experience and an :class:`Algorithm`, without
  writing a trainer class (ASTRA-RL's ``Trainer(config, sampler, algorithm)``,
  :mod:`trainers.pushbutton`).

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
