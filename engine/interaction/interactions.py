"""One observe-act-affect step, plain or at a fixed interval."""

from __future__ import annotations

from pathlib import Path
from typing import Generic, Self, TypeVar

from typing_extensions import override

from ..state.persistence import PersistentStateMixin
from ..thread.thread_events import ThreadEventMixin
from .agent import Agent
from .environment import Environment
from .event_mixin import InteractionEventMixin
from .interval_adjustors import IntervalAdjustor, SleepIntervalAdjustor

ObsType = TypeVar("ObsType")
ActType = TypeVar("ActType")


class Interaction(
    InteractionEventMixin,
    PersistentStateMixin,
    ThreadEventMixin,
    Generic[ObsType, ActType],
):
    """Runs the agent in the environment, one step at a time.

    Args:
        agent: Chooses actions.
        environment: Provides observations and takes actions.
    """

    def __init__(
        self, agent: Agent[ObsType, ActType], environment: Environment[ObsType, ActType]
    ) -> None:
        self.agent = agent
        self.environment = environment

    def step(self) -> None:
        """Observe, decide, act."""
        self.environment.affect(self.agent.step(self.environment.observe()))

    @override
    def setup(self) -> None:
        super().setup()
        self.agent.setup()
        self.environment.setup()

    @override
    def teardown(self) -> None:
        super().teardown()
        self.agent.teardown()
        self.environment.teardown()

    @override
    def save_state(self, path: Path) -> None:
        """Save agent and environment under ``path/agent`` and ``path/environment``."""
        path.mkdir()
        self.agent.save_state(path / "agent")
        self.environment.save_state(path / "environment")

    @override
    def load_state(self, path: Path) -> None:
        self.agent.load_state(path / "agent")
        self.environment.load_state(path / "environment")

    @override
    def on_paused(self) -> None:
        super().on_paused()
        self.agent.on_paused()
        self.environment.on_paused()

    @override
    def on_resumed(self) -> None:
        super().on_resumed()
        self.agent.on_resumed()
        self.environment.on_resumed()


class FixedIntervalInteraction(Interaction[ObsType, ActType]):
    """An interaction whose steps start on a fixed schedule.

    Args:
        agent: Chooses actions.
        environment: Provides observations and takes actions.
        adjustor: Keeps the schedule.
    """

    def __init__(
        self,
        agent: Agent[ObsType, ActType],
        environment: Environment[ObsType, ActType],
        adjustor: IntervalAdjustor,
    ) -> None:
        super().__init__(agent, environment)
        self._adjustor = adjustor

    @property
    def adjustor(self) -> IntervalAdjustor:
        """The schedule keeper."""
        return self._adjustor

    @classmethod
    def with_sleep_adjustor(
        cls,
        agent: Agent[ObsType, ActType],
        environment: Environment[ObsType, ActType],
        interval: float,
        offset: float = 0.0,
    ) -> Self:
        """Create one that sleeps until each deadline.

        Args:
            agent: Chooses actions.
            environment: Provides observations and takes actions.
            interval: Seconds (engine time) between steps.
            offset: Seconds taken off the first interval.
        """
        return cls(agent, environment, SleepIntervalAdjustor(interval, offset))

    @override
    def setup(self) -> None:
        super().setup()
        self._adjustor.reset()

    @override
    def teardown(self) -> None:
        self._adjustor.finish()
        super().teardown()

    @override
    def on_paused(self) -> None:
        # A pause may come in the final stage of the wait, with the prompt
        # switch interval set: the paused process runs at the usual one.
        self._adjustor.finish()
        super().on_paused()

    @override
    def step(self) -> None:
        super().step()
        self._adjustor.adjust()
