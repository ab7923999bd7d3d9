r"""PPO with lag correction, on threads or on Ray actors from the same config.

Reads top to bottom: the actor-critic network (policy logits and a value,
plus the policy version its weights are), the agent that samples actions with
the inference copy and records, for every step, the log-probability of the
action under the policy that chose it and that policy's version, and the
trainer: it waits for complete rollouts, computes advantages and value targets
for them, and runs several epochs of clipped-PPO minibatches, then syncs the
weights once per round.

The policy version
------------------
:class:`ActorCritic` carries its version in its weights (a buffer,
``policy_version``): the trainer adds one before every sync, so the version
travels wherever the weights go - into the inference copy on threads, through
the Ray backend's weight publications into every actor's copy - and a state
saves and restores it. The agent reads it from the very copy that computed its
action, so each step records exactly the version it acted with. (The Ray
feed's tag of a batch is the newest version its actor had installed when the
batch was closed; an agent's rollout may span several installs, so the
per-step version is the finer one. On a learner whose only synced model is
this one, the two count the same publications.)

Lag and its correction
----------------------
A round trains the weights it starts with, :math:`\pi`, version :math:`k`, on
rollouts collected by behaviour policies :math:`\mu` of versions
:math:`\le k`: an actor keeps acting while the learner trains, and its rollout
reaches the learner later still. A step's lag is :math:`k` minus its version.
With ``lag_correction = true`` (V-trace, Espeholt et al. 2018, as IMPALA and
APPO use it), per step :math:`t` of a rollout:

.. math::

    \text{ratio}_t = \pi(a_t|x_t) / \mu(a_t|x_t) \quad
        (\text{exactly } 1 \text{ where the step's version is } k)

    \rho_t = \min(\bar\rho, \text{ratio}_t), \qquad
    c_t = \lambda \min(\bar c, \text{ratio}_t)

    \delta_t = r_t + \gamma (1 - d_t) V(x_{t+1}) - V(x_t)

    v_t = V(x_t) + \rho_t \delta_t + \gamma (1 - d_t) c_t (v_{t+1} - V(x_{t+1}))

    A_t = \rho_t \left(\delta_t + \gamma (1 - d_t) \lambda (v_{t+1} - V(x_{t+1}))\right)

with :math:`d_t` = the episode terminated at step :math:`t`, :math:`V` the
value head at the round's start, :math:`v_{T} = V(x_{T})` after a rollout's
last step (bootstrapping from the observation it ended on, also at a time
limit). :math:`v_t` is the value target; :math:`A_t` (IMPALA's
:math:`\rho_t (r_t + \gamma v_{t+1} - V(x_t))` with :math:`v_{t+1}` taken
:math:`\lambda` of the way from :math:`V(x_{t+1})`) is the policy's advantage.
The clipped objective's ratio is :math:`\pi_\theta / \pi` - the policy being
trained over the one the round started with (the "proximal" policy of
decoupled PPO, Hilton et al. 2021), not over the behaviour policy, whose
mismatch :math:`\rho_t` has already weighed.

Where every step is of version :math:`k` all ratios are 1, :math:`c_t =
\lambda`, and :math:`A_t = v_t - V(x_t)` is exactly GAE(:math:`\lambda`): the
correction changes nothing without lag. ``lag_correction = false`` is plain
PPO whatever the lag: GAE advantages and the ratio :math:`\pi_\theta / \mu`,
as if every rollout had come from the policy being trained.

Rollouts
--------
The agent cuts its experience into rollouts of at most ``rollout_length``
steps (an episode's end ends one early) and collects a rollout's steps
together once it is complete. An :class:`~engine.data.EpisodeBuffer` with
``done_key = "rollout_end"`` holds them, and the trainer's
``num_episodes_per_experience`` counts rollouts. Collected together, a
rollout's steps arrive together on the learner: on Ray every actor's batch
holds whole rollouts, so the rollouts of several actors never interleave in
the buffer. With actors, give the ``[scale]`` table ``when_behind = "wait"``:
a dropped batch would drop rollouts.

Components (TOML targets): ``algorithms.ppo:ActorCritic`` (wrapped by
``engine.torch:TorchTrainingModel``), ``algorithms.ppo:PPOAgent`` with
``engine.gym:GymEnvironment``, ``engine.data:EpisodeBuffer`` and
``algorithms.ppo:PPOTrainer`` (see ``sample_configs/cartpole_ppo.toml`` and
``cartpole_ppo_ray.toml``).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from typing_extensions import override

from algorithms.episodes import EpisodeLog
from engine.data import DataCollector, DataUsersDict, EpisodeBuffer
from engine.gym import GymAgent
from engine.model import InferenceModel
from engine.tunables import Tunable
from trainers.config import TrainingConfiguration
from trainers.config_driven import ConfigDrivenTrainer

ROLLOUT_END = "rollout_end"
"""The key of a step that marks its rollout's last step (the buffer's ``done_key``)."""

# ---------------------------------------------------------------------------
# The network


class PolicyOutput(NamedTuple):
    """What :class:`ActorCritic` computes for a batch of observations.

    Attributes:
        logits: One logit per action, ``(batch, num_actions)``.
        value: The state value, ``(batch,)``.
        version: The policy version of the weights that computed them (0-d int64).
    """

    logits: torch.Tensor
    value: torch.Tensor
    version: torch.Tensor


def _mlp(
    width: int, hidden_sizes: Sequence[int], out: int, out_gain: float
) -> nn.Sequential:
    layers: list[nn.Module] = []
    for hidden in hidden_sizes:
        linear = nn.Linear(width, hidden)
        nn.init.orthogonal_(linear.weight, math.sqrt(2))
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.Tanh()]
        width = hidden
    head = nn.Linear(width, out)
    nn.init.orthogonal_(head.weight, out_gain)
    nn.init.zeros_(head.bias)
    layers.append(head)
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    """Two MLPs from observations: one logit per action, and the state's value.

    Initialised as in Stable-Baselines3's PPO (orthogonal, gain sqrt(2) in
    the hidden layers, 0.01 for the logits and 1 for the value), so the first
    policy is close to uniform. The ``policy_version`` buffer counts the
    trainer's syncs (see the module's docstring).

    Args:
        obs_dim: Observation size.
        num_actions: Number of discrete actions.
        hidden_sizes: Widths of the hidden layers of each MLP.
        seed: Seed of the initial weights (None: torch's global generator).
    """

    policy_version: torch.Tensor

    def __init__(
        self,
        obs_dim: int = 4,
        num_actions: int = 2,
        hidden_sizes: Sequence[int] = (64, 64),
        seed: int | None = None,
    ) -> None:
        super().__init__()
        with torch.random.fork_rng(enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.policy = _mlp(obs_dim, hidden_sizes, num_actions, 0.01)
            self.value = _mlp(obs_dim, hidden_sizes, 1, 1.0)
        self.register_buffer("policy_version", torch.zeros((), dtype=torch.int64))

    @override
    def forward(self, obs: torch.Tensor) -> PolicyOutput:
        """Logits ``(batch, num_actions)``, values ``(batch,)`` and the version."""
        return PolicyOutput(
            self.policy(obs),
            self.value(obs).squeeze(-1),
            # A copy: the agent reads it after its call, when a sync may be
            # writing this copy's buffer.
            self.policy_version.clone(),
        )


# ---------------------------------------------------------------------------
# The agent


class PPOAgent(GymAgent[np.ndarray, int]):
    """Samples actions from the policy and collects rollouts of recorded steps.

    Every step is a dict: ``obs``, ``action``, ``reward``, ``next_obs`` (the
    observation the action led to), ``terminated`` (the episode ended there
    with nothing to bootstrap from), ``log_prob`` (of the action under the
    behaviour policy), ``version`` (that policy's version) and
    ``rollout_end``. A rollout's steps are collected together when it ends
    (see the module's docstring). Returns are reported as agent metrics at the
    end of each episode: ``episode_return``, ``episode_return_mean20`` and
    ``episodes``, at the agent's step count (kept by :attr:`episode_log`, an
    :class:`~algorithms.episodes.EpisodeLog`).

    Args:
        model: Name of the actor-critic's inference model.
        collector: Name of the rollout buffer's collector.
        rollout_length: Most steps in a rollout.
        seed: Seed of the action-sampling random generator.
    """

    def __init__(
        self,
        model: str = "policy",
        collector: str = "rollouts",
        rollout_length: int = 128,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if rollout_length < 1:
            raise ValueError(f"rollout_length must be >= 1, got {rollout_length}")
        self.model_name = model
        self.collector_name = collector
        self.rollout_length = rollout_length
        self.random = random.Random(seed)
        self.steps = 0
        self.episode_log = EpisodeLog()
        self._rollout: list[dict[str, Any]] = []
        self._obs: np.ndarray | None = None
        self._action = 0
        self._log_prob = 0.0
        self._version = 0

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
        out: PolicyOutput = self.policy(torch.from_numpy(self._obs)[None])
        log_probs = torch.log_softmax(out.logits[0].float(), 0)
        weights = log_probs.exp().tolist()
        self._action = self.random.choices(range(len(weights)), weights=weights)[0]
        self._log_prob = float(log_probs[self._action])
        self._version = int(out.version)
        return self._action

    @override
    def on_reset(self, obs: np.ndarray, info: dict[str, Any]) -> int:
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
    ) -> int:
        done = terminated or truncated
        assert self._obs is not None
        self._rollout.append(
            {
                "obs": self._obs,
                "action": self._action,
                "reward": float(reward),
                "next_obs": np.asarray(obs, np.float32),
                "terminated": bool(terminated),
                "log_prob": self._log_prob,
                "version": self._version,
                ROLLOUT_END: False,
            }
        )
        if done or len(self._rollout) >= self.rollout_length:
            self._collect_rollout()
        self.episode_log.add(reward)
        if not done:
            return self._act(obs)
        self.report_metrics(self.episode_log.end(self.steps), self.steps)
        return 0  # the environment resets next and on_reset picks the real action

    def _collect_rollout(self) -> None:
        rollout, self._rollout = self._rollout, []
        rollout[-1][ROLLOUT_END] = True
        for step in rollout:
            self.collector.collect(step)

    @override
    def save_state(self, path: Path) -> None:
        """Save the counters, the returns of the 20-episode mean and the
        sampling generator (JSON). The rollout in progress is not saved: its
        steps were taken by a policy a loaded state does not have."""
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
        """Load what :meth:`save_state` wrote; the rollout in progress is dropped."""
        state = json.loads(path.with_suffix(".json").read_text())
        self._rollout = []
        self.steps = int(state["steps"])
        self.episode_log.restore(state)
        version, internal, gauss = state["random"]
        self.random.setstate((version, tuple(internal), gauss))


# ---------------------------------------------------------------------------
# The targets


@dataclass(frozen=True)
class Targets:
    """Per step of a round's rollouts (numpy float64, in collection order).

    Attributes:
        value_target: :math:`v_t`, what the value head learns.
        advantage: :math:`A_t`, what the policy follows.
        rho: The truncated importance weight :math:`\\rho_t` (1 without lag).
    """

    value_target: np.ndarray
    advantage: np.ndarray
    rho: np.ndarray


def vtrace(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    rollout_end: np.ndarray,
    log_ratio: np.ndarray,
    gamma: float,
    lam: float,
    rho_bar: float = 1.0,
    c_bar: float = 1.0,
) -> Targets:
    r"""V-trace value targets and advantages (the module's docstring has the formulas).

    All arrays are per step, the rollouts one after another, each ending
    where ``rollout_end`` is true. ``log_ratio`` is
    :math:`\log \pi(a_t|x_t) - \log \mu(a_t|x_t)`; all zeros give GAE(λ)
    advantages and λ-returns.

    Args:
        rewards: :math:`r_t`.
        values: :math:`V(x_t)`.
        next_values: :math:`V(x_{t+1})`, the value of the observation the
            step led to (a rollout's last step bootstraps from it).
        terminated: :math:`d_t`: nothing to bootstrap from after the step.
        rollout_end: The step is its rollout's last.
        log_ratio: Log importance ratios.
        gamma: Discount.
        lam: GAE's λ.
        rho_bar: Truncation of the weights of the TD errors (:math:`\bar\rho`).
        c_bar: Truncation of the traces (:math:`\bar c`).
    """
    n = len(rewards)
    ratio = np.exp(np.asarray(log_ratio, np.float64))
    rho = np.minimum(rho_bar, ratio)
    c = lam * np.minimum(c_bar, ratio)
    not_done = 1.0 - np.asarray(terminated, np.float64)
    delta = rewards + gamma * not_done * next_values - values
    value_target = np.empty(n)
    advantage = np.empty(n)
    # v_{t+1} - V(x_{t+1}) of the step after t within its rollout (0 after its end).
    correction = 0.0
    for t in range(n - 1, -1, -1):
        if rollout_end[t]:
            correction = 0.0
        tail = gamma * not_done[t] * correction
        advantage[t] = rho[t] * (delta[t] + lam * tail)
        correction = rho[t] * delta[t] + c[t] * tail
        value_target[t] = values[t] + correction
    return Targets(value_target, advantage, rho)


# ---------------------------------------------------------------------------
# The trainer


class Minibatch(NamedTuple):
    """What one PPO minibatch needs, as tensors on the model's device."""

    obs: torch.Tensor
    action: torch.Tensor
    old_log_prob: torch.Tensor
    advantage: torch.Tensor
    value_target: torch.Tensor


class PPOTrainer(ConfigDrivenTrainer[Minibatch]):
    """Clipped PPO on complete rollouts, with V-trace lag correction (optional).

    A round waits for ``config.num_episodes_per_experience`` new complete
    rollouts (the buffer's episodes) and takes every one completed since the
    previous round. It computes the value targets and advantages of their
    steps with the weights it starts with (see the module's docstring), then
    runs ``epochs`` passes over them in shuffled minibatches of
    ``config.batch_size`` (the trainer's seeded generator), and syncs. Each
    round reports ``rollouts``, ``experience_steps``, ``policy_lag_mean``,
    ``policy_lag_max`` (versions behind the round's weights) and
    ``rho_truncated`` (the share of steps whose weight was cut to
    :math:`\\bar\\rho`); each optimizer step ``policy_loss``, ``value_loss``,
    ``entropy``, ``approx_kl`` and ``clip_fraction`` besides the loss.

    Args:
        config: Optimizer, minibatch size and rollouts per round (a table in TOML).
        model: Name of the actor-critic training model.
        data_user: Name of the rollout buffer (an
            :class:`~engine.data.EpisodeBuffer` with ``done_key = "rollout_end"``).
        gamma: Discount.
        gae_lambda: λ of GAE and of V-trace's traces.
        clip_range: PPO's ε: the ratio is clipped to ``[1 - ε, 1 + ε]``.
        epochs: Passes over a round's steps.
        value_coef: Weight of the value loss.
        entropy_coef: Weight of the entropy bonus.
        lag_correction: V-trace-weighted advantages and targets and the ratio
            over the round's starting policy (True), or plain PPO (False).
        rho_bar: V-trace's :math:`\\bar\\rho` (>= 1 keeps lag-free steps unweighted).
        c_bar: V-trace's :math:`\\bar c`.
        normalize_advantages: Whiten the advantages of each minibatch.
        torch_num_threads: ``torch.set_num_threads`` for the process, so the
            engine's two threads do not fight over cores (None: leave it).

    Raises:
        ValueError: For a value out of range, or ``num_episodes_per_experience = 0``.
    """

    def __init__(
        self,
        config: TrainingConfiguration | Mapping[str, Any],
        model: str = "policy",
        data_user: str = "rollouts",
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: float = 0.2,
        epochs: int = 10,
        value_coef: float = 0.5,
        entropy_coef: float = 0.0,
        lag_correction: bool = True,
        rho_bar: float = 1.0,
        c_bar: float = 1.0,
        normalize_advantages: bool = True,
        torch_num_threads: int | None = 1,
    ) -> None:
        super().__init__(config, model, data_user)
        if self.config.num_episodes_per_experience < 1:
            raise ValueError(
                "training.num_episodes_per_experience must be >= 1 for a "
                "PPOTrainer: its rounds wait for complete rollouts"
            )
        for name, value, low, high in (
            ("gamma", gamma, 0.0, 1.0),
            ("gae_lambda", gae_lambda, 0.0, 1.0),
        ):
            if not low <= value <= high:
                raise ValueError(f"{name} must be within [{low}, {high}], got {value}")
        for name, value in (
            ("clip_range", clip_range),
            ("rho_bar", rho_bar),
            ("c_bar", c_bar),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        self.model_name = model
        self.data_user_name = data_user
        self.gamma = gamma
        self.gae_lambda = gae_lambda
        self.clip_range = clip_range
        self.epochs = epochs
        self.value_coef = value_coef
        self.entropy_coef = entropy_coef
        self.lag_correction = lag_correction
        self.rho_bar = rho_bar
        self.c_bar = c_bar
        self.normalize_advantages = normalize_advantages
        if torch_num_threads is not None:
            torch.set_num_threads(torch_num_threads)

    @override
    def attach_data_users(self, data_users: DataUsersDict) -> None:
        """Attach the data users; the rollouts must be in an episode buffer.

        Raises:
            KeyError: If there is no such buffer.
            TypeError: If its buffer is not an :class:`~engine.data.EpisodeBuffer`.
        """
        user = data_users.get(self.data_user_name)
        if user is not None and not isinstance(user.buffer, EpisodeBuffer):
            raise TypeError(
                f"data_user: buffer '{self.data_user_name}' is a "
                f"{type(user.buffer).__name__}; a PPOTrainer trains on complete "
                "rollouts, so collect into an engine.data:EpisodeBuffer with "
                f'done_key = "{ROLLOUT_END}"'
            )
        super().attach_data_users(data_users)

    @override
    def on_training_models_attached(self) -> None:
        super().on_training_models_attached()
        self.network = self.get_torch_training_model(self.model_name, ActorCritic).model

    @property
    def policy_version(self) -> int:
        """The version of the weights being trained (syncs so far)."""
        return int(self.network.policy_version)

    @override
    def sync_models(self) -> None:
        """Count the round's weights as the next policy version, then sync them."""
        with torch.no_grad():
            self.network.policy_version += 1
        super().sync_models()

    def round_targets(
        self, rollouts: Sequence[Sequence[Mapping[str, Any]]]
    ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """The round's steps as tensors with their targets, and the round's metrics.

        Computed with the weights as they are (the round's start).

        Returns:
            ``obs``, ``action``, ``old_log_prob`` (the ratio's denominator),
            ``advantage`` and ``value_target`` per step; and the metrics.
        """
        steps = [step for rollout in rollouts for step in rollout]
        device = self.network.policy_version.device
        dtype = next(self.network.parameters()).dtype

        def values(key: str) -> list[Any]:
            return [step[key] for step in steps]

        def column(key: str) -> np.ndarray:
            return np.asarray(values(key))

        obs = torch.as_tensor(np.stack(values("obs")), dtype=dtype, device=device)
        next_obs = torch.as_tensor(
            np.stack(values("next_obs")), dtype=dtype, device=device
        )
        action = torch.as_tensor(column("action"), dtype=torch.long, device=device)
        behaviour = column("log_prob").astype(np.float64)
        versions = column("version").astype(np.int64)
        current = self.policy_version
        with torch.no_grad():
            out = self.network(obs)
            log_probs = torch.log_softmax(out.logits.float(), 1)
            start = log_probs.gather(1, action[:, None]).squeeze(1)
            next_values = self.network(next_obs).value
        start_np = start.double().cpu().numpy()
        log_ratio = start_np - behaviour
        # The same weights chose those actions: their ratio is 1, not 1 +- rounding.
        log_ratio[versions == current] = 0.0
        targets = vtrace(
            np.asarray([step["reward"] for step in steps], np.float64),
            out.value.double().cpu().numpy(),
            next_values.double().cpu().numpy(),
            column("terminated"),
            column(ROLLOUT_END),
            log_ratio if self.lag_correction else np.zeros(len(steps)),
            self.gamma,
            self.gae_lambda,
            self.rho_bar,
            self.c_bar,
        )
        old = start_np if self.lag_correction else behaviour
        lag = np.maximum(0, current - versions)
        metrics = {
            "rollouts": float(len(rollouts)),
            "experience_steps": float(len(steps)),
            "policy_lag_mean": float(lag.mean()),
            "policy_lag_max": float(lag.max()),
            "rho_truncated": float(np.mean(np.exp(log_ratio) > self.rho_bar)),
        }
        data = {
            "obs": obs,
            "action": action,
            "old_log_prob": torch.as_tensor(old, dtype=dtype, device=device),
            "advantage": torch.as_tensor(targets.advantage, dtype=dtype, device=device),
            "value_target": torch.as_tensor(
                targets.value_target, dtype=dtype, device=device
            ),
        }
        return data, metrics

    @override
    def batches(self, batch_size: int) -> Iterator[Minibatch]:
        """``epochs`` shuffled passes over the round's steps, in minibatches."""
        rollouts = self.experience_episodes()
        if not rollouts:
            return  # the buffer dropped them for room: nothing to train on
        data, metrics = self.round_targets(rollouts)
        self.report_metrics(metrics, self.global_step)
        count = len(data["obs"])
        device = data["obs"].device
        for _ in range(self.epochs):
            order = torch.randperm(count, generator=self.generator).to(device)
            for begin in range(0, count, batch_size):
                index = order[begin : begin + batch_size]
                yield Minibatch(**{key: value[index] for key, value in data.items()})

    @override
    def step(self, batch: Minibatch) -> tuple[torch.Tensor, Mapping[str, float]]:
        out = self.network(batch.obs)
        log_probs = torch.log_softmax(out.logits, 1)
        log_prob = log_probs.gather(1, batch.action[:, None]).squeeze(1)
        advantage = batch.advantage
        if self.normalize_advantages and len(advantage) > 1:
            advantage = (advantage - advantage.mean()) / (
                advantage.std(correction=0) + 1e-8
            )
        log_ratio = log_prob - batch.old_log_prob
        ratio = log_ratio.exp()
        clipped = ratio.clamp(1.0 - self.clip_range, 1.0 + self.clip_range)
        policy_loss = -torch.min(ratio * advantage, clipped * advantage).mean()
        value_loss = 0.5 * (out.value - batch.value_target).pow(2).mean()
        entropy = -(log_probs.exp() * log_probs).sum(1).mean()
        loss = policy_loss + self.value_coef * value_loss - self.entropy_coef * entropy
        with torch.no_grad():
            approx_kl = ((ratio - 1.0) - log_ratio).mean()
            clip_fraction = ((ratio - 1.0).abs() > self.clip_range).float().mean()
        return loss, {
            "policy_loss": float(policy_loss.detach()),
            "value_loss": float(value_loss.detach()),
            "entropy": float(entropy.detach()),
            "approx_kl": float(approx_kl),
            "clip_fraction": float(clip_fraction),
        }

    @override
    def tunables(self) -> dict[str, Tunable]:
        """The configuration's (see :class:`ConfigDrivenTrainer`), ``clip_range``,
        ``epochs``, ``entropy_coef`` and ``lag_correction``."""
        settings = super().tunables()
        settings["clip_range"] = Tunable.attribute(
            self,
            "clip_range",
            float,
            0.0,
            10.0,
            "PPO's clip range epsilon",
            exclusive_minimum=True,
        )
        settings["epochs"] = Tunable.attribute(
            self, "epochs", int, 1, 1000, "passes over a round's steps"
        )
        settings["entropy_coef"] = Tunable.attribute(
            self, "entropy_coef", float, 0.0, 10.0, "weight of the entropy bonus"
        )
        settings["lag_correction"] = Tunable.attribute(
            self,
            "lag_correction",
            bool,
            None,
            None,
            "V-trace lag correction (false: plain PPO)",
        )
        return settings
