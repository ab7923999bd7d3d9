"""Deep Q-learning on a gymnasium environment with discrete actions (CartPole-v1).

Reads top to bottom: the Q-network, the epsilon-greedy agent that acts with
the inference copy and collects transitions, and the Double-DQN trainer with a
Polyak-averaged target network. The agent and the trainer run concurrently on
the engine's two threads; the trainer syncs fresh weights after every run.

Components (TOML targets): ``algorithms.dqn:QNetwork`` (wrapped by
``engine.torch:TorchTrainingModel``), ``algorithms.dqn:DQNAgent`` with
``engine.gym:GymEnvironment``, an ``engine.data:SequentialBuffer`` replay
buffer, and ``algorithms.dqn:DQNTrainer``.
"""

from __future__ import annotations

import copy
import json
import random
import time
import weakref
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from typing_extensions import override

from algorithms.episodes import EpisodeLog
from engine.data import DataCollector
from engine.gym import GymAgent
from engine.model import InferenceModel
from engine.torch import TorchInferenceModel, load_weights, save_weights
from engine.torch.layout import structure_generation
from engine.tunables import Tunable
from trainers.config import TrainingConfiguration
from trainers.config_driven import ConfigDrivenTrainer

# ---------------------------------------------------------------------------
# The network


class QNetwork(nn.Module):
    """An MLP from observations to one Q-value per action.

    Args:
        obs_dim: Observation size.
        num_actions: Number of discrete actions.
        hidden_sizes: Widths of the hidden layers.
        seed: Seed of the initial weights (None: torch's global generator).
    """

    def __init__(
        self,
        obs_dim: int = 4,
        num_actions: int = 2,
        hidden_sizes: Sequence[int] = (128, 128),
        seed: int | None = None,
    ) -> None:
        super().__init__()
        with torch.random.fork_rng(enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            layers: list[nn.Module] = []
            width = obs_dim
            for hidden in hidden_sizes:
                layers += [nn.Linear(width, hidden), nn.ReLU()]
                width = hidden
            layers.append(nn.Linear(width, num_actions))
        self.net = nn.Sequential(*layers)

    @override
    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Return Q-values of shape ``(batch, num_actions)``.

        Each layer's function is called directly, not through its module's
        ``__call__`` (hooks on the layers are not run): the trainer runs this
        network three times per optimizer step, and the module machinery was a
        third of the time of the sample's 4-128-128-2 network.
        """
        x = obs
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                x = F.linear(x, layer.weight, layer.bias)
            else:
                x = torch.relu(x)
        return x

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Q-values of a batch of observations ``(batch, obs_dim)``, with NumPy.

        What the agent calls for its one observation per step (on the CPU,
        float32; otherwise through :meth:`forward`). Besides costing a quarter
        of torch's time here, NumPy keeps the GIL for the whole call, while
        each torch call lets it go and takes it back: with the trainer running
        torch on the other thread, the GIL changed hands at every one of the
        agent's torch calls, each time costing the trainer up to a switch
        interval. Read under :meth:`TorchInferenceModel.unwrap`, so a sync
        never writes the weights meanwhile.
        """
        layers = numpy_layers(self.net)
        if layers is None:
            weight = input_layer(self.net).weight
            with torch.inference_mode():
                batch = torch.as_tensor(obs, dtype=weight.dtype, device=weight.device)
                return self(batch).cpu().numpy()
        x = np.asarray(obs, np.float32)
        last = len(layers) - 1
        for i, (weight_t, bias) in enumerate(layers):
            x = x @ weight_t
            x += bias
            if i < last:
                np.maximum(x, 0.0, out=x)
        return x


class _NumpyLayers:
    """NumPy views of a network's linear layers, and what they were made from."""

    __slots__ = ("generation", "layers", "ptrs", "tensors")

    def __init__(self, net: nn.Sequential) -> None:
        self.generation = structure_generation()
        linears = [m for m in net if isinstance(m, nn.Linear)]
        self.tensors = [t for m in linears for t in (m.weight, m.bias)]
        self.ptrs = [t.data_ptr() for t in self.tensors]
        self.layers: list[tuple[np.ndarray, np.ndarray]] | None = None
        if all(
            t.device.type == "cpu" and t.dtype == torch.float32 for t in self.tensors
        ):
            # Views, not copies: a sync copies into these very tensors.
            self.layers = [
                (m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in linears
            ]

    def current(self) -> bool:
        """Whether the network still has these tensors, with this data."""
        return self.generation == structure_generation() and self.ptrs == [
            t.data_ptr() for t in self.tensors
        ]


_NUMPY_LAYERS: weakref.WeakKeyDictionary[nn.Sequential, _NumpyLayers] = (
    weakref.WeakKeyDictionary()
)


def numpy_layers(net: nn.Sequential) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """NumPy views of the linear layers ``(weight.T, bias)`` of ``net``, linear
    layers and activations, made once per ``net`` and remade if a tensor was
    replaced (None: not CPU float32).

    A network's ``net`` (the Q-network's, the SAC actor's too, see
    :mod:`algorithms.sac`).
    """
    cached = _NUMPY_LAYERS.get(net)
    if cached is None or not cached.current():
        cached = _NUMPY_LAYERS[net] = _NumpyLayers(net)
    return cached.layers


def input_layer(net: nn.Sequential) -> nn.Linear:
    """The first layer of ``net``, whose weight has the network's dtype and device.

    Raises:
        TypeError: If ``net`` does not start with a linear layer.
    """
    layer = net[0]
    if not isinstance(layer, nn.Linear):
        raise TypeError(f"the network starts with {type(layer).__name__}, not Linear")
    return layer


# ---------------------------------------------------------------------------
# The agent


def pack_transition(
    obs: np.ndarray,
    action: int,
    reward: float,
    next_obs: np.ndarray,
    terminated: bool,
    steps: int = 1,
) -> np.ndarray:
    """One transition as a flat float32 row: ``obs, action, reward, next_obs, terminated, steps``.

    ``reward`` is the discounted sum of the ``steps`` rewards between ``obs``
    and ``next_obs`` (one step: the reward), so the TD target is
    ``reward + gamma**steps * max Q(next_obs)`` unless ``terminated``.

    A row per transition (not a dict of arrays) lets the trainer turn a sampled
    batch into tensors with one ``np.asarray``: ~30 us for 128 transitions
    against ~200 us when gathering fields from 128 dicts, about a fifth of an
    optimizer step of the sample's network.
    """
    d = len(obs)
    row = np.empty(2 * d + 4, np.float32)
    row[:d] = obs
    row[d] = action
    row[d + 1] = reward
    row[d + 2 : 2 * d + 2] = next_obs
    row[2 * d + 2] = terminated
    row[2 * d + 3] = steps
    return row


class DQNAgent(GymAgent[np.ndarray, int]):
    """Acts epsilon-greedily with the Q-network and collects transitions.

    Each transition is a row made by :func:`pack_transition`; with
    ``n_step > 1`` it spans up to ``n_step`` steps (fewer at an episode's end)
    with their rewards discounted by ``gamma``, which makes values travel back
    ``n_step`` states per update instead of one.
    The latest ``episode_history`` episode returns are kept in
    :attr:`episode_returns` (wall time, return), the agent step at which each
    ended in :attr:`episode_end_steps` (so a run of any length holds bounded
    memory), the count of all in :attr:`episodes` (all kept by
    :attr:`episode_log`, an :class:`~algorithms.episodes.EpisodeLog`), and
    reported as agent metrics at the end of each episode: ``episode_return``,
    ``episode_return_mean20`` and ``episodes``, at the agent's step count.

    Args:
        model: Name of the Q-network's inference model.
        collector: Name of the replay buffer's collector.
        num_actions: Number of discrete actions.
        epsilon_start: Exploration rate at the first step.
        epsilon_end: Exploration rate after ``epsilon_decay_steps`` steps.
        epsilon_decay_steps: Agent steps of linear decay.
        seed: Seed of the exploration random generator.
        n_step: Steps each transition spans (1: one-step transitions).
        gamma: Discount of the rewards summed within a transition; set the
            trainer's ``gamma`` to the same value.
        episode_history: How many recent episodes :attr:`episode_returns`
            keeps (the benchmarks read whole learning curves from it: 100,000
            covers hours of CartPole).
    """

    def __init__(
        self,
        model: str = "q_network",
        collector: str = "replay",
        num_actions: int = 2,
        epsilon_start: float = 1.0,
        epsilon_end: float = 0.05,
        epsilon_decay_steps: int = 10_000,
        seed: int | None = None,
        n_step: int = 1,
        gamma: float = 0.99,
        episode_history: int = 100_000,
    ) -> None:
        super().__init__()
        if not 0.0 <= epsilon_end <= 1.0 or not 0.0 <= epsilon_start <= 1.0:
            raise ValueError("epsilon_start and epsilon_end must be within [0, 1]")
        if n_step < 1:
            raise ValueError(f"n_step must be >= 1, got {n_step}")
        if epsilon_decay_steps < 1:
            raise ValueError(
                f"epsilon_decay_steps must be >= 1, got {epsilon_decay_steps}"
            )
        self.model_name = model
        self.collector_name = collector
        self.num_actions = num_actions
        self.epsilon_start = epsilon_start
        self.epsilon_end = epsilon_end
        self.epsilon_decay_steps = epsilon_decay_steps
        self.random = random.Random(seed)
        self.steps = 0
        self.episode_log = EpisodeLog(history=episode_history)
        self.episode_returns = self.episode_log.returns
        self.episode_end_steps = self.episode_log.end_steps
        self._obs: np.ndarray | None = None
        self._numpy_q: TorchInferenceModel[QNetwork] | None = None
        self._action = 0
        self.n_step = n_step
        self.gamma = gamma
        # (obs, action, reward) of the steps whose transition is not complete yet.
        self._pending: deque[tuple[np.ndarray, int, float]] = deque()

    @override
    def on_inference_models_attached(self) -> None:
        super().on_inference_models_attached()
        self.q_network: InferenceModel = self.get_inference_model(self.model_name)
        self._numpy_q = None
        if isinstance(self.q_network, TorchInferenceModel):
            with self.q_network.unwrap() as network:
                if isinstance(network, QNetwork):
                    self._numpy_q = self.q_network

    @override
    def on_data_collectors_attached(self) -> None:
        super().on_data_collectors_attached()
        self.collector: DataCollector[np.ndarray] = self.get_data_collector(
            self.collector_name
        )

    @override
    def tunables(self) -> dict[str, Tunable]:
        """The exploration schedule: ``epsilon_start``, ``epsilon_end`` and
        ``epsilon_decay_steps``, changeable while the run goes on."""
        return {
            "epsilon_start": Tunable.attribute(
                self, "epsilon_start", float, 0.0, 1.0, "exploration rate at step 0"
            ),
            "epsilon_end": Tunable.attribute(
                self,
                "epsilon_end",
                float,
                0.0,
                1.0,
                "exploration rate once the decay is over",
            ),
            "epsilon_decay_steps": Tunable.attribute(
                self,
                "epsilon_decay_steps",
                int,
                1,
                1e12,
                "agent steps from epsilon_start to epsilon_end",
            ),
        }

    @property
    def episodes(self) -> int:
        """Episodes ended, in all."""
        return self.episode_log.count

    @property
    def episode_return(self) -> float:
        """Return of the episode in progress (or of the one that just ended)."""
        return self.episode_log.current

    @property
    def epsilon(self) -> float:
        """The current exploration rate."""
        progress = min(1.0, self.steps / self.epsilon_decay_steps)
        return self.epsilon_start + (self.epsilon_end - self.epsilon_start) * progress

    def _act(self, obs: np.ndarray) -> int:
        self.steps += 1
        self._obs = obs
        if self.random.random() < self.epsilon:
            self._action = self.random.randrange(self.num_actions)
        elif self._numpy_q is not None:
            # The sample's own network: NumPy, without a torch call (see QNetwork.q_values).
            with self._numpy_q.unwrap(inference_mode=False) as network:
                q = network.q_values(np.asarray(obs, np.float32)[None])
            self._action = int(q.argmax())
            if not getattr(getattr(self, "collector", None), "limited", False):
                # Let the GIL go once a step: NumPy never does, and an agent
                # not held back by a replay ratio kept the trainer waiting a
                # whole switch interval for every torch call (0.10x of its
                # speed alone, against 0.25-0.31x when each torch call of the
                # agent let it go). A limited agent lets it go while it waits,
                # and its few steps at a time are cheaper without the yield.
                time.sleep(0)
        else:
            q = self.q_network(torch.from_numpy(np.asarray(obs, np.float32)[None]))
            self._action = int(q.argmax())
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
        assert self._obs is not None
        self._pending.append((self._obs, self._action, reward))
        if terminated or truncated:
            # Every pending step ends here: bootstrap from obs unless terminated.
            while self._pending:
                self._emit(obs, terminated)
        elif len(self._pending) == self.n_step:
            self._emit(obs, False)
        self.episode_log.add(reward)
        if terminated or truncated:
            self.report_metrics(self.episode_log.end(self.steps), self.steps)
            # The environment resets next and on_reset picks the real action.
            return 0
        return self._act(obs)

    def _emit(self, next_obs: np.ndarray, terminated: bool) -> None:
        """Collect the transition from the oldest pending step to ``next_obs``."""
        obs, action, _ = self._pending[0]
        ret = 0.0
        for k, (_, _, reward) in enumerate(self._pending):
            ret += self.gamma**k * reward
        row = pack_transition(
            obs, action, ret, next_obs, terminated, len(self._pending)
        )
        # Popped before collecting: collect() may wait as a pause point (a
        # replay ratio's limit), and a state loaded meanwhile clears _pending.
        self._pending.popleft()
        self.collector.collect(row)

    @override
    def save_state(self, path: Path) -> None:
        """Save the step and episode counts, the returns of the 20-episode mean
        and the exploration generator (JSON), so a resumed run's curves and
        counters go on where they were."""
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
        """Load what :meth:`save_state` wrote (a state from before the episode
        counts were saved leaves them as they are)."""
        state = json.loads(path.with_suffix(".json").read_text())
        steps = int(state["steps"])
        self._pending.clear()  # steps of an episode that is not the loaded one
        self.steps = steps
        self.episode_log.restore(state)
        version, internal, gauss = state["random"]
        self.random.setstate((version, tuple(internal), gauss))


# ---------------------------------------------------------------------------
# The trainer


class Transitions(NamedTuple):
    """A micro-batch of transitions, as tensors (see :func:`unpack_batch`)."""

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor
    steps: torch.Tensor


def unpack_batch(rows: Sequence[np.ndarray] | np.ndarray) -> Transitions:
    """Stack rows made by :func:`pack_transition` into a micro-batch (column views)."""
    batch = torch.from_numpy(np.asarray(rows))
    d = (batch.shape[1] - 4) // 2
    return Transitions(
        obs=batch[:, :d],
        action=batch[:, d].long(),
        reward=batch[:, d + 1],
        next_obs=batch[:, d + 2 : 2 * d + 2],
        terminated=batch[:, 2 * d + 2],
        steps=batch[:, 2 * d + 3],
    )


class DQNTrainer(ConfigDrivenTrainer[Transitions]):
    """Double DQN with a target network, on batches drawn from a replay buffer.

    Each run takes ``config.max_steps_per_run`` optimizer steps (required) on
    micro-batches of ``config.batch_size`` transitions drawn uniformly from
    the replay buffer with ``DataUser.sample`` (no copy of the buffer);
    ``config.training_steps`` bounds the number of runs (``inf`` in TOML: no
    bound) and ``config.replay_ratio`` keeps the agent from outrunning
    training. The loss is the Huber loss of the TD error over each
    transition's steps (see :class:`DQNAgent`'s ``n_step``).

    Args:
        config: Optimizer, batch size and steps per run (a table in TOML).
        model: Name of the Q-network training model.
        data_user: Name of the replay buffer.
        gamma: Discount factor.
        tau: Target network update rate: every ``target_update_interval``
            optimizer steps the target moves this fraction of the way to the
            online network (1.0: a hard copy, as in Nature DQN and SB3's default).
        target_update_interval: Optimizer steps between target updates.
        double_dqn: Choose next actions with the online network (Double DQN).
        min_buffer_size: Transitions the buffer must hold before training.
        min_new_data_count: New transitions needed between runs.
        torch_num_threads: ``torch.set_num_threads`` for the process, so the two
            engine threads do not fight over cores (None: leave it).
    """

    endless_batches = True

    def __init__(
        self,
        config: TrainingConfiguration | Mapping[str, Any],
        model: str = "q_network",
        data_user: str = "replay",
        gamma: float = 0.99,
        tau: float = 0.005,
        target_update_interval: int = 1,
        double_dqn: bool = True,
        min_buffer_size: int = 1000,
        min_new_data_count: int = 0,
        torch_num_threads: int | None = 1,
    ) -> None:
        super().__init__(config, model, data_user, min_buffer_size, min_new_data_count)
        if not 0.0 < tau <= 1.0:
            raise ValueError(f"tau must be within (0, 1], got {tau}")
        if target_update_interval < 1:
            raise ValueError(
                f"target_update_interval must be >= 1, got {target_update_interval}"
            )
        self.model_name = model
        self.data_user_name = data_user
        self.gamma = gamma
        self.tau = tau
        self.target_update_interval = target_update_interval
        self.double_dqn = double_dqn
        # Draws the replay batches; seeded like the config's generator, saved with it.
        self.random = random.Random(self.config.seed)
        if torch_num_threads is not None:
            torch.set_num_threads(torch_num_threads)

    @override
    def on_training_models_attached(self) -> None:
        super().on_training_models_attached()
        # Any module mapping observations to Q-values (not only a QNetwork).
        self.q_network = self.get_torch_training_model(self.model_name, nn.Module).model
        self.target_network = copy.deepcopy(self.q_network).requires_grad_(False)
        # Typed as tensors for torch._foreach_lerp_ (lists are invariant).
        self._online_params: list[torch.Tensor] = list(self.q_network.parameters())
        self._target_params: list[torch.Tensor] = list(self.target_network.parameters())

    @override
    def batches(self, batch_size: int) -> Iterator[Transitions]:
        user = self.get_data_user(self.data_user_name)
        while True:
            # O(batch_size): the buffer is not copied (get_data() would copy it all).
            yield unpack_batch(user.sample(batch_size, self.random))

    @override
    def step(self, batch: Transitions) -> tuple[torch.Tensor, Mapping[str, float]]:
        # (One forward of obs and next_obs together was measured slower: the
        # backward then runs over both halves.)
        q = self.q_network(batch.obs).gather(1, batch.action[:, None]).squeeze(1)
        with torch.no_grad():
            next_q_target = self.target_network(batch.next_obs)
            if self.double_dqn:
                next_action = self.q_network(batch.next_obs).argmax(1, keepdim=True)
                next_q = next_q_target.gather(1, next_action).squeeze(1)
            else:
                next_q = next_q_target.max(1).values
            discount = torch.pow(self.gamma, batch.steps) * (1.0 - batch.terminated)
            target = torch.addcmul(batch.reward, discount, next_q)
        loss = F.smooth_l1_loss(q, target)
        return loss, {"q_mean": float(q.detach().mean())}

    @override
    def tunables(self) -> dict[str, Tunable]:
        """The configuration's (see :class:`ConfigDrivenTrainer`), ``tau`` and
        ``target_update_interval``."""
        settings = super().tunables()
        settings["tau"] = Tunable.attribute(
            self,
            "tau",
            float,
            0.0,
            1.0,
            "target network update rate (1: a hard copy)",
            exclusive_minimum=True,
        )
        settings["target_update_interval"] = Tunable.attribute(
            self,
            "target_update_interval",
            int,
            1,
            1e9,
            "optimizer steps between target updates",
        )
        return settings

    @override
    def after_optimizer_step(self, step: int) -> None:
        if step % self.target_update_interval:
            return
        with torch.no_grad():
            torch._foreach_lerp_(self._target_params, self._online_params, self.tau)

    @override
    def save_state(self, path: Path) -> None:
        """Also save the target network (safetensors) and the batch generator (JSON)."""
        super().save_state(path)
        save_weights(self.target_network, path / "target_network.safetensors")
        version, internal, gauss = self.random.getstate()
        (path / "replay_random.json").write_text(
            json.dumps([version, list(internal), gauss])
        )

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote."""
        super().load_state(path)
        load_weights(self.target_network, path / "target_network.safetensors")
        saved = path / "replay_random.json"
        if saved.exists():
            version, internal, gauss = json.loads(saved.read_text())
            self.random.setstate((version, tuple(internal), gauss))
