"""The algorithm half of ASTRA-RL's composition: how an experience becomes a loss.

A :class:`~trainers.pushbutton.PushbuttonTrainer` is built from a
configuration, a source of experience and an algorithm. The algorithm owns the
learning rule and nothing else: the trainer brings the optimizer, the batching,
accumulation, clipping, pause points, syncing, metrics and state.

Only :meth:`Algorithm.step` is required; any object with a ``step(batch)``
method will do, and the trainer uses the other methods below when the object
defines them (subclassing :class:`Algorithm` gives their defaults).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

import torch
from torch import nn
from torch.utils.data import default_collate

StepT = TypeVar("StepT")
BatchT = TypeVar("BatchT")

#: What ``step`` returns: the loss, or the loss and scalars to log.
StepResult: TypeAlias = torch.Tensor | tuple[torch.Tensor, Mapping[str, Any]]


class Algorithm(ABC, Generic[StepT, BatchT]):
    """Turns batches of steps into a loss (ASTRA-RL's ``Algorithm``).

    Type Parameters:
        StepT: One training step, as :meth:`flatten` makes them.
        BatchT: What :meth:`collate_fn` makes of a list of steps.
    """

    def on_models_attached(self, models: Mapping[str, nn.Module]) -> None:
        """Receive the modules being trained, by model name, before any round.

        They keep their identity for the whole run (syncs copy weights out of
        them), so keeping references here is safe.
        """

    def flatten(self, episode: Sequence[Any]) -> Sequence[StepT]:
        """Make training steps of one complete episode (e.g. attach returns).

        The default uses the collected steps as they are.
        """
        return list(episode)

    def collate_fn(self, steps: Sequence[StepT]) -> BatchT:
        """Make one batch of ``batch_size`` steps.

        The default is torch's ``default_collate``: dicts of numbers and arrays
        become dicts of stacked tensors.
        """
        batch: BatchT = default_collate(list(steps))
        return batch

    @abstractmethod
    def step(self, batch: BatchT) -> StepResult:
        """Return the mean loss of ``batch`` (with gradients), or ``(loss, logs)``.

        ``logs`` maps names to numbers (or one-element tensors); they are
        averaged between reports and logged with the loss.
        """
