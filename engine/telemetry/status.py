"""Immutable snapshots of a running system, cheap enough to poll at 10 Hz."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .trainability import TrainabilityReport


@dataclass(frozen=True)
class BufferStatus:
    """One data buffer.

    Attributes:
        size: Items stored, counting ones waiting to be moved in.
        capacity: Most items it holds (None if unknown).
        collected: Items ever collected into it.
        pending: Items waiting for the trainer's next update.
    """

    size: int
    capacity: int | None
    collected: int
    pending: int


@dataclass(frozen=True)
class TrainerStatus:
    """One trainer.

    Attributes:
        condition: Have-versus-need of its data conditions right now.
        runs: Completed training runs.
        last_duration: Seconds the last run took (None before the first).
        last_metrics: The last value of each metric it reported.
        custom_condition: Its ``is_trainable`` is overridden, so the condition
            shown may not be the whole story.
    """

    condition: TrainabilityReport
    runs: int
    last_duration: float | None
    last_metrics: dict[str, float]
    custom_condition: bool


@dataclass(frozen=True)
class ModelStatus:
    """One model.

    Attributes:
        version: How many times it was synced.
        last_sync_time: Wall time of the last sync (None before the first).
        last_sync_duration: Seconds the last sync took.
        inference_thread_only: Never trained.
    """

    version: int
    last_sync_time: float | None
    last_sync_duration: float | None
    inference_thread_only: bool


@dataclass(frozen=True)
class SystemStatus:
    """The whole system at one moment.

    Attributes:
        name: The run's name.
        state: Control state (active, paused, ...).
        uptime: Engine seconds the system has run (pauses excluded).
        time_scale: Engine seconds per real second.
        steps: Interaction steps taken.
        steps_per_second: Recent step rate (real time).
        wall_time: When the snapshot was taken.
        buffers: By name.
        trainers: By name.
        models: By name.
        errors: Messages of errors that stopped (or are stopping) the system.
        last_save: Path of the last state written, if any.
        started_from: The state loaded before the run started (``--resume``,
            ``--load``), if any.
    """

    name: str
    state: str
    uptime: float
    time_scale: float
    steps: int
    steps_per_second: float
    wall_time: float
    buffers: dict[str, BufferStatus] = field(default_factory=dict)
    trainers: dict[str, TrainerStatus] = field(default_factory=dict)
    models: dict[str, ModelStatus] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    last_save: str | None = None
    started_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)
