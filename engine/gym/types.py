"""Observation and action wrappers exchanged between ``GymEnvironment`` and ``GymAgent``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

O = TypeVar("O")  # noqa: E741 - PAMIQ-Core's name
A = TypeVar("A")


@dataclass(frozen=True)
class EnvReset(Generic[O]):
    """The observation right after ``env.reset()``."""

    obs: O
    info: dict[str, Any]


@dataclass(frozen=True)
class EnvStep(Generic[O]):
    """The result of ``env.step(action)``."""

    obs: O
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]

    @property
    def done(self) -> bool:
        """Whether the episode ended (terminated or truncated)."""
        return self.terminated or self.truncated


EnvOutput: TypeAlias = EnvReset[Any] | EnvStep[Any]
# An episode end carries the final step and the next episode's reset together.
GymObs: TypeAlias = EnvReset[Any] | EnvStep[Any] | tuple[EnvStep[Any], EnvReset[Any]]


@dataclass(frozen=True)
class GymAction(Generic[A]):
    """An action, and whether the agent wants the episode reset after it."""

    action: A
    need_reset: bool
