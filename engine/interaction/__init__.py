"""Agents, environments and the interactions that connect them."""

from .agent import Agent
from .environment import Environment
from .event_mixin import InteractionEventMixin
from .interactions import FixedIntervalInteraction, Interaction
from .interval_adjustors import IntervalAdjustor, SleepIntervalAdjustor

__all__ = [
    "Agent",
    "Environment",
    "FixedIntervalInteraction",
    "Interaction",
    "InteractionEventMixin",
    "IntervalAdjustor",
    "SleepIntervalAdjustor",
]
