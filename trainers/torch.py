"""A trainer for torch models (PAMIQ-Core's ``TorchTrainer``).

Optimizers are created once, on the first :meth:`~TorchTrainer.setup`, and kept:
the training modules keep their identity across syncs (see
:class:`engine.torch.TorchTrainingModel`), so there is no need to rebuild them
each run. Their states (and the LR schedulers') are saved with ``torch.save``
and read back with ``weights_only=True``; a resumed run takes the very same
next step as one that never stopped.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, TypeAlias, TypeVar, cast

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from typing_extensions import override

from engine.torch import TorchTrainingModel

from .base import Trainer

StateDict: TypeAlias = dict[str, Any]
OptimizersDict: TypeAlias = dict[str, Optimizer]
LRSchedulersDict: TypeAlias = dict[str, LRScheduler]
OptimizersSetup: TypeAlias = OptimizersDict | tuple[OptimizersDict, LRSchedulersDict]

M = TypeVar("M", bound=nn.Module)

_OPTIMIZER_SUFFIX = ".optim.pt"
_SCHEDULER_SUFFIX = ".lrsch.pt"


class TorchTrainer(Trainer):
    """Base class for trainers of :class:`TorchTrainingModel` s.

    Implement :meth:`create_optimizers` and :meth:`train`. Every optimizer step
    is preceded by a pause point (a hook on each optimizer), so pausing, saving
    and stopping never wait for a whole ``train()``; a state saved there holds
    the optimizers and schedulers exactly as the previous step left them.

    Args:
        training_condition_data_user: Name of the data user whose size and new
            data decide trainability (None: always trainable).
        min_buffer_size: Items the buffer must hold.
        min_new_data_count: Items that must have arrived since the last training.
    """

    #: Pause (and let a save happen) just before every optimizer step. Subclasses
    #: that call ``pause_point()`` after each step themselves can turn it off.
    pause_before_optimizer_step: bool = True

    def __init__(
        self,
        training_condition_data_user: str | None = None,
        min_buffer_size: int = 0,
        min_new_data_count: int = 0,
    ) -> None:
        super().__init__(
            training_condition_data_user, min_buffer_size, min_new_data_count
        )
        self.optimizers: OptimizersDict = {}
        self.lr_schedulers: LRSchedulersDict = {}
        self._created = False
        # States read by load_state before the optimizers exist.
        self._pending_optimizer_states: dict[str, StateDict] = {}
        self._pending_scheduler_states: dict[str, StateDict] = {}

    def get_torch_training_model(
        self,
        name: str,
        module_cls: type[M] = nn.Module,  # type: ignore[assignment]
    ) -> TorchTrainingModel[M]:
        """Return the training model ``name``, checking that it wraps a ``module_cls``.

        Raises:
            KeyError: If there is no such model.
            TypeError: If it is not a :class:`TorchTrainingModel` of ``module_cls``.
        """
        model = self.get_training_model(name)
        if not isinstance(model, TorchTrainingModel):
            raise TypeError(f"model '{name}' is not a TorchTrainingModel")
        if not isinstance(model.model, module_cls):
            raise TypeError(
                f"model '{name}' wraps {type(model.model).__name__}, "
                f"not {module_cls.__name__}"
            )
        return cast(TorchTrainingModel[M], model)

    @abstractmethod
    def create_optimizers(self) -> OptimizersSetup:
        """Create the optimizers (and optionally LR schedulers), by name.

        Returns:
            A dict of optimizers, or a tuple (optimizers, schedulers).
        """

    def _create(self) -> None:
        created = self.create_optimizers()
        optimizers, schedulers = (
            created if isinstance(created, tuple) else (created, {})
        )
        self.optimizers = dict(optimizers)
        self.lr_schedulers = dict(schedulers)
        if self.pause_before_optimizer_step:
            for optimizer in self.optimizers.values():
                optimizer.register_step_pre_hook(self._pause_before_step)
        self._created = True
        self._apply_pending()

    def _apply_pending(self) -> None:
        if not self._pending_optimizer_states and not self._pending_scheduler_states:
            return
        for kind, saved, current in (
            ("optimizers", self._pending_optimizer_states, self.optimizers),
            ("LR schedulers", self._pending_scheduler_states, self.lr_schedulers),
        ):
            if set(saved) != set(current):
                raise ValueError(
                    f"the state has {kind} {sorted(saved)}, this trainer has {sorted(current)}"
                )
        for name, state in self._pending_optimizer_states.items():
            self.optimizers[name].load_state_dict(state)
        for name, state in self._pending_scheduler_states.items():
            self.lr_schedulers[name].load_state_dict(state)
        self._pending_optimizer_states.clear()
        self._pending_scheduler_states.clear()

    def _pause_before_step(
        self, optimizer: Optimizer, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        # Before the step, not after: by then the previous step's scheduler update
        # has happened too, so a state saved here is consistent. A state loaded
        # here ends the run (TrainingInterrupted) before the stale step is applied.
        del optimizer, args, kwargs
        self.pause_point()

    @override
    def on_training_interrupted(self) -> None:
        """Drop gradients computed on the weights the loaded state replaced."""
        super().on_training_interrupted()
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)

    @override
    def setup(self) -> None:
        """Create the optimizers on the first call."""
        super().setup()
        if not self._created:
            self._create()

    @override
    def save_state(self, path: Path) -> None:
        """Save the base state plus ``<name>.optim.pt`` and ``<name>.lrsch.pt`` files."""
        super().save_state(path)
        if self._created:
            optimizer_states = {n: o.state_dict() for n, o in self.optimizers.items()}
            scheduler_states = {
                n: s.state_dict() for n, s in self.lr_schedulers.items()
            }
        else:
            optimizer_states = self._pending_optimizer_states
            scheduler_states = self._pending_scheduler_states
        for name, state in optimizer_states.items():
            torch.save(state, path / f"{name}{_OPTIMIZER_SUFFIX}")
        for name, state in scheduler_states.items():
            torch.save(state, path / f"{name}{_SCHEDULER_SUFFIX}")

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote (files are read with ``weights_only``).

        Raises:
            ValueError: If ``path`` is not a directory.
        """
        if not path.is_dir():
            raise ValueError(f"{path} is not a trainer state directory")
        super().load_state(path)
        optimizers = _read_states(path, _OPTIMIZER_SUFFIX)
        schedulers = _read_states(path, _SCHEDULER_SUFFIX)
        if not optimizers and not schedulers:
            # Saved before the first training run: start the optimizers afresh.
            self._created = False
            self.optimizers, self.lr_schedulers = {}, {}
            self._pending_optimizer_states, self._pending_scheduler_states = {}, {}
            return
        self._pending_optimizer_states = optimizers
        self._pending_scheduler_states = schedulers
        # Apply now when possible, so a mismatch fails the load (which is then
        # rolled back) rather than the next training run.
        if self._created:
            self._apply_pending()
        elif len(self._training_models) > 0:
            self._create()


def _read_states(path: Path, suffix: str) -> dict[str, StateDict]:
    return {
        file.name.removesuffix(suffix): torch.load(file, weights_only=True)
        for file in sorted(path.glob(f"*{suffix}"))
    }
