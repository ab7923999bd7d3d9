"""The gymnasium adapter."""

from __future__ import annotations

import gc
import time
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from engine.gym import EnvReset, EnvStep, GymAction, GymAgent, GymEnvironment


class Balancer(GymAgent[np.ndarray, int]):
    def __init__(self, reset_every: int = 0) -> None:
        super().__init__()
        self.resets = 0
        self.steps = 0
        self.reset_every = reset_every

    def on_reset(self, obs: np.ndarray, info: dict[str, Any]) -> int:
        self.resets += 1
        return 0

    def on_step(self, obs, reward, terminated, truncated, info) -> int:
        self.steps += 1
        if self.reset_every and self.steps % self.reset_every == 0:
            self.need_reset = True
        return 1 if obs[2] > 0 else 0


def run(agent: GymAgent, env: GymEnvironment, n: int) -> None:
    env.setup()
    agent.setup()
    for _ in range(n):
        env.affect(agent.step(env.observe()))


def test_episodes_restart_automatically() -> None:
    env = GymEnvironment("CartPole-v1")
    agent = Balancer()
    run(agent, env, 400)
    assert agent.resets >= 2  # the first reset plus at least one episode end


def test_agent_can_request_a_reset() -> None:
    env = GymEnvironment(gym.make("CartPole-v1"))
    agent = Balancer(reset_every=5)
    run(agent, env, 20)
    assert agent.resets >= 4
    assert isinstance(env.observe(), EnvStep | EnvReset | tuple)


def test_action_wrapper_carries_the_reset_flag() -> None:
    agent = Balancer()
    agent.setup()
    action = agent.step(EnvReset(np.zeros(4), {}))
    assert action == GymAction(0, False)
    step = EnvStep(np.array([0, 0, 1.0, 0]), 1.0, True, False, {})
    assert step.done


class Closable(gym.Env[np.ndarray, int]):
    """A real gymnasium env that counts its closes."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.closes = 0

    def reset(self, *, seed=None, options=None):
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        return np.zeros(1, dtype=np.float32), 0.0, False, False, {}

    def close(self) -> None:
        self.closes += 1


def test_an_environment_collected_without_teardown_closes_its_env() -> None:
    inner = Closable()
    env = GymEnvironment(inner)
    env.setup()
    del env
    gc.collect()
    assert inner.closes == 1


def test_teardown_closes_the_env_once_even_when_collected_later() -> None:
    inner = Closable()
    env = GymEnvironment(inner)
    env.setup()
    env.teardown()
    assert inner.closes == 1
    del env
    gc.collect()
    assert inner.closes == 1


def test_an_env_that_failed_to_build_is_collected_quietly() -> None:
    with pytest.raises(gym.error.Error):
        GymEnvironment("NoSuchEnv-v0")
    gc.collect()  # __del__ of the half-built object must not raise


def test_a_step_delay_makes_every_step_take_that_long_at_least() -> None:
    env = GymEnvironment("CartPole-v1", seed=0, step_delay=0.02)
    agent = Balancer()
    env.setup()
    agent.setup()
    for _ in range(3):
        action = agent.step(env.observe())
        began = time.perf_counter()
        env.affect(action)
        assert time.perf_counter() - began >= 0.02
    env.teardown()
    with pytest.raises(ValueError, match="step_delay must be >= 0 seconds, got -1"):
        GymEnvironment("CartPole-v1", step_delay=-1)
