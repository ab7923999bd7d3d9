"""``TrainingConfiguration``: what a config-driven trainer needs to train, checked up front.

A pydantic v2 model (frozen, unknown keys rejected) that a TOML table maps onto
one to one: every field of ASTRA-RL's ``TrainingConfiguration`` (same names,
meanings and defaults) plus ours. It knows how to build the optimizer and LR
scheduler it describes; torch is imported only then, so validating a
configuration stays cheap.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    import torch
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler

OptimizerName: TypeAlias = Literal["adam", "adamw", "sgd", "rmsprop", "adagrad"]

_OPTIMIZER_CLASSES = {
    "adam": "Adam",
    "adamw": "AdamW",
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoSchedule(_Strict):
    """A constant learning rate."""

    name: Literal["none"] = "none"

    def factor(self, step: int) -> float:
        """The multiplier of the base learning rate after ``step`` optimizer steps."""
        del step
        return 1.0


class LinearWarmupSchedule(_Strict):
    """Ramp linearly up to the base rate over ``warmup_steps``, then hold it.

    Attributes:
        warmup_steps: Optimizer steps until the full rate.
    """

    name: Literal["linear_warmup"]
    warmup_steps: int = Field(ge=1)

    def factor(self, step: int) -> float:
        """The multiplier of the base learning rate after ``step`` optimizer steps."""
        return min(1.0, (step + 1) / self.warmup_steps)


class CosineSchedule(_Strict):
    """Optional linear warmup, then cosine decay to ``min_lr`` at ``total_steps``.

    Attributes:
        total_steps: Optimizer steps (over all runs) at which ``min_lr`` is reached;
            the rate stays there afterwards.
        warmup_steps: Linear warmup steps before the decay.
        min_lr: The final learning rate (absolute, not a fraction).
    """

    name: Literal["cosine"]
    total_steps: int = Field(ge=1)
    warmup_steps: int = Field(default=0, ge=0)
    min_lr: float = Field(default=0.0, ge=0.0)

    @model_validator(mode="after")
    def _warmup_fits(self) -> CosineSchedule:
        if self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"warmup_steps ({self.warmup_steps}) must be less than "
                f"total_steps ({self.total_steps})"
            )
        return self

    def factor(self, step: int, base_lr: float = 1.0) -> float:
        """The multiplier of ``base_lr`` after ``step`` optimizer steps."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        span = self.total_steps - self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / span)
        floor = self.min_lr / base_lr if base_lr > 0 else 0.0
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class StepSchedule(_Strict):
    """Multiply the rate by ``gamma`` every ``step_size`` optimizer steps.

    Attributes:
        step_size: Optimizer steps between decays.
        gamma: The decay factor.
    """

    name: Literal["step"]
    step_size: int = Field(ge=1)
    gamma: float = Field(default=0.1, gt=0.0, le=1.0)

    def factor(self, step: int) -> float:
        """The multiplier of the base learning rate after ``step`` optimizer steps."""
        return self.gamma ** (step // self.step_size)


LRScheduleConfig: TypeAlias = Annotated[
    NoSchedule | LinearWarmupSchedule | CosineSchedule | StepSchedule,
    Field(discriminator="name"),
]


class TrainingConfiguration(_Strict):
    """How a config-driven trainer trains: ASTRA-RL's ``TrainingConfiguration``, and more.

    The first six fields are the seed's, with its names, meanings and defaults;
    ASTRA-RL's own example validates unchanged::

        TrainingConfiguration(lr=1e-3, batch_size=16, optimizer="adamw",
                              gradient_accumulation_steps=1, training_steps=1024,
                              num_episodes_per_experience=8)

    In ASTRA-RL, ``Trainer.train()`` loops ``training_steps`` times over "collect
    ``num_episodes_per_experience`` episodes, then train on batches of their
    steps". Here the agent collects while the trainer trains, so one pass of that
    loop is one training *round* (one run of the trainer on the training thread):
    the round waits for that many new complete episodes, then trains on them.

    Attributes:
        lr: Learning rate of the optimizer.
        batch_size: Steps per (micro-)batch, after flattening the experience.
        optimizer: One of adam, adamw, sgd, rmsprop, adagrad.
        gradient_accumulation_steps: Batches whose gradients are accumulated
            before each optimizer step (>= 1).
        training_steps: Training rounds (runs) in total, each on one experience;
            after that many the trainer is finished and no longer trains. In
            TOML write ``inf`` (in Python, None) to train for as long as the run
            lasts.
        num_episodes_per_experience: New complete episodes a round waits for.
            It applies when the trainer's data user holds an
            :class:`~engine.data.EpisodeBuffer`; given explicitly (not 0) for a
            buffer that does not mark episode ends, it is an error, while the
            default is then ignored. 0: do not wait for episodes.
        optimizer_kwargs: Extra keyword arguments of that torch optimizer
            (e.g. ``{weight_decay = 0.01}``); names are checked.
        max_steps_per_run: Optimizer steps after which a round stops even if
            batches remain (None: a round is one pass over its batches, as in
            ASTRA-RL). Needed by trainers that sample without end, e.g. replay.
        gradient_accumulation_remainder: What a round does with the
            micro-batches it accumulated after its last optimizer step when its
            batches run out. ``"flush"`` (default): step on them as their own
            mean, so every round's experience is in the weights it syncs to the
            agent. ``"carry"``: keep their gradients for the next round, whose
            first micro-batches add to them until
            ``gradient_accumulation_steps`` make a step, as in ASTRA-RL (whose
            accumulation counts across experiences); the last round's are
            never applied.
        episodes_per_round: Which of the complete episodes waiting when a
            round starts are its experience. ``"all_new"`` (default): every one
            completed since the previous round (at least
            ``num_episodes_per_experience``), so none waits for a later round.
            ``"exact"``: exactly ``num_episodes_per_experience``, oldest first,
            as in ASTRA-RL; the rest wait for the next rounds, which then start
            without waiting. Items still count as used per round
            (``min_new_data_count``). Needs an episode buffer and
            ``num_episodes_per_experience >= 1``.
        shuffle: Shuffle an experience's steps before batching them (with
            the trainer's seeded generator); false batches them in the order
            they were collected, as ASTRA-RL does.
        lr_scheduler: ``{name = "none" | "linear_warmup" | "cosine" | "step", ...}``
            (or just the name when it needs no parameters); it advances once per
            optimizer step, across rounds.
        max_grad_norm: Clip the global gradient norm to this (None: no clipping).
        seed: Seed of the trainer's random generator (None: nondeterministic).
        log_every: Optimizer steps between metric reports (averaged over them).
        replay_ratio: Optimizer steps per collected item that training keeps
            up with: once the condition data user holds ``min_buffer_size``
            items, the agent may collect only one round's worth
            (``max_steps_per_run / replay_ratio`` items) ahead of the steps
            taken, and its ``collect()`` waits beyond that (see
            ``DataUser.limit_collection``). Without it an agent that steps as
            fast as it can outruns training and takes the GIL it needs. None:
            collection never waits; leave it so for a fixed-interval
            (real-time) agent, which must not be held up.
    """

    # The seed's fields (ASTRA-RL), with its defaults.
    lr: float = Field(default=3e-3, gt=0.0)
    batch_size: int = Field(default=16, ge=1)
    optimizer: OptimizerName = "adamw"
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    training_steps: int | None = Field(default=1024, ge=1)
    num_episodes_per_experience: int = Field(default=8, ge=0)
    # Ours.
    optimizer_kwargs: dict[str, Any] = Field(default_factory=dict)
    max_steps_per_run: int | None = Field(default=None, ge=1)
    gradient_accumulation_remainder: Literal["flush", "carry"] = "flush"
    episodes_per_round: Literal["all_new", "exact"] = "all_new"
    shuffle: bool = True
    lr_scheduler: LRScheduleConfig = Field(default_factory=NoSchedule)
    max_grad_norm: float | None = Field(default=None, gt=0.0)
    seed: int | None = None
    log_every: int = Field(default=1, ge=1)
    replay_ratio: float | None = Field(default=None, gt=0.0)

    @field_validator("training_steps", mode="before")
    @classmethod
    def _unlimited_as_inf(cls, value: Any) -> Any:
        # TOML has no null: ``inf`` means "no limit", as elsewhere in our configs.
        if isinstance(value, float) and math.isinf(value) and value > 0:
            return None
        return value

    @field_validator("lr_scheduler", mode="before")
    @classmethod
    def _schedule_by_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _optimizer_kwargs_exist(self) -> TrainingConfiguration:
        if not self.optimizer_kwargs:
            return self
        accepted = _optimizer_parameters(self.optimizer)
        if accepted is None:
            return self
        unknown = sorted(set(self.optimizer_kwargs) - accepted)
        if unknown:
            raise ValueError(
                f"optimizer_kwargs: {self.optimizer} does not accept "
                f"{', '.join(unknown)} (accepted: {', '.join(sorted(accepted))})"
            )
        return self

    @model_validator(mode="after")
    def _exact_rounds_take_episodes(self) -> TrainingConfiguration:
        if self.episodes_per_round == "exact" and self.num_episodes_per_experience < 1:
            raise ValueError(
                "episodes_per_round: 'exact' takes num_episodes_per_experience "
                "episodes a round, which is 0; set it >= 1 or use 'all_new'"
            )
        return self

    def create_optimizer(self, params: Iterable[torch.Tensor]) -> Optimizer:
        """Build the configured torch optimizer over ``params``."""
        import torch.optim

        cls = getattr(torch.optim, _OPTIMIZER_CLASSES[self.optimizer])
        optimizer: Optimizer = cls(list(params), lr=self.lr, **self.optimizer_kwargs)
        return optimizer

    def create_lr_scheduler(self, optimizer: Optimizer) -> LRScheduler | None:
        """Build the configured scheduler for ``optimizer`` (None for "none")."""
        from torch.optim.lr_scheduler import LambdaLR

        schedule = self.lr_scheduler
        if isinstance(schedule, NoSchedule):
            return None
        factor: Callable[[int], float]
        if isinstance(schedule, CosineSchedule):
            lr = self.lr
            factor = lambda step: schedule.factor(step, lr)  # noqa: E731
        else:
            factor = schedule.factor
        return LambdaLR(optimizer, factor)


def _optimizer_parameters(name: str) -> set[str] | None:
    try:
        import torch.optim
    except ImportError:
        return None
    cls = getattr(torch.optim, _OPTIMIZER_CLASSES[name])
    params = inspect.signature(cls.__init__).parameters
    return {p for p in params if p not in ("self", "params", "lr")}
