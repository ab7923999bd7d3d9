"""The environment the agent acts in (PAMIQ-Core's ``Environment``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from ..state.persistence import PersistentStateMixin
from ..thread.thread_events import ThreadEventMixin
from .event_mixin import InteractionEventMixin

ObsType = TypeVar("ObsType")
ActType = TypeVar("ActType")


class Environment(
    ABC,
    InteractionEventMixin,
    PersistentStateMixin,
    ThreadEventMixin,
    Generic[ObsType, ActType],
):
    """Produces observations and receives actions."""

    @abstractmethod
    def observe(self) -> ObsType:
        """Return the current observation."""

    @abstractmethod
    def affect(self, action: ActType) -> None:
        """Apply ``action``."""
