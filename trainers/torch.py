"""A trainer for torch models (PAMIQ-Core's ``TorchTrainer``).

As in PAMIQ-Core, every :meth:`~TorchTrainer.setup` calls
:meth:`~TorchTrainer.create_optimizers` and restores into the new optimizers
and LR schedulers the states the previous ones had at
:meth:`~TorchTrainer.teardown` (kept in ``optimizer_states`` and
``lr_scheduler_states``). The new objects share the kept state tensors (torch
copies nothing when device and dtype match), so this costs about 0.1-0.2 ms a
run whatever the model size, and training continues exactly as with one
optimizer for the whole run. States are saved with ``torch.save`` and read back
with ``weights_only=True``; a resumed run takes the very same next step as one
that never stopped.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias, TypeVar, cast

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from typing_extensions import override

from engine.torch import TorchTrainingModel
from engine.torch.training import tensors_finite

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
        #: The optimizers and schedulers of the current run, by name.
        self.optimizers: OptimizersDict = {}
        self.lr_schedulers: LRSchedulersDict = {}
        #: What the next setup() restores: kept at teardown, or read by load_state.
        self.optimizer_states: dict[str, StateDict] = {}
        self.lr_scheduler_states: dict[str, StateDict] = {}
        # Inside run(), between its setup() and teardown(), self.optimizers are
        # the live ones: a save or load at a pause point acts on them. A direct
        # setup() (no run()) leaves it False: save and load then use the kept
        # states, as PAMIQ-Core's always do.
        self._in_run = False
        self._running = False
        # A state without optimizer states was loaded mid-run: this run's
        # teardown must not keep what the abandoned optimizers hold.
        self._live_states_replaced = False
        self._guard: Callable[[], bool] | None = None
        #: The total norm of the gradients of the coming optimizer step, where
        #: the trainer computed it anyway (to clip them): the guard then checks
        #: this one number instead of every gradient.
        self.gradient_norm_hint: torch.Tensor | None = None

    def bind_guard(self, guard: Callable[[], bool] | None) -> None:
        """Check the gradients before every optimizer step (the system's non-finite guard;
        None: no check from the next run on).

        Where they are not finite, ``guard()`` is told and says whether to skip
        the step; a skipped step's gradients are cleared, so the optimizer
        leaves the weights as they were (see :mod:`engine.runtime.guards`).
        """
        self._guard = guard

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

        Called by every :meth:`setup` (and once by :meth:`load_state` to check
        a state fits); the states of the previous ones are then restored into
        what it returns, so build them afresh each time.

        Returns:
            A dict of optimizers, or a tuple (optimizers, schedulers).
        """

    def _build(self) -> tuple[OptimizersDict, LRSchedulersDict]:
        created = self.create_optimizers()
        optimizers, schedulers = (
            created if isinstance(created, tuple) else (created, {})
        )
        return dict(optimizers), dict(schedulers)

    @staticmethod
    def _restore(
        optimizers: OptimizersDict,
        schedulers: LRSchedulersDict,
        optimizer_states: dict[str, StateDict],
        scheduler_states: dict[str, StateDict],
    ) -> None:
        """Load states into optimizers and schedulers with exactly those names."""
        if not optimizer_states and not scheduler_states:
            return
        for kind, saved, current in (
            ("optimizers", optimizer_states, optimizers),
            ("LR schedulers", scheduler_states, schedulers),
        ):
            if set(saved) != set(current):
                raise ValueError(
                    f"the state has {kind} {sorted(saved)}, this trainer has {sorted(current)}"
                )
        # Optimizers first: a scheduler's state refers to its optimizer's groups.
        for name, state in optimizer_states.items():
            optimizers[name].load_state_dict(state)
        for name, state in scheduler_states.items():
            schedulers[name].load_state_dict(state)

    def _guard_before_step(
        self, optimizer: Optimizer, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        del args, kwargs
        hint, self.gradient_norm_hint = self.gradient_norm_hint, None
        if self._guard is None:
            return
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if hint is not None:
            finite = bool(torch.isfinite(hint))
        else:
            finite = tensors_finite(p.grad for p in params if p.grad is not None)
        if finite:
            return
        if self._guard():
            for p in params:
                p.grad = None

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
        """Create the optimizers and schedulers, restoring the kept or loaded states.

        Raises:
            ValueError: If the kept states name other optimizers or schedulers
                than :meth:`create_optimizers` returned.
        """
        super().setup()
        optimizers, schedulers = self._build()
        self._restore(
            optimizers, schedulers, self.optimizer_states, self.lr_scheduler_states
        )
        if self._guard is not None:
            for optimizer in optimizers.values():
                optimizer.register_step_pre_hook(self._guard_before_step)
        if self.pause_before_optimizer_step:
            for optimizer in optimizers.values():
                optimizer.register_step_pre_hook(self._pause_before_step)
        # The same dicts, refilled, as in PAMIQ-Core: references to them stay valid.
        self.optimizers.clear()
        self.optimizers.update(optimizers)
        self.lr_schedulers.clear()
        self.lr_schedulers.update(schedulers)
        self._in_run = self._running
        self._live_states_replaced = False

    @override
    def teardown(self) -> None:
        """Keep the optimizers' and schedulers' states for the next setup() and save.

        As in PAMIQ-Core, every call keeps what ``self.optimizers`` and
        ``self.lr_schedulers`` hold now, inside a run or not: a direct call
        after stepping the optimizers by hand refreshes what the next
        :meth:`save_state` writes (and, with no setup() ever, keeps nothing).
        """
        super().teardown()
        if not self._live_states_replaced:
            self._keep_states()
        self._in_run = False
        self._live_states_replaced = False

    @override
    def run(self) -> bool:
        """Train once if trainable (see :meth:`Trainer.run`), marking the run as live.

        Returns:
            True if training ran, False if it did not (or was abandoned).
        """
        self._running = True
        try:
            return super().run()
        finally:
            self._running = False
            self._in_run = False

    def _keep_states(self) -> None:
        self.optimizer_states.clear()
        self.optimizer_states.update(
            {n: o.state_dict() for n, o in self.optimizers.items()}
        )
        self.lr_scheduler_states.clear()
        self.lr_scheduler_states.update(
            {n: s.state_dict() for n, s in self.lr_schedulers.items()}
        )

    @override
    def save_state(self, path: Path) -> None:
        """Save the base state plus ``<name>.optim.pt`` and ``<name>.lrsch.pt`` files.

        Inside :meth:`run` (a save at a pause point) the live optimizers are
        saved as the previous step left them. Anywhere else, a direct
        :meth:`setup` without :meth:`teardown` included, the states kept at the
        last teardown (or read by the last load) are saved, as in PAMIQ-Core.
        """
        super().save_state(path)
        if self._in_run:
            optimizer_states = {n: o.state_dict() for n, o in self.optimizers.items()}
            scheduler_states = {
                n: s.state_dict() for n, s in self.lr_schedulers.items()
            }
        else:
            optimizer_states = self.optimizer_states
            scheduler_states = self.lr_scheduler_states
        for name, state in optimizer_states.items():
            torch.save(state, path / f"{name}{_OPTIMIZER_SUFFIX}")
        for name, state in scheduler_states.items():
            torch.save(state, path / f"{name}{_SCHEDULER_SUFFIX}")

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote (files are read with ``weights_only``).

        The states are checked against the optimizers :meth:`create_optimizers`
        makes, so a state that does not fit fails the load (and the engine
        rolls it back) rather than the next training run. Inside :meth:`run`
        the live optimizers take them at once; elsewhere they wait in
        ``optimizer_states`` for the next :meth:`setup`, so (as in PAMIQ-Core)
        a :meth:`teardown` called before that setup replaces them with what
        ``self.optimizers`` hold.

        Raises:
            ValueError: If ``path`` is not a directory, or the states do not fit.
        """
        if not path.is_dir():
            raise ValueError(f"Path {path} is not a directory or does not exist")
        optimizer_states = _read_states(path, _OPTIMIZER_SUFFIX)
        scheduler_states = _read_states(path, _SCHEDULER_SUFFIX)
        if self._in_run and (optimizer_states or scheduler_states):
            # Loaded at a pause point mid-run: teardown keeps what the live
            # optimizers hold, so they must hold the loaded states.
            self._restore(
                self.optimizers, self.lr_schedulers, optimizer_states, scheduler_states
            )
        elif self._in_run:
            # A state saved before any training: the next run starts afresh,
            # so this run's teardown must not keep the live optimizers' states.
            self._in_run = False
            self._live_states_replaced = True
        elif len(self._training_models) > 0 and (optimizer_states or scheduler_states):
            self._restore(*self._build(), optimizer_states, scheduler_states)
        super().load_state(path)
        self.optimizer_states.clear()
        self.optimizer_states.update(optimizer_states)
        self.lr_scheduler_states.clear()
        self.lr_scheduler_states.update(scheduler_states)


def _read_states(path: Path, suffix: str) -> dict[str, StateDict]:
    return {
        file.name.removesuffix(suffix): torch.load(file, weights_only=True)
        for file in sorted(path.glob(f"*{suffix}"))
    }
