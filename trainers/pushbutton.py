"""The pushbutton trainer: ASTRA-RL's ``Trainer(config, sampler, algorithm)``, by composition.

Config-driven training comes two ways (see :mod:`trainers`): subclass the
config-driven trainer, :class:`~trainers.config_driven.ConfigDrivenTrainer`, or
compose the pushbutton trainer (this module) without writing a trainer class.

ASTRA-RL builds its trainer from a configuration, a sampler that runs rollouts
and an algorithm whose ``step(batch)`` returns the loss, and trains without a
trainer class being written. Here the agent is the sampler: it collects steps
into an :class:`~engine.data.EpisodeBuffer` on the inference thread while
training goes on, and the trainer's source of experience is that buffer. Each
round waits for ``num_episodes_per_experience`` new complete episodes, flattens
them with the algorithm, batches their steps and trains on them once::

    config = TrainingConfiguration(lr=1e-3, batch_size=16, optimizer="adamw",
                                   gradient_accumulation_steps=1,
                                   training_steps=1024,
                                   num_episodes_per_experience=8)
    trainer = PushbuttonTrainer(config, "episodes", Reinforce())
    System(interaction, {"policy": model}, {"episodes": EpisodeBuffer(4096)},
           {"reinforce": trainer}, ...)

It is a :class:`~trainers.config_driven.ConfigDrivenTrainer` whose batches and
loss come from those two objects, so both ways share one training loop.

ASTRA-RL's trainer and this one
-------------------------------
On the same episodes, this trainer takes ASTRA-RL's optimizer steps bit for bit
where the two batch alike. Three choices differ; each is decided with the
seed's text and is an option of the configuration. Set all three the ASTRA-RL
way (``episodes_per_round = "exact"``, ``gradient_accumulation_remainder =
"carry"``, ``shuffle = false``) and every step is ASTRA-RL's
(``tests/trainers/test_pushbutton.py`` checks it).

- **Which episodes a round takes** (``episodes_per_round``, default
  ``"all_new"``). The seed's ``num_episodes_per_experience`` is the "number of
  rollouts to run before making a gradient update"; ASTRA-RL's trainer runs
  exactly that many itself and trains on them, so each rollout is trained on
  once, right after the policy that ran it. Here the agent runs rollouts while
  training goes on, and more may be waiting when a round starts. Taking them
  all keeps each rollout trained on once in the first round after it ended:
  no round trains on old rollouts while newer ones wait, and an agent faster
  than training builds no backlog. ``"exact"`` takes exactly that many, oldest
  first, the rest waiting for the next rounds: ASTRA-RL's experiences, for a
  loss that needs a fixed number of episodes.
- **A partial gradient accumulation at the end of a round**
  (``gradient_accumulation_remainder``, default ``"flush"``). The seed makes
  "a gradient update" of each experience, and accumulates
  ``gradient_accumulation_steps`` batches "before updating the model weights";
  when an experience's batches do not fill the last accumulation, the two
  sentences disagree, and ASTRA-RL's step counter, which runs across
  experiences, follows the second. Here a round ends by syncing its weights to
  the agent, so by default it steps on the remainder as its own mean: the
  agent's next rollouts come from weights that learnt from the whole
  experience. ``"carry"`` keeps the remainder's gradients for the next round,
  as ASTRA-RL does (every step then has the same number of batches).
- **Shuffling** (``shuffle``, default true). The seed batches steps "after
  flattening from experience" and says nothing of their order; ASTRA-RL keeps
  it. The steps of an episode are correlated, so by default a round shuffles
  them, with the trainer's seeded generator (a seeded run repeats);
  ``shuffle = false`` batches them in the order they were collected.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.optim import Optimizer
from torch.utils.data import default_collate
from typing_extensions import override

from engine.data import DataUsersDict, EpisodeBuffer

from .algorithm import Algorithm, StepResult
from .config import TrainingConfiguration
from .config_driven import OPTIMIZER, ConfigDrivenTrainer


class PushbuttonTrainer(ConfigDrivenTrainer[Any]):
    """Trains with ``algorithm`` on the new episodes of ``experience``, as ``config`` says.

    The algorithm needs only ``step(batch)`` (the loss, or ``(loss, logs)``); if
    it defines them, ``on_models_attached(models)``, ``flatten(episode)``,
    ``collate_fn(steps)`` and ``save_state(path)``/``load_state(path)`` are used
    too (see :class:`~trainers.algorithm.Algorithm`).

    A round's steps are the new complete episodes, each flattened, shuffled
    with the trainer's seeded generator (``config.shuffle``) and cut into
    batches of ``config.batch_size`` (the last may be smaller). Every batch is
    used once, up to ``config.max_steps_per_run`` optimizer steps. Each round
    also logs ``experience_episodes`` and ``experience_steps``.

    Args:
        config: The configuration, or a mapping validated into one.
        experience: Name of the data user holding an
            :class:`~engine.data.EpisodeBuffer` that the agent collects steps
            into; its episodes are the experience and decide when to train.
        algorithm: The learning rule.
        models: Name(s) of the training models to optimize and sync (None:
            every torch training model, as ASTRA-RL optimizes its whole system).
        min_buffer_size: Steps the buffer must hold as well.
        min_new_data_count: New steps needed as well.

    Raises:
        TypeError: If ``algorithm`` has no ``step`` method.
        ValueError: If ``config.num_episodes_per_experience`` is 0 (a round
            would have no experience).
    """

    def __init__(
        self,
        config: TrainingConfiguration | Mapping[str, Any],
        experience: str,
        algorithm: Algorithm[Any, Any],
        models: str | Sequence[str] | None = None,
        min_buffer_size: int = 0,
        min_new_data_count: int = 0,
    ) -> None:
        if not callable(getattr(algorithm, "step", None)):
            raise TypeError(
                f"algorithm: {type(algorithm).__name__} has no step(batch) method "
                "(it must return the loss, or the loss and a dict of logs)"
            )
        super().__init__(
            config, models, experience, min_buffer_size, min_new_data_count
        )
        if self.config.num_episodes_per_experience < 1:
            raise ValueError(
                "training.num_episodes_per_experience must be >= 1 for a "
                "PushbuttonTrainer: its rounds train on new episodes"
            )
        self.algorithm = algorithm
        self.experience_data_user = experience

    @property
    def optimizer(self) -> Optimizer:
        """The optimizer the configuration describes (ASTRA-RL's ``Trainer.optimizer``).

        Raises:
            RuntimeError: Before the first round created it.
        """
        if OPTIMIZER not in self.optimizers:
            raise RuntimeError("the optimizer is created at the first training round")
        return self.optimizers[OPTIMIZER]

    @override
    def attach_data_users(self, data_users: DataUsersDict) -> None:
        """Attach the data users; the experience must hold episodes.

        Raises:
            KeyError: If there is no such buffer.
            TypeError: If its buffer is not an :class:`~engine.data.EpisodeBuffer`.
        """
        user = data_users.get(self.experience_data_user)
        if user is not None and not isinstance(user.buffer, EpisodeBuffer):
            raise TypeError(
                f"experience: buffer '{self.experience_data_user}' is a "
                f"{type(user.buffer).__name__}; a PushbuttonTrainer trains on "
                "complete episodes, so collect into an engine.data:EpisodeBuffer"
            )
        super().attach_data_users(data_users)  # also names an unknown buffer

    @override
    def on_training_models_attached(self) -> None:
        """Fetch the models, then hand their modules to the algorithm."""
        super().on_training_models_attached()
        hook = getattr(self.algorithm, "on_models_attached", None)
        if hook is not None:
            hook({name: model.model for name, model in self.models.items()})

    def experience(self) -> list[Any]:
        """This round's training steps: each new complete episode, flattened.

        Override to draw steps from elsewhere.
        """
        flatten = getattr(self.algorithm, "flatten", None)
        steps: list[Any] = []
        for episode in self.experience_episodes():
            steps.extend(flatten(episode) if flatten is not None else episode)
        return steps

    @override
    def batches(self, batch_size: int) -> Iterator[Any]:
        """The experience's steps, shuffled if configured, in batches of ``batch_size``."""
        episodes = len(self.experience_episodes())
        steps = self.experience()
        self.report_metrics(
            {"experience_episodes": episodes, "experience_steps": len(steps)},
            self.global_step,
        )
        if self.config.shuffle:
            order: Sequence[int] = torch.randperm(
                len(steps), generator=self.generator
            ).tolist()
        else:
            order = range(len(steps))
        collate = getattr(self.algorithm, "collate_fn", None) or default_collate
        for start in range(0, len(steps), batch_size):
            yield collate([steps[i] for i in order[start : start + batch_size]])

    @override
    def step(self, batch: Any) -> tuple[torch.Tensor, Mapping[str, float]]:
        """The algorithm's loss and logs for ``batch``.

        Raises:
            TypeError: If the algorithm returns something else than a scalar
                loss tensor (and a mapping of numbers).
        """
        result: StepResult = self.algorithm.step(batch)
        loss, logs = result if isinstance(result, tuple) else (result, {})
        name = type(self.algorithm).__name__
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise TypeError(
                f"{name}.step(batch) must return a one-element loss tensor, "
                f"or (loss, logs); got {_describe(loss)}"
            )
        if not isinstance(logs, Mapping):
            raise TypeError(
                f"{name}.step(batch) returned logs of type {type(logs).__name__}, "
                "not a mapping of names to numbers"
            )
        return loss.reshape(()), {str(k): _scalar(name, k, v) for k, v in logs.items()}

    @override
    def save_state(self, path: Path) -> None:
        """Also save the algorithm's state under ``path/algorithm`` if it has one."""
        super().save_state(path)
        save = getattr(self.algorithm, "save_state", None)
        if save is not None:
            save(path / "algorithm")

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote."""
        super().load_state(path)
        load = getattr(self.algorithm, "load_state", None)
        if load is not None:
            load(path / "algorithm")


def _scalar(algorithm: str, key: Any, value: Any) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(
        f"{algorithm}.step(batch) logged {key!r} = {_describe(value)}; "
        "logs must be numbers or one-element tensors"
    )


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"
