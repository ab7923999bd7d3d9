"""Soft Actor-Critic on a gymnasium environment with continuous actions (Pendulum-v1).

Reads top to bottom: the networks (a squashed-Gaussian actor and twin Q
critics), the agent that acts with the inference copy of the actor and
collects transitions, and the trainer, which updates the critics, the actor
and the entropy temperature from a replay buffer, with Polyak-averaged target
critics. The agent and the trainer run concurrently on the engine's two
threads; the actor's fresh weights reach the agent after every run of the
trainer.

One loss, one optimizer. The three SAC updates (critics, actor, temperature)
are written as one loss whose parts reach disjoint parameters: the critic loss
has a no-grad target; the actor loss goes through the critics' weights
detached, so it moves only the actor; the temperature loss takes the
log-probabilities detached, so it moves only ``log_alpha``. One backward pass
then gives each parameter exactly the gradient its own update would, and
since Adam treats every parameter on its own, one Adam over all of them is
three Adams with the same learning rate (Stable-Baselines3's SAC uses one rate
for all three too). So the trainer is a :class:`ConfigDrivenTrainer` like the
DQN one, with its learning-rate schedule, metrics, pause points, replay ratio
and saved optimizer state, and a step costs one backward and one (fused)
optimizer call instead of three of each. The one difference from updating in
turn: the actor's loss sees the critics as they were before this step's
critic update, one step older (as in the original SAC implementation, which
ran the three updates of a step on the same parameters).

Components (TOML targets): ``algorithms.sac:GaussianPolicy`` and
``algorithms.sac:TwinQNetwork`` (each wrapped by
``engine.torch:TorchTrainingModel``; the critics need no inference copy),
``algorithms.sac:SACAgent`` with ``engine.gym:GymEnvironment``, an
``engine.data:ArrayBuffer`` replay buffer, and ``algorithms.sac:SACTrainer``.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from typing_extensions import override

from algorithms.dqn import input_layer, numpy_layers
from algorithms.episodes import EpisodeLog
from engine.data import DataCollector
from engine.gym import GymAgent
from engine.model import InferenceModel
from engine.torch import TorchInferenceModel, load_weights, save_weights
from engine.tunables import Tunable
from trainers.config import TrainingConfiguration
from trainers.config_driven import ConfigDrivenTrainer

# ---------------------------------------------------------------------------
# The networks

LOG_STD_MIN = -20.0
LOG_STD_MAX = 2.0
"""The bounds of the actor's log standard deviation (those of the SAC paper's code)."""

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _mlp(
    sizes: Sequence[int], seed: int | None, generator_offset: int = 0
) -> nn.Sequential:
    """Linear layers of the given widths with ReLUs between them."""
    with torch.random.fork_rng(enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed + generator_offset)
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            if i:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(fan_in, fan_out))
    return nn.Sequential(*layers)


def _forward(net: nn.Sequential, x: torch.Tensor, frozen: bool = False) -> torch.Tensor:
    """Run ``net`` calling each layer's function directly (no module hooks).

    The trainer runs eight of these per optimizer step, and for DQN's small
    network the module machinery was a third of the time. ``frozen``: the
    weights are detached, so a loss through them moves the input but not the
    weights.
    """
    for layer in net:
        if isinstance(layer, nn.Linear):
            weight: torch.Tensor = layer.weight
            bias: torch.Tensor = layer.bias
            if frozen:
                weight, bias = weight.detach(), bias.detach()
            x = F.linear(x, weight, bias)
        else:
            x = torch.relu(x)
    return x


class GaussianPolicy(nn.Module):
    """The actor: observations to a Gaussian over pre-squash actions, squashed by tanh.

    ``net`` is an MLP whose last layer gives the mean and the log standard
    deviation of each action dimension; an action is ``tanh(mean + std * noise)``,
    in ``[-1, 1]`` (the agent scales it to the environment's bounds).

    Args:
        obs_dim: Observation size.
        action_dim: Action size.
        hidden_sizes: Widths of the hidden layers.
        seed: Seed of the initial weights (None: torch's global generator).
    """

    def __init__(
        self,
        obs_dim: int = 3,
        action_dim: int = 1,
        hidden_sizes: Sequence[int] = (256, 256),
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.obs_dim = obs_dim
        self.action_dim = action_dim
        self.net = _mlp([obs_dim, *hidden_sizes, 2 * action_dim], seed)

    @override
    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the mean and the (clamped) log standard deviation, each ``(batch, action_dim)``."""
        out = _forward(self.net, obs)
        mean, log_std = out.split(self.action_dim, dim=1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(
        self, obs: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action in ``[-1, 1]`` and its log-probability.

        Args:
            obs: ``(batch, obs_dim)``.
            noise: Standard normal noise ``(batch, action_dim)``.

        Returns:
            The action ``(batch, action_dim)`` and ``log pi(action | obs)``
            ``(batch,)``, differentiable with respect to the actor's weights.
        """
        mean, log_std = self(obs)
        pre_squash = mean + log_std.exp() * noise
        # log N(pre_squash; mean, std) minus log |d tanh / d u| for each dimension;
        # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|.
        log_prob = -0.5 * noise.square() - log_std - _HALF_LOG_2PI
        log_prob = log_prob - 2.0 * (
            math.log(2.0) - pre_squash - F.softplus(-2.0 * pre_squash)
        )
        return torch.tanh(pre_squash), log_prob.sum(1)

    def act(self, obs: np.ndarray, noise: np.ndarray | None) -> np.ndarray:
        """Actions in ``[-1, 1]`` for a batch of observations, with NumPy.

        What the agent calls for its one observation per step (on the CPU,
        float32; otherwise through :meth:`forward`). NumPy keeps the GIL for
        the whole call, while each torch call lets it go and takes it back,
        which cost the trainer on the other thread up to a switch interval
        per call (see ``QNetwork.q_values`` in :mod:`algorithms.dqn`). Read
        under :meth:`TorchInferenceModel.unwrap`, so a sync never writes the
        weights meanwhile.

        Args:
            obs: ``(batch, obs_dim)``.
            noise: Standard normal noise ``(batch, action_dim)``; None: the
                mean action (deterministic).
        """
        layers = numpy_layers(self.net)
        k = self.action_dim
        if layers is None:
            weight = input_layer(self.net).weight
            with torch.inference_mode():
                batch = torch.as_tensor(obs, dtype=weight.dtype, device=weight.device)
                mean, log_std = self(batch)
                if noise is not None:
                    eps = torch.as_tensor(
                        noise, dtype=weight.dtype, device=weight.device
                    )
                    mean = mean + log_std.exp() * eps
                return torch.tanh(mean).cpu().numpy().astype(np.float32)
        x = np.asarray(obs, np.float32)
        last = len(layers) - 1
        for i, (weight_t, bias) in enumerate(layers):
            x = x @ weight_t
            x += bias
            if i < last:
                np.maximum(x, 0.0, out=x)
        pre_squash = x[:, :k]
        if noise is not None:
            log_std = np.clip(x[:, k:], LOG_STD_MIN, LOG_STD_MAX)
            pre_squash = pre_squash + np.exp(log_std) * noise
        return np.tanh(pre_squash)


class TwinQNetwork(nn.Module):
    """Two independent Q-networks from an observation and an action to a value each.

    Args:
        obs_dim: Observation size.
        action_dim: Action size.
        hidden_sizes: Widths of the hidden layers (of each network).
        seed: Seed of the initial weights (None: torch's global generator).
    """

    def __init__(
        self,
        obs_dim: int = 3,
        action_dim: int = 1,
        hidden_sizes: Sequence[int] = (256, 256),
        seed: int | None = None,
    ) -> None:
        super().__init__()
        sizes = [obs_dim + action_dim, *hidden_sizes, 1]
        self.q1 = _mlp(sizes, seed)
        self.q2 = _mlp(sizes, seed, generator_offset=1)

    @override
    def forward(
        self, obs: torch.Tensor, action: torch.Tensor, frozen: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both networks' values ``(batch,)`` of ``action`` in ``obs``.

        ``frozen``: with the weights detached, so that the actor's loss moves
        the actions and not the critics.
        """
        x = torch.cat([obs, action], 1)
        q1 = _forward(self.q1, x, frozen).squeeze(1)
        q2 = _forward(self.q2, x, frozen).squeeze(1)
        return q1, q2


# ---------------------------------------------------------------------------
# The agent


def pack_transition(
    obs: np.ndarray,
    action: np.ndarray,
    reward: float,
    next_obs: np.ndarray,
    terminated: bool,
) -> np.ndarray:
    """One transition as a flat float32 row: ``obs, action, reward, next_obs, terminated``.

    ``action`` is the actor's, in ``[-1, 1]`` (not scaled to the environment).
    A row per transition lets the trainer turn a sampled batch into tensors
    with one ``np.asarray`` (see ``pack_transition`` in :mod:`algorithms.dqn`).
    """
    d, k = len(obs), len(action)
    row = np.empty(2 * d + k + 2, np.float32)
    row[:d] = obs
    row[d : d + k] = action
    row[d + k] = reward
    row[d + k + 1 : 2 * d + k + 1] = next_obs
    row[2 * d + k + 1] = terminated
    return row


class SACAgent(GymAgent[np.ndarray, np.ndarray]):
    """Acts with the actor's inference copy and collects transitions.

    The first ``learning_starts`` steps take uniformly random actions (the
    trainer waits for that many transitions too); after that each action is
    drawn from the actor (its mean with ``deterministic``). Actions in
    ``[-1, 1]`` are scaled to ``[action_low, action_high]`` for the
    environment; transitions keep the unscaled ones, rows made by
    :func:`pack_transition`. An episode cut short by a time limit
    (``truncated``) is not terminal: its last value is still bootstrapped.

    The latest ``episode_history`` episode returns are kept in
    :attr:`episode_returns` (wall time, return), the agent step at which each
    ended in :attr:`episode_end_steps`, the count of all in :attr:`episodes`
    (all kept by :attr:`episode_log`, an :class:`~algorithms.episodes.EpisodeLog`),
    and reported as agent metrics at the end of each episode:
    ``episode_return``, ``episode_return_mean20`` and ``episodes``, at the
    agent's step count.

    Args:
        model: Name of the actor's inference model.
        collector: Name of the replay buffer's collector.
        action_low: The environment's lowest action, one value per dimension
            (Pendulum-v1: ``[-2.0]``).
        action_high: Its highest action.
        learning_starts: Agent steps of uniformly random actions.
        deterministic: Act with the actor's mean action (no exploration).
        seed: Seed of the agent's random generator (random actions, noise).
        episode_history: How many recent episodes :attr:`episode_returns` keeps.
    """

    def __init__(
        self,
        model: str = "policy",
        collector: str = "replay",
        action_low: Sequence[float] = (-2.0,),
        action_high: Sequence[float] = (2.0,),
        learning_starts: int = 100,
        deterministic: bool = False,
        seed: int | None = None,
        episode_history: int = 100_000,
    ) -> None:
        super().__init__()
        low = np.asarray(action_low, np.float32).reshape(-1)
        high = np.asarray(action_high, np.float32).reshape(-1)
        if low.shape != high.shape or not low.size:
            raise ValueError(
                f"action_low and action_high must be lists of the same length, "
                f"got {list(low)} and {list(high)}"
            )
        if not np.all(np.isfinite(low) & np.isfinite(high) & (low < high)):
            raise ValueError(
                f"each action_low must be finite and below its action_high, "
                f"got {list(low)} and {list(high)}"
            )
        if learning_starts < 0:
            raise ValueError(f"learning_starts must be >= 0, got {learning_starts}")
        self.model_name = model
        self.collector_name = collector
        self.action_dim = int(low.size)
        # action = offset + scale * a for a in [-1, 1]
        self._scale = (high - low) / 2.0
        self._offset = (high + low) / 2.0
        self.learning_starts = learning_starts
        self.deterministic = deterministic
        self.random = np.random.default_rng(seed)
        self.steps = 0
        self.episode_log = EpisodeLog(history=episode_history)
        self.episode_returns = self.episode_log.returns
        self.episode_end_steps = self.episode_log.end_steps
        self._obs: np.ndarray | None = None
        self._action = np.zeros(self.action_dim, np.float32)
        self._numpy_policy: TorchInferenceModel[GaussianPolicy] | None = None

    @override
    def on_inference_models_attached(self) -> None:
        super().on_inference_models_attached()
        self.policy: InferenceModel = self.get_inference_model(self.model_name)
        self._numpy_policy = None
        if isinstance(self.policy, TorchInferenceModel):
            with self.policy.unwrap() as network:
                if isinstance(network, GaussianPolicy):
                    self._numpy_policy = self.policy

    @override
    def on_data_collectors_attached(self) -> None:
        super().on_data_collectors_attached()
        self.collector: DataCollector[np.ndarray] = self.get_data_collector(
            self.collector_name
        )

    @override
    def tunables(self) -> dict[str, Tunable]:
        """``deterministic``: act with the mean action, e.g. to watch what was learned."""
        return {
            "deterministic": Tunable.attribute(
                self,
                "deterministic",
                bool,
                description="act with the actor's mean action (no exploration)",
            ),
        }

    @property
    def episodes(self) -> int:
        """Episodes ended, in all."""
        return self.episode_log.count

    def _act(self, obs: np.ndarray) -> np.ndarray:
        self.steps += 1
        self._obs = obs
        if self.steps <= self.learning_starts:
            action = self.random.uniform(-1.0, 1.0, self.action_dim).astype(np.float32)
        else:
            noise = (
                None
                if self.deterministic
                else self.random.standard_normal((1, self.action_dim), np.float32)
            )
            batch = np.asarray(obs, np.float32)[None]
            if self._numpy_policy is not None:
                # The sample's own network: NumPy, without a torch call (see act()).
                with self._numpy_policy.unwrap(inference_mode=False) as network:
                    action = network.act(batch, noise)[0]
                if not getattr(getattr(self, "collector", None), "limited", False):
                    # Let the GIL go once a step, as DQNAgent does when no replay
                    # ratio holds it back (NumPy never lets it go).
                    time.sleep(0)
            else:
                mean, log_std = self.policy(torch.from_numpy(batch))
                if noise is not None:
                    eps = torch.as_tensor(noise, dtype=mean.dtype, device=mean.device)
                    mean = mean + log_std.exp() * eps
                action = torch.tanh(mean)[0].cpu().numpy()
        self._action = action
        return self._offset + self._scale * action

    @override
    def on_reset(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        self.episode_log.begin()
        return self._act(obs)

    @override
    def on_step(
        self,
        obs: np.ndarray,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: dict[str, Any],
    ) -> np.ndarray:
        assert self._obs is not None
        self.collector.collect(
            pack_transition(self._obs, self._action, reward, obs, terminated)
        )
        self.episode_log.add(reward)
        if terminated or truncated:
            self.report_metrics(self.episode_log.end(self.steps), self.steps)
            # The environment resets next and on_reset picks the real action.
            return self._offset.copy()
        return self._act(obs)

    @override
    def save_state(self, path: Path) -> None:
        """Save the step and episode counts, the returns of the 20-episode mean
        and the random generator (JSON), so a resumed run goes on where it was."""
        path.with_suffix(".json").write_text(
            json.dumps(
                {
                    "steps": self.steps,
                    **self.episode_log.state(),
                    "random": self.random.bit_generator.state,
                }
            )
        )

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote."""
        state = json.loads(path.with_suffix(".json").read_text())
        steps = int(state["steps"])
        self.random.bit_generator.state = state["random"]
        self.steps = steps
        self.episode_log.restore(state)


# ---------------------------------------------------------------------------
# The trainer


class Transitions(NamedTuple):
    """A micro-batch of transitions, as tensors (see :func:`unpack_batch`)."""

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor


def unpack_batch(
    rows: Sequence[np.ndarray] | np.ndarray, action_dim: int
) -> Transitions:
    """Stack rows made by :func:`pack_transition` into a micro-batch (column views)."""
    batch = torch.from_numpy(np.asarray(rows))
    k = action_dim
    d = (batch.shape[1] - k - 2) // 2
    return Transitions(
        obs=batch[:, :d],
        action=batch[:, d : d + k],
        reward=batch[:, d + k],
        next_obs=batch[:, d + k + 1 : 2 * d + k + 1],
        terminated=batch[:, 2 * d + k + 1],
    )


class SACTrainer(ConfigDrivenTrainer[Transitions]):
    """Soft Actor-Critic on batches drawn from a replay buffer.

    Each run takes ``config.max_steps_per_run`` optimizer steps (required) on
    micro-batches of ``config.batch_size`` transitions drawn uniformly from
    the replay buffer; ``config.replay_ratio`` keeps the agent from outrunning
    training. Each step's loss is the sum of the critic, actor and temperature
    losses, each reaching only its own parameters (see the module docstring):

    - critics: the mean squared error of each Q-network against
      ``r + gamma * (1 - terminated) * (min target Q(s', a') - alpha log pi(a'|s'))``,
      halved and summed, with ``a'`` drawn from the actor;
    - actor: ``alpha log pi(a|s) - min Q(s, a)`` for ``a`` drawn from it;
    - temperature: ``-log_alpha * (log pi(a|s) + target_entropy)``, unless
      ``alpha`` is fixed.

    Args:
        config: Optimizer, batch size and steps per run (a table in TOML).
        policy: Name of the actor's training model (a :class:`GaussianPolicy`).
        critic: Name of the critics' training model (a :class:`TwinQNetwork`).
        data_user: Name of the replay buffer.
        gamma: Discount factor.
        tau: Target critic update rate: after every optimizer step the target
            moves this fraction of the way to the critics.
        alpha: A fixed entropy temperature; None: tuned automatically towards
            ``target_entropy``.
        initial_alpha: The tuned temperature's starting value.
        target_entropy: The entropy the tuning aims at; None: minus the number
            of action dimensions.
        min_buffer_size: Transitions the buffer must hold before training (set
            it to the agent's ``learning_starts``).
        min_new_data_count: New transitions needed between runs.
        torch_num_threads: ``torch.set_num_threads`` for the process, so the two
            engine threads do not fight over cores (None: leave it).
    """

    endless_batches = True

    def __init__(
        self,
        config: TrainingConfiguration | Mapping[str, Any],
        policy: str = "policy",
        critic: str = "critic",
        data_user: str = "replay",
        gamma: float = 0.99,
        tau: float = 0.005,
        alpha: float | None = None,
        initial_alpha: float = 1.0,
        target_entropy: float | None = None,
        min_buffer_size: int = 100,
        min_new_data_count: int = 0,
        torch_num_threads: int | None = 1,
    ) -> None:
        super().__init__(
            config, [policy, critic], data_user, min_buffer_size, min_new_data_count
        )
        if not 0.0 < tau <= 1.0:
            raise ValueError(f"tau must be within (0, 1], got {tau}")
        if alpha is not None and alpha < 0.0:
            raise ValueError(f"alpha must be >= 0 (or unset: tuned), got {alpha}")
        if initial_alpha <= 0.0:
            raise ValueError(f"initial_alpha must be > 0, got {initial_alpha}")
        self.policy_name = policy
        self.critic_name = critic
        self.data_user_name = data_user
        self.gamma = gamma
        self.tau = tau
        self.alpha = alpha
        self.initial_alpha = initial_alpha
        self._target_entropy = target_entropy
        # Draws the replay batches; seeded like the config's generator, saved with it.
        self.random = random.Random(self.config.seed)
        if torch_num_threads is not None:
            torch.set_num_threads(torch_num_threads)

    @property
    def auto_alpha(self) -> bool:
        """Whether the temperature is tuned (no fixed ``alpha``)."""
        return self.alpha is None

    @override
    def on_training_models_attached(self) -> None:
        super().on_training_models_attached()
        self.policy = self.get_torch_training_model(
            self.policy_name, GaussianPolicy
        ).model
        self.critic = self.get_torch_training_model(
            self.critic_name, TwinQNetwork
        ).model
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        # Typed as tensors for torch._foreach_lerp_ (lists are invariant).
        self._critic_params: list[torch.Tensor] = list(self.critic.parameters())
        self._target_params: list[torch.Tensor] = list(self.target_critic.parameters())
        self.action_dim = self.policy.action_dim
        if self._target_entropy is None:
            self.target_entropy = -float(self.action_dim)
        else:
            self.target_entropy = float(self._target_entropy)
        weight = input_layer(self.policy.net).weight
        self.log_alpha = nn.Parameter(
            torch.tensor(
                math.log(self.initial_alpha), dtype=weight.dtype, device=weight.device
            ),
            requires_grad=self.auto_alpha,
        )

    @override
    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """The actor's and critics' parameters, then ``log_alpha`` when it is tuned."""
        yield from super().parameters()
        if self.auto_alpha:
            yield self.log_alpha

    @override
    def batches(self, batch_size: int) -> Iterator[Transitions]:
        user = self.get_data_user(self.data_user_name)
        device = input_layer(self.policy.net).weight.device
        while True:
            # O(batch_size): the buffer is not copied.
            batch = unpack_batch(user.sample(batch_size, self.random), self.action_dim)
            if device.type != "cpu":
                batch = Transitions(*(t.to(device) for t in batch))
            yield batch

    def _noise(self, batch: int) -> torch.Tensor:
        """Standard normal noise for two action draws, from the saved generator."""
        noise = torch.randn(2, batch, self.action_dim, generator=self.generator)
        weight = input_layer(self.policy.net).weight
        return noise.to(weight.device, weight.dtype)

    @override
    def step(self, batch: Transitions) -> tuple[torch.Tensor, Mapping[str, float]]:
        noise = self._noise(len(batch.reward))
        alpha: torch.Tensor | float = (
            self.log_alpha.detach().exp() if self.alpha is None else self.alpha
        )
        with torch.no_grad():
            next_action, next_log_prob = self.policy.sample(batch.next_obs, noise[0])
            target_q1, target_q2 = self.target_critic(batch.next_obs, next_action)
            soft_value = torch.minimum(target_q1, target_q2) - alpha * next_log_prob
            discount = self.gamma * (1.0 - batch.terminated)
            target = torch.addcmul(batch.reward, discount, soft_value)
        q1, q2 = self.critic(batch.obs, batch.action)
        critic_loss = 0.5 * (F.mse_loss(q1, target) + F.mse_loss(q2, target))
        action, log_prob = self.policy.sample(batch.obs, noise[1])
        pi_q1, pi_q2 = self.critic(batch.obs, action, frozen=True)
        actor_loss = (alpha * log_prob - torch.minimum(pi_q1, pi_q2)).mean()
        loss = critic_loss + actor_loss
        if self.auto_alpha:
            alpha_loss = -(
                self.log_alpha * (log_prob.detach() + self.target_entropy)
            ).mean()
            loss = loss + alpha_loss
        return loss, {
            "critic_loss": float(critic_loss.detach()),
            "actor_loss": float(actor_loss.detach()),
            "alpha": float(alpha),
            "entropy": -float(log_prob.detach().mean()),
            "q_mean": float(q1.detach().mean()),
        }

    @override
    def after_optimizer_step(self, step: int) -> None:
        with torch.no_grad():
            torch._foreach_lerp_(self._target_params, self._critic_params, self.tau)

    @override
    def tunables(self) -> dict[str, Tunable]:
        """The configuration's (see :class:`ConfigDrivenTrainer`), ``tau``, and
        ``alpha`` when it is fixed or ``target_entropy`` when it is tuned."""
        settings = super().tunables()
        settings["tau"] = Tunable.attribute(
            self,
            "tau",
            float,
            0.0,
            1.0,
            "target critic update rate per optimizer step",
            exclusive_minimum=True,
        )
        if self.auto_alpha:
            settings["target_entropy"] = Tunable(
                float,
                lambda: self.target_entropy,
                lambda value: setattr(self, "target_entropy", float(value)),
                -1e3,
                1e3,
                description="entropy the temperature is tuned towards",
            )
        else:
            settings["alpha"] = Tunable.attribute(
                self, "alpha", float, 0.0, 1e3, "entropy temperature (fixed)"
            )
        return settings

    @override
    def save_state(self, path: Path) -> None:
        """Also save the target critics and ``log_alpha`` (safetensors) and the
        batch generator (JSON)."""
        super().save_state(path)
        save_weights(self.target_critic, path / "target_critic.safetensors")
        save_file(
            {"log_alpha": self.log_alpha.detach().cpu().clone()},
            str(path / "temperature.safetensors"),
        )
        version, internal, gauss = self.random.getstate()
        (path / "replay_random.json").write_text(
            json.dumps([version, list(internal), gauss])
        )

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote."""
        super().load_state(path)
        load_weights(self.target_critic, path / "target_critic.safetensors")
        log_alpha = load_file(str(path / "temperature.safetensors"))["log_alpha"]
        with torch.no_grad():
            # In place: the optimizer holds this very parameter.
            self.log_alpha.copy_(log_alpha)
        version, internal, gauss = json.loads((path / "replay_random.json").read_text())
        self.random.setstate((version, tuple(internal), gauss))
