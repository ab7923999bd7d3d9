"""REINFORCE on CartPole-v1 by composition: no trainer class, as in ASTRA-RL.

Reads top to bottom: the policy network, the agent that samples actions with
the inference copy, records one step dict per action and collects an
episode's steps together into an ``engine.data:EpisodeBuffer`` when it ends
(``done`` marks its last step), and the algorithm: ``flatten`` turns an
episode into steps carrying their discounted return-to-go, ``step`` is the
policy-gradient loss. A
``trainers.pushbutton:PushbuttonTrainer`` puts them together with a
``TrainingConfiguration``: every round waits for
``num_episodes_per_experience`` new complete episodes, trains on their steps
once, and syncs the policy while the agent keeps playing.

Collected together, an episode's steps arrive together on the learner: on Ray
an actor closes its batches between interaction steps, so every batch holds
whole episodes and the learner's one buffer, fed every actor's batches in
arrival order, never splices one actor's steps into another's episode.

Components (TOML targets): ``algorithms.reinforce:PolicyNetwork`` (wrapped by
``engine.torch:TorchTrainingModel``), ``algorithms.reinforce:ReinforceAgent``
with ``engine.gym:GymEnvironment``, ``engine.data:EpisodeBuffer`` and
``algorithms.reinforce:Reinforce`` inside ``trainers.pushbutton:PushbuttonTrainer``
(see ``sample_configs/cartpole_reinforce.toml``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from typing_extensions import override

from algorithms.episodes import EpisodeLog
from engine.data import DataCollector
from engine.gym import GymAgent
from engine.model import InferenceModel
from trainers.algorithm import Algorithm

# ---------------------------------------------------------------------------
# The network


class PolicyNetwork(nn.Module):
    """An MLP from observations to one logit per action.

    Args:
        obs_dim: Observation size.
        num_actions: Number of discrete actions.
        hidden_sizes: Widths of the hidden layers.
    """

    def __init__(
        self,
        obs_dim: int = 4,
        num_actions: int = 2,
        hidden_sizes: Sequence[int] = (64,),
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_dim
        for hidden in hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.Tanh()]
            width = hidden
        layers.append(nn.Linear(width, num_actions))
        self.net = nn.Sequential(*layers)

    @override
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Return logits of shape ``(batch, num_actions)``."""
        return self.net(obs)


# ---------------------------------------------------------------------------
# The agent


class ReinforceAgent(GymAgent[np.ndarray, int]):
    """Samples actions from the policy and collects whole episodes of step dicts.

    Every step is ``{obs, action, reward, done}``; ``done`` (terminated or
    truncated) marks the last step of an episode for the
    :class:`~engine.data.EpisodeBuffer`. An episode's steps are held until it
    ends and then collected together (see the module's docstring). Returns are
    reported as agent metrics at the end of each episode: ``episode_return``,
    ``episode_return_mean20`` and ``episodes``, at the agent's step count
    (kept by :attr:`episode_log`, an :class:`~algorithms.episodes.EpisodeLog`).

    Args:
        model: Name of the policy's inference model.
        collector: Name of the episode buffer's collector.
        seed: Seed of the action-sampling random generator.
    """

    def __init__(
        self,
        model: str = "policy",
        collector: str = "episodes",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.model_name = model
        self.collector_name = collector
        self.random = random.Random(seed)
        self.steps = 0
        self.episode_log = EpisodeLog()
        self._episode: list[dict[str, Any]] = []
        self._obs: np.ndarray | None = None
        self._action = 0

    @override
    def on_inference_models_attached(self) -> None:
        super().on_inference_models_attached()
        self.policy: InferenceModel = self.get_inference_model(self.model_name)

    @override
    def on_data_collectors_attached(self) -> None:
        super().on_data_collectors_attached()
        self.collector: DataCollector[dict[str, Any]] = self.get_data_collector(
            self.collector_name
        )

    @property
    def episodes(self) -> int:
        """Episodes ended, in all."""
        return self.episode_log.count

    def _act(self, obs: np.ndarray) -> int:
        self.steps += 1
        self._obs = np.asarray(obs, np.float32)
        logits = self.policy(torch.from_numpy(self._obs)[None])[0]
        probs = torch.softmax(logits, 0).tolist()
        self._action = self.random.choices(range(len(probs)), weights=probs)[0]
        return self._action

    @override
    def on_reset(self, obs: np.ndarray, info: dict[str, Any]) -> int:
        self.episode_log.begin()
        # Steps still held here belong to an episode whose end never came:
        # collected, they would be the start of the next one.
        self._episode = []
        return self._act(obs)

    @override
    def on_step(
        self,
        obs: np.ndarray,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
    ) -> int:
        done = terminated or truncated
        self._episode.append(
            {"obs": self._obs, "action": self._action, "reward": reward, "done": done}
        )
        if done:
            self._collect_episode()
        self.episode_log.add(reward)
        if not done:
            return self._act(obs)
        self.report_metrics(self.episode_log.end(self.steps), self.steps)
        return 0  # the environment resets next and on_reset picks the real action

    def _collect_episode(self) -> None:
        episode, self._episode = self._episode, []
        for step in episode:
            self.collector.collect(step)

    @override
    def save_state(self, path: Path) -> None:
        """Save the counters, the returns of the 20-episode mean and the
        sampling generator (JSON), so a resumed run's curves go on where they were.
        The episode in progress is not saved (nor is the environment's): a
        resumed run starts a new one."""
        version, internal, gauss = self.random.getstate()
        path.with_suffix(".json").write_text(
            json.dumps(
                {
                    "steps": self.steps,
                    **self.episode_log.state(),
                    "random": [version, list(internal), gauss],
                }
            )
        )

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote (a state from before the recent
        returns were saved leaves them as they are). The episode in progress
        goes on, as the environment's does."""
        state = json.loads(path.with_suffix(".json").read_text())
        steps = int(state["steps"])
        self.steps = steps
        self.episode_log.restore(state)
        version, internal, gauss = state["random"]
        self.random.setstate((version, tuple(internal), gauss))


# ---------------------------------------------------------------------------
# The algorithm


class Reinforce(Algorithm[dict[str, Any], dict[str, torch.Tensor]]):
    """Monte-Carlo policy gradient with returns-to-go, whitened per batch.

    Args:
        model: Name of the policy training model.
        gamma: Discount factor.
        entropy_coef: Weight of the entropy bonus (keeps exploring early on).
    """

    def __init__(
        self, model: str = "policy", gamma: float = 0.99, entropy_coef: float = 0.0
    ) -> None:
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be within [0, 1], got {gamma}")
        self.model_name = model
        self.gamma = gamma
        self.entropy_coef = entropy_coef

    @override
    def on_models_attached(self, models: Mapping[str, nn.Module]) -> None:
        self.policy = models[self.model_name]

    @override
    def flatten(self, episode: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each step with its discounted return from there to the episode's end."""
        steps = []
        ret = 0.0
        for step in reversed(episode):
            ret = float(step["reward"]) + self.gamma * ret
            steps.append({"obs": step["obs"], "action": step["action"], "ret": ret})
        steps.reverse()
        return steps

    @override
    def step(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        logits = self.policy(batch["obs"].float())
        log_probs = torch.log_softmax(logits, 1)
        taken = log_probs.gather(1, batch["action"].long()[:, None]).squeeze(1)
        ret = batch["ret"].float()
        advantage = (ret - ret.mean()) / (ret.std(correction=0) + 1e-6)
        entropy = -(log_probs.exp() * log_probs).sum(1).mean()
        loss = -(taken * advantage).mean() - self.entropy_coef * entropy
        return loss, {
            "return_to_go": float(ret.mean()),
            "entropy": float(entropy.detach()),
        }
