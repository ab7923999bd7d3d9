"""The protocol the engine expects of a trainer, and the ordered trainer container."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from typing_extensions import override

from ..data import DataUsersDict
from ..model import TrainingModelsDict
from ..state.persistence import Persistent, StateGroup
from .thread_events import ThreadEventMixin


@runtime_checkable
class TrainerLike(Protocol):
    """What the training thread calls on a trainer (``trainers.Trainer`` provides it)."""

    def attach_training_models(self, training_models: TrainingModelsDict) -> None: ...
    def attach_data_users(self, data_users: DataUsersDict) -> None: ...
    def run(self) -> bool: ...
    def save_state(self, path: Path) -> None: ...
    def load_state(self, path: Path) -> None: ...
    def on_paused(self) -> None: ...
    def on_resumed(self) -> None: ...


class TrainersDict(OrderedDict[str, TrainerLike], StateGroup, ThreadEventMixin):
    """Trainers by name, run round-robin in insertion order."""

    def attach_training_models(self, training_models: TrainingModelsDict) -> None:
        """Attach the models to every trainer."""
        for trainer in self.values():
            trainer.attach_training_models(training_models)

    def attach_data_users(self, data_users: DataUsersDict) -> None:
        """Attach the data users to every trainer."""
        for trainer in self.values():
            trainer.attach_data_users(data_users)

    @override
    def state_parts(self) -> Iterator[tuple[str, Persistent]]:
        """Each trainer by name: its state is saved under ``path/<name>``."""
        return iter(self.items())

    @override
    def on_paused(self) -> None:
        for trainer in self.values():
            trainer.on_paused()

    @override
    def on_resumed(self) -> None:
        for trainer in self.values():
            trainer.on_resumed()
