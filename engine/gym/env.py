"""A gymnasium environment as an engine ``Environment``."""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

import gymnasium as gym
from typing_extensions import override

from ..interaction import Environment
from .types import EnvReset, EnvStep, GymAction, GymObs

O = TypeVar("O")  # noqa: E741 - PAMIQ-Core's name
A = TypeVar("A")


class GymEnvironment(Environment[GymObs, GymAction[A]], Generic[O, A]):
    """Wraps a gymnasium environment; episodes restart automatically.

    The gymnasium environment is closed on :meth:`teardown`, and, as in
    PAMIQ-Core, when this object is garbage-collected without a teardown
    (never twice).

    Args:
        env: A gymnasium environment, or an id for ``gymnasium.make``.
        seed: Seed of the first reset (gymnasium's way of seeding an
            environment; later resets continue its random sequence). None:
            unseeded.
        step_delay: Wall seconds every step sleeps before stepping the
            environment, as a slower simulator would take (the sleep lets the
            GIL go, so other threads run meanwhile); 0: none.
        **gym_make_kwds: Passed to ``gymnasium.make`` when ``env`` is an id.
    """

    _obs: GymObs

    def __init__(
        self,
        env: gym.Env[O, A] | str,
        *,
        seed: int | None = None,
        step_delay: float = 0.0,
        **gym_make_kwds: Any,
    ) -> None:
        super().__init__()
        if not step_delay >= 0.0:
            raise ValueError(f"step_delay must be >= 0 seconds, got {step_delay}")
        self.env: gym.Env[O, A] = (
            gym.make(env, **gym_make_kwds) if isinstance(env, str) else env
        )
        self.seed = seed
        self.step_delay = step_delay

    @override
    def setup(self) -> None:
        super().setup()
        self._env_closed = False
        self._obs = EnvReset(*self.env.reset(seed=self.seed))

    @override
    def observe(self) -> GymObs:
        """The last reset, step, or (step, reset) pair at an episode's end."""
        return self._obs

    @override
    def affect(self, action: GymAction[A]) -> None:
        if self.step_delay:
            time.sleep(self.step_delay)
        obs, reward, terminated, truncated, info = self.env.step(action.action)
        step = EnvStep(obs, float(reward), bool(terminated), bool(truncated), info)
        if step.done or action.need_reset:
            self._obs = (step, EnvReset(*self.env.reset()))
        else:
            self._obs = step

    @override
    def teardown(self) -> None:
        super().teardown()
        self._close_env()

    def __del__(self) -> None:
        self._close_env()

    def _close_env(self) -> None:
        # __dict__ lookups: __del__ also runs on an object whose __init__ failed.
        env = self.__dict__.get("env")
        if env is None or self.__dict__.get("_env_closed", False):
            return
        self._env_closed = True
        env.close()
