"""Inference and training models (PAMIQ-Core's ``InferenceModel`` and ``TrainingModel``)."""

from __future__ import annotations

import time as _time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..state.persistence import PersistentStateMixin


class InferenceModel(ABC):
    """A model the agent calls on the inference thread."""

    @abstractmethod
    def infer(self, *args: Any, **kwds: Any) -> Any:
        """Return the model's prediction for the inputs."""

    def __call__(self, *args: Any, **kwds: Any) -> Any:
        """Call :meth:`infer`."""
        return self.infer(*args, **kwds)


T = TypeVar("T", bound=InferenceModel)

SyncListener = Callable[["TrainingModel[Any]", float], None]


class TrainingModel(ABC, PersistentStateMixin, Generic[T]):
    """A model trained on the training thread that publishes weights to an inference model.

    Args:
        has_inference_model: Whether an inference model is created for the agent.
        inference_thread_only: The model is only used for inference and never
            trained or synced (for example a frozen pretrained encoder).

    Raises:
        ValueError: For ``has_inference_model=False`` with ``inference_thread_only=True``,
            a model neither thread could use.
    """

    # Class-level defaults keep subclasses working even if they skip super().__init__().
    _inference_model: T | None = None
    _sync_version: int = 0
    _last_sync_time: float | None = None
    _last_sync_duration: float | None = None
    _sync_listeners: tuple[SyncListener, ...] = ()

    def __init__(
        self, has_inference_model: bool = True, inference_thread_only: bool = False
    ) -> None:
        if not has_inference_model and inference_thread_only:
            raise ValueError(
                "TrainingModel(has_inference_model=False, inference_thread_only=True) "
                "is a model no thread can use: an inference-thread-only model needs an "
                "inference model"
            )
        self.has_inference_model = has_inference_model
        self.inference_thread_only = inference_thread_only

    @property
    def inference_model(self) -> T:
        """The inference model, created on first access.

        Raises:
            RuntimeError: If the model was built with ``has_inference_model=False``.
        """
        if not self.has_inference_model:
            raise RuntimeError(
                f"{type(self).__name__} was created with has_inference_model=False"
            )
        if self._inference_model is None:
            self._inference_model = self._create_inference_model()
        return self._inference_model

    @abstractmethod
    def _create_inference_model(self) -> T:
        """Create the inference model (called once)."""

    @abstractmethod
    def forward(self, *args: Any, **kwds: Any) -> Any:
        """Forward pass used for training."""

    def __call__(self, *args: Any, **kwds: Any) -> Any:
        """Call :meth:`forward`."""
        return self.forward(*args, **kwds)

    @property
    def _need_sync(self) -> bool:
        return self.has_inference_model and not self.inference_thread_only

    def sync(self) -> None:
        """Publish the training weights to the inference model, if it has one to sync.

        Each sync bumps :attr:`sync_version` and notifies listeners with its duration.
        """
        if not self._need_sync:
            return
        start = _time.perf_counter()
        self.sync_impl(self.inference_model)
        duration = _time.perf_counter() - start
        self._sync_version += 1
        self._last_sync_time = _time.time()
        self._last_sync_duration = duration
        for listener in self._sync_listeners:
            listener(self, duration)

    @abstractmethod
    def sync_impl(self, inference_model: T) -> None:
        """Copy the training parameters into ``inference_model``."""

    @property
    def sync_version(self) -> int:
        """How many times this model has been synced."""
        return self._sync_version

    def restore_sync_version(self, version: int) -> None:
        """Continue counting syncs from ``version``, a saved state's count.

        The engine calls this when it loads a state, so that a resumed run's
        versions go on from where the saved one stopped.

        Raises:
            ValueError: If ``version`` is not a non-negative integer.
        """
        if type(version) is not int or version < 0:
            raise ValueError(f"impossible sync version {version!r}")
        self._sync_version = version

    @property
    def last_sync_time(self) -> float | None:
        """Wall-clock time of the last sync, or None before the first."""
        return self._last_sync_time

    @property
    def last_sync_duration(self) -> float | None:
        """Seconds the last sync took on the training thread, or None."""
        return self._last_sync_duration

    def add_sync_listener(self, listener: SyncListener) -> None:
        """Call ``listener(model, duration)`` after every sync."""
        self._sync_listeners = (*self._sync_listeners, listener)
