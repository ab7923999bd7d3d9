"""Name-to-model mappings wired into agents and trainers."""

from __future__ import annotations

from collections import UserDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from typing_extensions import override

from ..state.persistence import Persistent, StateGroup
from .interface import InferenceModel, TrainingModel


class InferenceModelsDict(UserDict[str, InferenceModel]):
    """The inference models an agent can use, by name."""


class TrainingModelsDict(UserDict[str, TrainingModel[Any]], StateGroup):
    """Training models by name; keeps the matching :class:`InferenceModelsDict`.

    Looking up an ``inference_thread_only`` model raises ``KeyError``: trainers
    must not train it.
    """

    def __init__(self, *args: Any, **kwds: Any) -> None:
        self._inference_models_dict = InferenceModelsDict()
        super().__init__(*args, **kwds)

    @property
    def inference_models_dict(self) -> InferenceModelsDict:
        """The inference models, by the same names."""
        return self._inference_models_dict

    @override
    def __getitem__(self, key: str) -> TrainingModel[Any]:
        model = super().__getitem__(key)
        if model.inference_thread_only:
            raise KeyError(f"model '{key}' is inference thread only")
        return model

    @override
    def __setitem__(self, key: str, model: TrainingModel[Any]) -> None:
        super().__setitem__(key, model)
        if model.has_inference_model:
            self._inference_models_dict[key] = model.inference_model

    @override
    def state_parts(self) -> Iterator[tuple[str, Persistent]]:
        """Each model by name: its state is saved under ``path/<name>``."""
        return iter(self.data.items())

    @override
    def load_state(self, path: Path) -> None:
        """Load each model from ``path/<name>``, then publish it to the agent."""
        super().load_state(path)
        self.sync_all()

    def sync_all(self) -> None:
        """Publish every trained model's weights to its inference model.

        After a state is loaded the agent must act with the loaded weights at
        its very next step, not after the next training run.
        """
        for model in self.data.values():
            model.sync()
