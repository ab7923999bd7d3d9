"""Gymnasium adapter (PAMIQ-Core's ``pamiq_core.gym``); needs ``pip install pamiq-console[gym]``."""

from .agent import GymAgent
from .env import GymEnvironment
from .types import EnvReset, EnvStep, GymAction, GymObs

__all__ = ["EnvReset", "EnvStep", "GymAction", "GymAgent", "GymEnvironment", "GymObs"]
