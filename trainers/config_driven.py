"""The config-driven ("pushbutton") trainer: subclasses supply batches and a loss.

Everything else comes from a :class:`~trainers.config.TrainingConfiguration`:
the optimizer and LR scheduler, micro-batches of ``batch_size``, gradient
accumulation (a remainder of micro-batches is flushed, never dropped),
gradient clipping, a pause point after every optimizer step, and metrics
(loss, learning rate, gradient norm, steps/s) through ``report_metrics``.
"""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import torch
from safetensors.torch import load_file, save_file
from typing_extensions import override

from engine.torch import TorchTrainingModel

from .config import TrainingConfiguration
from .torch import OptimizersSetup, TorchTrainer

B = TypeVar("B")

OPTIMIZER = "optimizer"
LR_SCHEDULER = "lr_scheduler"


class ConfigDrivenTrainer(TorchTrainer, Generic[B]):
    """Trains the named models with the optimizer and schedule the configuration describes.

    Implement :meth:`batches` (micro-batches of the size asked for; an infinite
    iterator is fine, a finite one ends the run early) and :meth:`step` (the loss
    of one micro-batch and extra scalars to log). Override
    :meth:`after_optimizer_step` for per-step work such as target-network updates.

    Accumulation divides each micro-batch loss by ``gradient_accumulation_steps``,
    so an optimizer step sees the mean gradient of its micro-batches; when the
    batches run out part-way, the remaining gradients are rescaled to their own
    mean and stepped too.

    Args:
        config: The configuration, or a mapping validated into one.
        models: Name(s) of the training models whose parameters are optimized.
        training_condition_data_user: Name of the data user whose size and new
            data decide trainability (None: always trainable).
        min_buffer_size: Items the buffer must hold.
        min_new_data_count: Items that must have arrived since the last training.
    """

    # It pauses right after each optimizer step (scheduler stepped too) instead.
    pause_before_optimizer_step = False

    def __init__(
        self,
        config: TrainingConfiguration | Mapping[str, Any],
        models: str | Sequence[str],
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
        self.model_names = [models] if isinstance(models, str) else list(models)
        if not self.model_names:
            raise ValueError("models: name at least one training model")
        self.models: dict[str, TorchTrainingModel[Any]] = {}
        self.generator = torch.Generator()
        if self.config.seed is not None:
            self.generator.manual_seed(self.config.seed)
        else:
            self.generator.seed()
        self.global_step = 0
        self._window = _MetricWindow()

    @override
    def on_training_models_attached(self) -> None:
        """Fetch the configured models into :attr:`models`."""
        super().on_training_models_attached()
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
        """Run up to ``training_steps`` optimizer steps over :meth:`batches`."""
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
        micro = 0
        steps = 0
        for batch in self.batches(self.config.batch_size):
            loss, logs = self.step(batch)
            (loss / accumulation).backward()
            window.add_micro(loss, logs)
            micro += 1
            if micro == accumulation:
                self._optimizer_step(params)
                micro = 0
                steps += 1
                if steps >= self.config.training_steps:
                    break
        if micro:
            # The batches ran out mid-accumulation: the gradients hold
            # sum(loss_i) / accumulation; make them the mean over the `micro`
            # micro-batches seen so they count like any other step.
            scale = accumulation / micro
            for p in params:
                if p.grad is not None:
                    p.grad.mul_(scale)
            self._optimizer_step(params)

    def _optimizer_step(self, params: list[torch.Tensor]) -> None:
        optimizer = self.optimizers[OPTIMIZER]
        scheduler = self.lr_schedulers.get(LR_SCHEDULER)
        grads = [p.grad for p in params if p.grad is not None]
        if self.config.max_grad_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        else:
            norm = torch.nn.utils.get_total_norm(grads)
        lr = float(optimizer.param_groups[0]["lr"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if scheduler is not None:
            scheduler.step()
        self.global_step += 1
        self.after_optimizer_step(self.global_step)
        self._window.add_step(float(norm), lr)
        if self.global_step % self.config.log_every == 0:
            self.report_metrics(self._window.flush(), self.global_step)
        self._window.suspend()
        self.pause_point()
        self._window.resume()

    @override
    def save_state(self, path: Path) -> None:
        """Also save the global step and the random generator's state."""
        super().save_state(path)
        (path / "config_driven.json").write_text(
            json.dumps({"global_step": self.global_step})
        )
        save_file(
            {"state": self.generator.get_state()}, str(path / "generator.safetensors")
        )

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote."""
        super().load_state(path)
        meta = json.loads((path / "config_driven.json").read_text())
        self.global_step = int(meta["global_step"])
        self.generator.set_state(
            load_file(str(path / "generator.safetensors"))["state"]
        )


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
