"""The gymnasium adapter."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

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
