"""An agent for ``GymEnvironment``: implement ``on_reset`` and ``on_step``."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Generic, TypeVar

from typing_extensions import override

from ..interaction import Agent
from .types import EnvReset, EnvStep, GymAction, GymObs

O = TypeVar("O")  # noqa: E741 - PAMIQ-Core's name
A = TypeVar("A")


class GymAgent(Agent[GymObs, GymAction[A]], Generic[O, A]):
    """Base agent for gymnasium environments.

    Set ``self.need_reset = True`` to end the episode after the current action.
    """

    need_reset: bool = False

    @override
    def setup(self) -> None:
        super().setup()
        self.need_reset = False

    @abstractmethod
    def on_reset(self, obs: O, info: dict[str, Any]) -> A:
        """Return the first action of an episode."""

    @abstractmethod
    def on_step(
        self,
        obs: O,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
    ) -> A:
        """Return the next action after a step."""

    def _on_reset(self, reset: EnvReset[O]) -> A:
        self.need_reset = False
        return self.on_reset(reset.obs, reset.info)

    def _on_step(self, step: EnvStep[O]) -> A:
        return self.on_step(
            step.obs, step.reward, step.terminated, step.truncated, step.info
        )

    @override
    def step(self, observation: GymObs) -> GymAction[A]:
        if isinstance(observation, EnvReset):
            action = self._on_reset(observation)
        elif isinstance(observation, EnvStep):
            action = self._on_step(observation)
        else:
            final, reset = observation
            self._on_step(final)
            action = self._on_reset(reset)
        return GymAction(action, self.need_reset)
