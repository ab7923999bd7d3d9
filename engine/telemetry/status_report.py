"""Parts of a status snapshot: the live buffers' and models', and the step rate.

:meth:`engine.System.status` puts the snapshot together from these, each
trainer's part (:meth:`engine.runtime.workers.TrainerRecord.status`) and its own
counters.

Every reader here is safe from any thread: sizes and counters are read
without pausing anything, so a snapshot is a moment's view, not a
transaction.
"""

from __future__ import annotations

import threading
import time as _time
from collections import deque
from typing import Protocol, runtime_checkable

from ..data import DataUsersDict
from ..model import TrainingModelsDict
from .status import ActorStatus, BufferStatus, ModelStatus


@runtime_checkable
class ActorsSource(Protocol):
    """An interaction whose agent steps in acting workers elsewhere (the scale feed).

    The system counts such an interaction's steps as the actors' agent steps
    and puts the actors into its status snapshot.
    """

    def agent_steps(self) -> int:
        """Agent steps of every actor, summed (as of the batches received)."""
        ...

    def actor_statuses(self) -> tuple[ActorStatus, ...]:
        """Each actor, as last reported (cheap: no call to an actor)."""
        ...

    @property
    def publication(self) -> int:
        """The learner's policy version."""
        ...


class StepRate:
    """The step rate over roughly the last ``window`` seconds of real time.

    Args:
        window: Seconds of samples kept (at least two samples always are).
    """

    def __init__(self, window: float = 2.0) -> None:
        self._window = window
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, steps: int, active: bool) -> float:
        """Record ``steps`` now; return the rate (0 while not ``active``)."""
        now = _time.monotonic()
        with self._lock:
            samples = self._samples
            samples.append((now, steps))
            while len(samples) > 2 and now - samples[1][0] >= self._window:
                samples.popleft()
            first_t, first_steps = samples[0]
        if now - first_t <= 0 or not active:
            return 0.0
        return (steps - first_steps) / (now - first_t)


def buffer_statuses(data_users: DataUsersDict) -> dict[str, BufferStatus]:
    """Each buffer's fill, capacity, collected count, pending items and whether
    anything took its collector."""
    collectors = data_users.data_collectors_dict
    return {
        name: BufferStatus(
            size=user.size_including_pending(),
            capacity=user.buffer.capacity,
            collected=user.collected_total,
            pending=user.collector.pending,
            collector_taken=collectors.acquired(name),
        )
        for name, user in data_users.data.items()
    }


def model_statuses(models: TrainingModelsDict) -> dict[str, ModelStatus]:
    """Each model's sync version and last sync."""
    return {
        name: ModelStatus(
            version=model.sync_version,
            last_sync_time=model.last_sync_time,
            last_sync_duration=model.last_sync_duration,
            inference_thread_only=model.inference_thread_only,
            training_only=not model.has_inference_model,
        )
        for name, model in models.data.items()
    }
