"""What the engine needs of a trainer, checked once when a system is wired.

A trainer must provide :class:`TrainerLike` (``trainers.Trainer`` does). It may
also offer optional capabilities, each used when present:

- ``bind_metrics(source, sink)`` and ``last_metrics``: its metrics reach the
  event stream and the status snapshot (:class:`~engine.telemetry.metric_reporting.MetricReporter`);
- ``trainability_report()``: the console shows why it is waiting;
- ``has_predictable_condition()``, ``wake_target()`` and
  ``episode_wake_target()``: the training thread sleeps until the data that
  can make it trainable has arrived instead of polling its condition.

:func:`trainer_hooks` looks these up once per trainer; the engine calls only
the :class:`TrainerHooks` it returns.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from typing_extensions import override

from ..data import DataUsersDict
from ..model import TrainingModelsDict
from ..state.persistence import Persistent, StateGroup
from ..telemetry.events import MetricSink
from ..telemetry.trainability import TrainabilityReport
from ..thread.thread_events import ThreadEventMixin


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


REQUIRED = (
    "attach_training_models",
    "attach_data_users",
    "run",
    "save_state",
    "load_state",
    "on_paused",
    "on_resumed",
)
"""The methods of :class:`TrainerLike`, which every trainer must have."""

WakeTarget = Callable[[], "tuple[str, int] | None"]


def _no_target() -> tuple[str, int] | None:
    return None


def _no_metrics() -> Mapping[str, float]:
    return {}


@dataclass(frozen=True)
class TrainerHooks:
    """The capabilities of one trainer, as the engine calls them.

    Attributes:
        name: The name the trainer is registered under.
        report: Its trainability report (unconditional if it has none).
        predictable: Whether the training thread may wait for ``wake_target``
            and ``episode_wake_target`` instead of polling ``is_trainable``
            (False for trainers that decide in ``run()`` or override
            ``is_trainable`` unmarked).
        wake_target: The item count that can make it trainable, if known.
        episode_wake_target: The episode count that can make it trainable.
        last_metrics: The latest value of each metric it reported.
        bind_metrics: Binds its metrics to a sink (None: it reports none).
    """

    name: str
    report: Callable[[], TrainabilityReport]
    predictable: bool
    wake_target: WakeTarget
    episode_wake_target: WakeTarget
    last_metrics: Callable[[], Mapping[str, float]]
    bind_metrics: Callable[[str, MetricSink | None], None] | None


def trainer_hooks(name: str, trainer: Any) -> TrainerHooks:
    """Check ``trainer`` against the contract and return the hooks the engine calls.

    Raises:
        TypeError: If it lacks a method of :class:`TrainerLike` (the message
            names the trainer, its class and what is missing).
    """
    missing = [m for m in REQUIRED if not callable(getattr(trainer, m, None))]
    if missing:
        cls = type(trainer)
        raise TypeError(
            f"trainer '{name}' ({cls.__module__}.{cls.__qualname__}) lacks "
            f"{', '.join(m + '()' for m in missing)}: a trainer needs the methods "
            "of engine.runtime.trainer_contract.TrainerLike (trainers.Trainer has them)"
        )
    report = getattr(trainer, "trainability_report", None)
    predictable_check = getattr(trainer, "has_predictable_condition", None)
    predictable = bool(predictable_check()) if callable(predictable_check) else False
    bind = getattr(trainer, "bind_metrics", None)
    return TrainerHooks(
        name=name,
        report=report if callable(report) else TrainabilityReport.unconditional,
        predictable=predictable,
        wake_target=getattr(trainer, "wake_target", _no_target)
        if predictable
        else _no_target,
        episode_wake_target=getattr(trainer, "episode_wake_target", _no_target)
        if predictable
        else _no_target,
        last_metrics=(lambda: trainer.last_metrics)
        if hasattr(trainer, "last_metrics")
        else _no_metrics,
        bind_metrics=bind if callable(bind) else None,
    )


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
