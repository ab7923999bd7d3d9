"""The config-driven trainer: a subclass supplies batches and a loss, a configuration the rest.

Config-driven training comes two ways (see :mod:`trainers`): subclass
:class:`ConfigDrivenTrainer` (this module), or compose the pushbutton trainer,
:class:`~trainers.pushbutton.PushbuttonTrainer`, which is such a subclass whose
batches and loss come from a source of experience and an algorithm object.

A subclass writes :meth:`~ConfigDrivenTrainer.batches` and
:meth:`~ConfigDrivenTrainer.step`; everything else comes from a
:class:`~trainers.config.TrainingConfiguration`:
the optimizer and LR scheduler, micro-batches of ``batch_size``, gradient
accumulation (a remainder of micro-batches is stepped on, or carried into the
next round: ``gradient_accumulation_remainder``),
gradient clipping, a pause point after every optimizer step, metrics (loss,
learning rate, gradient norm, steps/s) through ``report_metrics``, and when to
train: ``training_steps`` rounds in all, each waiting for
``num_episodes_per_experience`` new complete episodes when the data user holds
an :class:`~engine.data.EpisodeBuffer`.
"""

from __future__ import annotations

import json
import math
import time
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import torch
from safetensors.torch import load_file, save_file
from typing_extensions import override

from engine.data import DataUsersDict, Episode, EpisodeBuffer
from engine.telemetry.trainability import TrainabilityReport, predictable_condition
from engine.torch import TorchTrainingModel
from engine.tunables import Tunable

from .config import TrainingConfiguration
from .torch import OptimizersSetup, TorchTrainer

B = TypeVar("B")

OPTIMIZER = "optimizer"
LR_SCHEDULER = "lr_scheduler"

_SETTINGS: dict[str, tuple[type, float | None, float | None, bool, str]] = {
    # field: (type, minimum, maximum, exclusive minimum, what it changes)
    "lr": (float, 0.0, 10.0, True, "learning rate (the schedule scales it)"),
    "batch_size": (int, 1, 1_000_000, False, "items per micro-batch"),
    "gradient_accumulation_steps": (
        int,
        1,
        10_000,
        False,
        "micro-batches per optimizer step",
    ),
    "max_steps_per_run": (int, 1, 1e9, False, "optimizer steps per run at most"),
    "training_steps": (int, 1, 1e12, False, "training runs in all"),
    "max_grad_norm": (float, 0.0, 1e9, True, "gradient norm clipped to"),
    "log_every": (int, 1, 1e9, False, "optimizer steps between metric reports"),
    "replay_ratio": (float, 0.0, 1e6, True, "optimizer steps per collected item"),
    "shuffle": (bool, None, None, False, "shuffle an experience's steps"),
}
"""The configuration's fields an operator may change while the trainer runs
(those set to a number; ``None`` ones stay off)."""


class ConfigDrivenTrainer(TorchTrainer, Generic[B]):
    """Trains the named models with the optimizer and schedule the configuration describes.

    Implement :meth:`batches` (micro-batches of the size asked for; an infinite
    iterator is fine if ``max_steps_per_run`` is set, a finite one ends the
    round when it runs out) and :meth:`step` (the loss of one micro-batch and
    extra scalars to log). Override :meth:`after_optimizer_step` for per-step
    work such as target-network updates.

    Each run is one training *round* (ASTRA-RL's unit of ``training_steps``):
    after ``config.training_steps`` rounds the trainer is finished and stays
    untrainable (its report says so). When the condition data user holds an
    :class:`~engine.data.EpisodeBuffer`, a round also waits until
    ``config.num_episodes_per_experience`` complete episodes have been collected
    since the previous round; :meth:`experience_episodes` returns them (all of
    them, or exactly that many: ``config.episodes_per_round``) during the round. Like the base conditions, the episode count is taken at
    collection time and the training thread is woken by the step that ends the
    last episode needed, not by polling.

    Asking whether it may train (:meth:`is_trainable`,
    :meth:`trainability_report`, the wake targets) changes nothing; a round
    takes what it uses up (the new items and episodes) in one step,
    :meth:`take_experience`, as :meth:`train` begins.

    Accumulation divides each micro-batch loss by ``gradient_accumulation_steps``,
    so an optimizer step sees the mean gradient of its micro-batches; when the
    batches run out part-way, the remaining gradients are rescaled to their own
    mean and stepped too, or with ``gradient_accumulation_remainder = "carry"``
    kept for the next round, whose first micro-batches add to them (a state
    saved between rounds holds them).

    The configuration's numeric fields (``lr``, ``batch_size``,
    ``max_steps_per_run``, ``replay_ratio``...; see :meth:`tunables`) may be
    changed while it runs, from its next round. The optimizer always uses
    ``config.lr`` (scaled by the schedule), also over the learning rate an
    optimizer state was saved with: a resume with an edited ``lr`` uses it.

    Args:
        config: The configuration, or a mapping validated into one.
        models: Name(s) of the training models whose parameters are optimized
            (and synced after each round); None: every torch training model.
        training_condition_data_user: Name of the data user whose size, new
            data (and episodes) decide trainability (None: always trainable,
            up to ``training_steps`` rounds).
        min_buffer_size: Items the buffer must hold.
        min_new_data_count: Items that must have arrived since the last training.

    Raises:
        ValueError: If ``models`` is empty, or the class samples without end
            (:attr:`endless_batches`) and ``max_steps_per_run`` is not set.
    """

    # It pauses right after each optimizer step (scheduler stepped too) instead.
    pause_before_optimizer_step = False

    #: Whether :meth:`batches` never runs out (replay sampling), so that a round
    #: needs ``max_steps_per_run`` to end.
    endless_batches: ClassVar[bool] = False

    def __init__(
        self,
        config: TrainingConfiguration | Mapping[str, Any],
        models: str | Sequence[str] | None,
        training_condition_data_user: str | None = None,
        min_buffer_size: int = 0,
        min_new_data_count: int = 0,
    ) -> None:
        super().__init__(
            training_condition_data_user, min_buffer_size, min_new_data_count
        )
        self.config = (
            config
            if isinstance(config, TrainingConfiguration)
            else TrainingConfiguration.model_validate(config)
        )
        if self.endless_batches and self.config.max_steps_per_run is None:
            raise ValueError(
                f"{type(self).__name__} samples batches without end: set "
                "training.max_steps_per_run (optimizer steps per round; "
                "training_steps counts rounds, as in ASTRA-RL)"
            )
        self.model_names: list[str] | None = (
            None
            if models is None
            else [models]
            if isinstance(models, str)
            else list(models)
        )
        if self.model_names is not None and not self.model_names:
            raise ValueError("models: name at least one training model (or None: all)")
        self.models: dict[str, TorchTrainingModel[Any]] = {}
        self.generator = torch.Generator()
        if self.config.seed is not None:
            self.generator.manual_seed(self.config.seed)
        else:
            self.generator.seed()
        self.global_step = 0
        self.rounds = 0
        self._window = _MetricWindow()
        # Gradients a round left part-accumulated, for the next
        # (gradient_accumulation_remainder = "carry").
        self._carried: _CarriedGradients | None = None
        # Episode bookkeeping, in the buffer's episodes_total units.
        self._episodic = False
        self._episodes_needed = 0
        self._episodes_seen = 0
        self._experience_start = 0
        # (items, optimizer steps) when collection limiting began (replay_ratio).
        self._limit_anchor: tuple[int, int] | None = None

    # -- when to train ------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Whether ``training_steps`` rounds are done (the trainer trains no more)."""
        limit = self.config.training_steps
        return limit is not None and self.rounds >= limit

    @property
    def episodes_per_experience(self) -> int:
        """New complete episodes each round waits for (0: none)."""
        return self._episodes_needed

    @override
    def attach_data_users(self, data_users: DataUsersDict) -> None:
        """Attach the data users, deciding whether rounds wait for episodes.

        Raises:
            ValueError: If ``num_episodes_per_experience`` was given, or
                ``episodes_per_round`` is ``"exact"``, but the condition data
                user's buffer does not mark episode ends.
        """
        name = self._training_condition_data_user
        if name is not None and name not in data_users:
            super().attach_data_users(data_users)  # names the unknown buffer
        user = data_users[name] if name is not None else None
        self._episodic = user is not None and isinstance(user.buffer, EpisodeBuffer)
        needed = self.config.num_episodes_per_experience
        explicit = "num_episodes_per_experience" in self.config.model_fields_set
        if not self._episodic:
            where = (
                "the trainer has no training_condition_data_user"
                if user is None
                else f"buffer '{name}' ({type(user.buffer).__name__}) does not "
                "mark episode ends"
            )
            if explicit and needed > 0:
                raise ValueError(
                    f"training.num_episodes_per_experience = {needed} counts "
                    f"complete episodes, but {where}; collect into an "
                    "engine.data:EpisodeBuffer or leave num_episodes_per_experience out"
                )
            if self.config.episodes_per_round == "exact":
                raise ValueError(
                    "training.episodes_per_round = 'exact' takes complete "
                    f"episodes, but {where}; collect into an "
                    "engine.data:EpisodeBuffer or leave episodes_per_round out"
                )
        self._episodes_needed = needed if self._episodic else 0
        super().attach_data_users(data_users)
        # From the first item on: the training thread's first check can come
        # after thousands of steps of a fast agent.
        self._limit_collection()

    def _episode_buffer(self) -> EpisodeBuffer[Any]:
        name = self._training_condition_data_user
        assert name is not None and self._episodic
        buffer = self.get_data_user(name).buffer
        assert isinstance(buffer, EpisodeBuffer)
        return buffer

    def _new_episodes(self) -> int:
        """Complete episodes collected since the last round (pending ones included)."""
        name = self._training_condition_data_user
        if not self._episodic or name is None or name not in self._data_users:
            return 0
        return (self._data_users[name].episodes_total or 0) - self._episodes_seen

    @override
    @predictable_condition
    def is_trainable(self) -> bool:
        """Whether a round can start now (:meth:`trainability_report`'s answer).

        Asking changes nothing: the round takes what it uses up when it starts
        (:meth:`take_experience`).
        """
        return self.trainability_report().trainable

    @override
    def trainability_report(self) -> TrainabilityReport:
        """The item conditions, the episode condition and the ``training_steps`` limit."""
        report = self._item_condition()
        if self.finished:
            return replace(
                report,
                trainable=False,
                reason=f"finished: {self.rounds}/{self.config.training_steps} "
                "training rounds done (training_steps)",
            )
        if not self._episodic:
            return report
        new, needed = self._new_episodes(), self._episodes_needed
        reasons = [report.reason] if report.reason else []
        if new < needed:
            reasons.append(f"{new}/{needed} new episodes")
        return replace(
            report,
            new_episodes=new,
            min_new_episodes=needed,
            trainable=report.trainable and new >= needed,
            reason="; ".join(reasons),
        )

    @override
    def wake_target(self) -> tuple[str, int] | None:
        """The item count that can make it trainable (None when only episodes are missing)."""
        if self.finished:
            return None
        if self._episodes_needed and self._item_condition().trainable:
            # Only episodes are missing: waking on items would spin.
            return None
        return self._item_wake_target()

    @override
    def episode_wake_target(self) -> tuple[str, int] | None:
        """The episode count at which this trainer may become trainable (for the engine)."""
        name = self._training_condition_data_user
        if self.finished or not self._episodes_needed or name is None:
            return None
        if (
            self._new_episodes() >= self._episodes_needed
            and not self._item_condition().trainable
        ):
            return None  # only items are missing: wake_target waits for those
        return name, self._episodes_seen + self._episodes_needed

    def take_experience(self) -> None:
        """Take what a round uses up; :meth:`train` calls it first, and nothing else changes these counts.

        The collected items move into the buffer and count as used (the next
        round waits for new ones, ``min_new_data_count``); the complete
        episodes new since the previous round become this round's
        (:meth:`experience_episodes`): all of them, or with
        ``episodes_per_round = "exact"`` the oldest
        ``num_episodes_per_experience``, the rest waiting for the next rounds;
        and the agent may collect the round's worth ahead (``replay_ratio``).
        """
        name = self._training_condition_data_user
        if name is not None:
            user = self.get_data_user(name)
            user.update()
            self._use_new_data(user)
        if self._episodic:
            # Counted from the buffer, i.e. exactly the episodes this round can see.
            complete = self._episode_buffer().episodes_total
            if self.config.episodes_per_round == "exact":
                # The oldest ones; the rest wait for the next rounds.
                complete = min(complete, self._episodes_seen + self._episodes_needed)
            self._experience_start = self._episodes_seen
            self._episodes_seen = complete
        self._limit_collection()

    @override
    def run(self) -> bool:
        """Train one round if trainable (see :meth:`Trainer.run`); either way, then
        set how far the agent may collect ahead (``config.replay_ratio``).

        Returns:
            True if a round ran.
        """
        ran = super().run()
        # What the trainer waits for may have changed without a round: episodes
        # completed, a state loaded (which lifts the limit), training finished.
        self._limit_collection()
        return ran

    def _limit_collection(self, ahead: int = 0) -> None:
        """Keep the agent within one round of the replay ratio (see ``config.replay_ratio``).

        The allowance is ``min_buffer_size`` items (or the items already
        collected when limiting began, e.g. in a resumed run), plus
        ``1 / replay_ratio`` items per optimizer step taken since (and
        ``ahead`` steps about to be taken), plus one round's worth. It never
        holds back an item this trainer still needs before it can train again
        (its data conditions; while it waits for episodes the limit is
        lifted), and it is lifted once the trainer is finished.
        """
        ratio = self.config.replay_ratio
        name = self._training_condition_data_user
        if ratio is None or name is None or name not in self._data_users:
            return
        user = self._data_users[name]
        if self.finished or (
            self._episodes_needed and self._new_episodes() < self._episodes_needed
        ):
            # Items that complete the awaited episodes cannot be counted ahead.
            user.limit_collection(None)
            return
        if self._limit_anchor is None:
            self._limit_anchor = (
                max(self._min_buffer_size, user.collected_total),
                self.global_step,
            )
        items, steps = self._limit_anchor
        per_round = self.config.max_steps_per_run or 1
        done = self.global_step + ahead - steps
        allowed = items + math.ceil((done + per_round) / ratio)
        needed = self._item_wake_target()
        if needed is not None:
            allowed = max(allowed, needed[1])
        user.limit_collection(allowed)

    def experience_episodes(self) -> list[Episode[Any]]:
        """This round's experience: the complete episodes new since the previous round.

        Only meaningful during a round (from :meth:`train`), and only when the
        condition data user holds an :class:`~engine.data.EpisodeBuffer`;
        episodes the buffer already dropped for room are missing.

        Raises:
            TypeError: If the condition data user does not hold episodes.
        """
        if not self._episodic:
            raise TypeError(
                f"{type(self).__name__}: experience_episodes() needs a "
                "training_condition_data_user holding an engine.data:EpisodeBuffer"
            )
        return self._episode_buffer().episodes_since(
            self._experience_start, until=self._episodes_seen
        )

    # -- settings -----------------------------------------------------------------

    @override
    def tunables(self) -> dict[str, Tunable]:
        """The configuration's fields that hold a number or a bool, by field
        name (``trainers.<name>.lr``...), each from the next round."""
        settings = super().tunables()
        for field, (kind, low, high, open_low, what) in _SETTINGS.items():
            if getattr(self.config, field) is None:
                continue
            settings[field] = Tunable(
                kind,
                partial(self._get_config, field),
                partial(self._set_config, field),
                low,
                high,
                open_low,
                what,
            )
        return settings

    def _get_config(self, field: str) -> Any:
        """The configuration's ``field`` now (``_set_config`` replaces the config)."""
        return getattr(self.config, field)

    def _set_config(self, field: str, value: Any) -> None:
        self.config = self.config.model_copy(update={field: value})
        if field == "replay_ratio":
            # The new ratio counts from now, not from when limiting began.
            self._limit_anchor = None
            self._limit_collection()

    def _use_configured_lr(self) -> None:
        """Make the optimizer use ``config.lr`` (times the schedule's factor),
        whatever rate the optimizer and scheduler states restored hold."""
        optimizer = self.optimizers.get(OPTIMIZER)
        if optimizer is None:
            return
        lr = self.config.lr
        groups = optimizer.param_groups
        scheduler = self.lr_schedulers.get(LR_SCHEDULER)
        if scheduler is None:
            for group in groups:
                group["lr"] = lr
            return
        lambdas = getattr(scheduler, "lr_lambdas", None)
        if lambdas is None:
            return  # not the configuration's LambdaLR: leave it to its owner
        # LambdaLR's rate after last_epoch steps, as its own step computes it.
        scheduler.base_lrs = [lr] * len(groups)
        rates = [lr * factor(scheduler.last_epoch) for factor in lambdas]
        for group, rate in zip(groups, rates, strict=True):
            group["initial_lr"] = lr
            group["lr"] = rate
        scheduler._last_lr = rates  # type: ignore[attr-defined]

    @override
    def setup(self) -> None:
        """Create the optimizer and scheduler (see :class:`TorchTrainer`), at
        ``config.lr``."""
        super().setup()
        if type(self).create_optimizers is ConfigDrivenTrainer.create_optimizers:
            self._use_configured_lr()

    # -- training ----------------------------------------------------------------

    @override
    def on_training_models_attached(self) -> None:
        """Fetch the configured models into :attr:`models`.

        Raises:
            ValueError: If ``models`` is None and there is no torch training model.
        """
        super().on_training_models_attached()
        if self.model_names is None:
            # Inference-thread-only models are stored but are not for training.
            self.model_names = [
                name
                for name, model in self._training_models.data.items()
                if isinstance(model, TorchTrainingModel)
                and not model.inference_thread_only
            ]
            if not self.model_names:
                raise ValueError(
                    f"{type(self).__name__}: models = None trains every torch "
                    "training model, but there is none"
                )
        self.models = {n: self.get_torch_training_model(n) for n in self.model_names}

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """The parameters to optimize: those of :attr:`models` that require grad."""
        seen: set[int] = set()
        for model in self.models.values():
            for param in model.model.parameters():
                if param.requires_grad and id(param) not in seen:
                    seen.add(id(param))
                    yield param

    @override
    def create_optimizers(self) -> OptimizersSetup:
        """Build the optimizer (and scheduler) from the configuration."""
        optimizer = self.config.create_optimizer(self.parameters())
        scheduler = self.config.create_lr_scheduler(optimizer)
        if scheduler is None:
            return {OPTIMIZER: optimizer}
        return {OPTIMIZER: optimizer}, {LR_SCHEDULER: scheduler}

    @abstractmethod
    def batches(self, batch_size: int) -> Iterable[B]:
        """Yield micro-batches of ``batch_size`` items for one run.

        Use :attr:`generator` for sampling so that a seeded run is reproducible.
        """

    @abstractmethod
    def step(self, batch: B) -> tuple[torch.Tensor, Mapping[str, float]]:
        """Return the (mean) loss of one micro-batch and extra scalars to log."""

    def after_optimizer_step(self, step: int) -> None:
        """Called after optimizer step number ``step`` (counted over all runs)."""

    @override
    def train(self) -> None:
        """One round: :meth:`take_experience`, then optimizer steps over
        :meth:`batches` (up to ``max_steps_per_run``)."""
        self.take_experience()
        self.rounds += 1
        config = self.config
        optimizer = self.optimizers[OPTIMIZER]
        params = [p for group in optimizer.param_groups for p in group["params"]]
        accumulation = config.gradient_accumulation_steps
        optimizer.zero_grad(set_to_none=True)
        for model in self.models.values():
            model.model.train()
        window = self._window
        window.resume()
        try:
            self._train_steps(params, accumulation)
        finally:
            window.suspend()

    def _train_steps(self, params: list[torch.Tensor], accumulation: int) -> None:
        window = self._window
        max_steps = self.config.max_steps_per_run
        micro = self._restore_carried(params, accumulation)
        steps = 0
        if micro >= accumulation:
            # gradient_accumulation_steps was lowered to at most the carried
            # micro-batches: they make a step of their own.
            self._step_partial(params, micro, accumulation)
            micro, steps = 0, 1
        done = max_steps is not None and steps >= max_steps
        for batch in () if done else self.batches(self.config.batch_size):
            loss, logs = self.step(batch)
            scaled = loss if accumulation == 1 else loss / accumulation
            if micro + 1 == accumulation:
                # The agent's allowance for this step, given now: its steps (all
                # Python, holding the GIL) run while the backward, which needs
                # no GIL, does, instead of after it, when they held up the trainer.
                self._limit_collection(ahead=1)
            scaled.backward()
            window.add_micro(loss, logs)
            micro += 1
            if micro == accumulation:
                self._optimizer_step(params)
                micro = 0
                steps += 1
                if max_steps is not None and steps >= max_steps:
                    break
        if not micro:
            return
        # The batches ran out mid-accumulation.
        if self.config.gradient_accumulation_remainder == "carry":
            self._carried = _CarriedGradients(
                [p.grad for p in params], micro, accumulation
            )
            for p in params:
                p.grad = None
        else:
            self._step_partial(params, micro, accumulation)

    def _step_partial(
        self, params: list[torch.Tensor], micro: int, accumulation: int
    ) -> None:
        """Step on ``micro`` (not ``accumulation``) micro-batches' gradients.

        They hold sum(loss_i) / accumulation; made the mean over the ``micro``
        micro-batches, the step counts like any other.
        """
        scale = accumulation / micro
        for p in params:
            if p.grad is not None:
                p.grad.mul_(scale)
        self._optimizer_step(params)

    def _restore_carried(self, params: list[torch.Tensor], accumulation: int) -> int:
        """Put the gradients a previous round carried back on ``params``.

        Returns:
            How many micro-batches they sum (0: none were carried).

        Raises:
            ValueError: If they were carried for another number of parameters
                (a state of another model).
        """
        carried, self._carried = self._carried, None
        if carried is None:
            return 0
        if len(carried.grads) != len(params):
            raise ValueError(
                f"{type(self).__name__}: the carried gradients are of "
                f"{len(carried.grads)} parameters, the optimizer has {len(params)}"
            )
        # Divided by another gradient_accumulation_steps (changed since): rescale
        # so that every micro-batch counts alike.
        scale = carried.divisor / accumulation
        for p, grad in zip(params, carried.grads, strict=True):
            if grad is not None:
                grad = grad.to(p.device, p.dtype)
                if scale != 1:
                    grad.mul_(scale)
            p.grad = grad
        return carried.micro_batches

    def _optimizer_step(self, params: list[torch.Tensor]) -> None:
        optimizer = self.optimizers[OPTIMIZER]
        scheduler = self.lr_schedulers.get(LR_SCHEDULER)
        norm = clip_gradients(params, self.config.max_grad_norm)
        self.gradient_norm_hint = norm  # the guard's check, computed already
        lr = float(optimizer.param_groups[0]["lr"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if scheduler is not None:
            scheduler.step()
        self.global_step += 1
        self._limit_collection()
        self.after_optimizer_step(self.global_step)
        self._window.add_step(float(norm), lr)
        if self.global_step % self.config.log_every == 0:
            self.report_metrics(self._window.flush(), self.global_step)
        self._window.suspend()
        self.pause_point()
        self._window.resume()

    @override
    def save_state(self, path: Path) -> None:
        """Also save the step and round counters, episodes seen, the generator and
        any gradients carried into the next round."""
        super().save_state(path)
        carried = self._carried
        (path / "config_driven.json").write_text(
            json.dumps(
                {
                    "global_step": self.global_step,
                    "rounds": self.rounds,
                    "episodes_seen": self._episodes_seen,
                    "carried": None
                    if carried is None
                    else {
                        "micro_batches": carried.micro_batches,
                        "divisor": carried.divisor,
                        "parameters": len(carried.grads),
                    },
                }
            )
        )
        save_file(
            {"state": self.generator.get_state()}, str(path / "generator.safetensors")
        )
        if carried is not None:
            save_file(
                {
                    str(i): grad.contiguous()
                    for i, grad in enumerate(carried.grads)
                    if grad is not None
                },
                str(path / _CARRIED_FILE),
            )

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote."""
        super().load_state(path)
        meta = json.loads((path / "config_driven.json").read_text())
        self.global_step = int(meta["global_step"])
        self.rounds = int(meta.get("rounds", 0))
        self._episodes_seen = int(meta.get("episodes_seen", 0))
        self._experience_start = self._episodes_seen
        self._limit_anchor = None  # counted afresh from the loaded counters
        self.generator.set_state(
            load_file(str(path / "generator.safetensors"))["state"]
        )
        carried = meta.get("carried")
        if carried is None:
            self._carried = None
        else:
            grads = load_file(str(path / _CARRIED_FILE))
            self._carried = _CarriedGradients(
                [grads.get(str(i)) for i in range(int(carried["parameters"]))],
                int(carried["micro_batches"]),
                int(carried["divisor"]),
            )


_CARRIED_FILE = "carried_gradients.safetensors"


@dataclass
class _CarriedGradients:
    """The gradients of micro-batches a round accumulated but did not step on.

    Attributes:
        grads: One per parameter of the optimizer, in its order (None: none).
        micro_batches: How many micro-batches they sum.
        divisor: The ``gradient_accumulation_steps`` each loss was divided by.
    """

    grads: list[torch.Tensor | None]
    micro_batches: int
    divisor: int


def clip_gradients(
    params: Iterable[torch.Tensor], max_norm: float | None
) -> torch.Tensor:
    """The total 2-norm of the parameters' gradients, scaling them down to
    ``max_norm`` when above it (None: the norm only).

    ``torch.nn.utils.clip_grad_norm_``'s arithmetic, with the same result, in
    four calls when every gradient is on one device with one dtype: its
    grouping and checks took half of its time on the DQN sample's six small
    tensors. Other gradients go through torch's own function.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    first = grads[0]
    if any(g.device != first.device or g.dtype != first.dtype for g in grads):
        if max_norm is None:
            return torch.nn.utils.get_total_norm(grads)
        return torch.nn.utils.clip_grad_norm_(params, max_norm)
    with torch.no_grad():
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        if max_norm is not None:
            scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
            torch._foreach_mul_(grads, scale)
    return total


class _MetricWindow:
    """Averages what happened since the last report; times only active training."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._steps = 0
        self._active = 0.0
        self._since: float | None = None
        self._lr = 0.0

    def resume(self) -> None:
        self._since = time.perf_counter()

    def suspend(self) -> None:
        if self._since is not None:
            self._active += time.perf_counter() - self._since
            self._since = None

    def _add(self, key: str, value: float) -> None:
        self._sums[key] = self._sums.get(key, 0.0) + value
        self._counts[key] = self._counts.get(key, 0) + 1

    def add_micro(self, loss: torch.Tensor, logs: Mapping[str, float]) -> None:
        self._add("loss", float(loss.detach()))
        for key, value in logs.items():
            self._add(key, float(value))

    def add_step(self, grad_norm: float, lr: float) -> None:
        self._steps += 1
        self._add("grad_norm", grad_norm)
        self._lr = lr

    def flush(self) -> dict[str, float]:
        now = time.perf_counter()
        if self._since is not None:
            self._active += now - self._since
            self._since = now
        metrics = {k: self._sums[k] / self._counts[k] for k in self._sums}
        metrics["lr"] = self._lr
        if self._active > 0:
            metrics["steps_per_s"] = self._steps / self._active
        self._sums.clear()
        self._counts.clear()
        self._steps = 0
        self._active = 0.0
        return metrics
