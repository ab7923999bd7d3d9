"""Immutable snapshots of a running system, cheap enough to poll at 10 Hz."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
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
        collector_taken: An agent (or the actors' feed) took its collector;
            False: nothing in this run collects into it.
    """

    size: int
    capacity: int | None
    collected: int
    pending: int
    collector_taken: bool = True


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
        training_only: No inference copy (``has_inference_model=False``, e.g.
            SAC's critics): the agent never reads it, so it is never synced.
    """

    version: int
    last_sync_time: float | None
    last_sync_duration: float | None
    inference_thread_only: bool
    training_only: bool = False


@dataclass(frozen=True)
class ActorStatus:
    """One acting worker of a scaled run (``[scale] backend = "ray"``).

    Attributes:
        actor: Index (0-based).
        node: Where it runs (a Ray node id, or ``"local"``).
        alive: Whether it is stepping (False while Ray restarts it, or once gone).
        paused: Whether it is parked at its pause point.
        restarts: How often its process was restarted.
        steps: Agent steps it has taken (as it last reported).
        steps_per_second: Its recent step rate.
        version: The newest weight publication it has installed.
        lag_p50: Median policy lag of its recent batches at the learner.
        lag_max: Largest policy lag of its recent batches.
        unsent_items: Items it holds that are not in a batch yet.
        queued_batches: Closed batches waiting for the learner.
        dropped_items: Items it dropped because the learner was behind.
        dropped_batches: Batches it dropped for that reason.
        stale_batches: Its batches the learner dropped for ``max_policy_lag``.
        error: What its agent raised, if it failed.
        pid: Its process id (on its node).
    """

    actor: int
    node: str
    alive: bool
    paused: bool
    restarts: int
    steps: int
    steps_per_second: float
    version: int
    lag_p50: int | None
    lag_max: int | None
    unsent_items: int
    queued_batches: int
    dropped_items: int
    dropped_batches: int
    stale_batches: int
    error: str | None = None
    pid: int = 0


STEPS_OF_INTERACTION = "interaction"
"""``SystemStatus.step_source``: the learner's own interaction took the steps."""
STEPS_OF_ACTORS = "actors"
"""``SystemStatus.step_source``: agent steps summed over the actors."""


@dataclass(frozen=True)
class SystemStatus:
    """The whole system at one moment.

    Attributes:
        name: The run's name.
        state: Control state (active, paused, ...).
        uptime: Engine seconds the system has run (pauses excluded).
        time_scale: Engine seconds per real second.
        steps: Interaction steps taken: with actors (``step_source ==
            "actors"``), the agent steps of every actor summed, as of the
            batches the learner has received.
        steps_per_second: Recent step rate (real time).
        wall_time: When the snapshot was taken.
        buffers: By name.
        trainers: By name.
        models: By name.
        errors: Messages of errors that stopped (or are stopping) the system.
        telemetry_dropped: Metrics dropped because the run directory could
            not be written (a full disk): counted, never a reason to stop.
        alerts: What the guards see now (a diverging trainer, a stalled
            agent...; see :mod:`engine.runtime.guards`), oldest first.
        last_save: Path of the last state written, if any.
        last_save_time: When that state was written (wall time; None before).
        next_save_time: When the next periodic save (``save_state_interval``)
            is due (wall time); None without one, and once the run stops.
        started_from: The state loaded before the run started (``--resume``,
            ``--load``), if any.
        actors: Each acting worker of a scaled run (empty without actors).
        step_source: What ``steps`` counts: ``"interaction"`` (the
            embedded engine) or ``"actors"`` (agent steps summed over actors).
        policy_version: The learner's weight publications (with actors).
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
    alerts: tuple[str, ...] = ()
    last_save: str | None = None
    started_from: str | None = None
    actors: tuple[ActorStatus, ...] = ()
    step_source: str = STEPS_OF_INTERACTION
    policy_version: int | None = None
    telemetry_dropped: int = 0
    last_save_time: float | None = None
    next_save_time: float | None = None

    @property
    def all_actors_paused(self) -> bool:
        """Whether there are actors and every live one is parked."""
        alive = [a for a in self.actors if a.alive]
        return bool(alive) and all(a.paused for a in alive)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the control socket's ``status`` result).

        :meth:`from_dict` turns it back into an equal snapshot, so a view can
        render a run's status the same way in-process and over the socket.
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SystemStatus:
        """The snapshot a :meth:`to_dict` dict (or its JSON round trip) describes.

        Keys it does not know (such as the socket's ``run``) are ignored, so a
        newer run's reply still reads.

        Raises:
            ValueError: If a field is missing or has the wrong shape.
        """
        try:
            return cls(
                name=str(data["name"]),
                state=str(data["state"]),
                uptime=float(data["uptime"]),
                time_scale=float(data["time_scale"]),
                steps=int(data["steps"]),
                steps_per_second=float(data["steps_per_second"]),
                wall_time=float(data["wall_time"]),
                buffers={
                    name: BufferStatus(**_known(BufferStatus, b))
                    for name, b in data.get("buffers", {}).items()
                },
                trainers={
                    name: TrainerStatus(
                        **{
                            **_known(TrainerStatus, t),
                            "condition": TrainabilityReport(
                                **_known(TrainabilityReport, t["condition"])
                            ),
                            "last_metrics": dict(t.get("last_metrics", {})),
                        }
                    )
                    for name, t in data.get("trainers", {}).items()
                },
                models={
                    name: ModelStatus(**_known(ModelStatus, m))
                    for name, m in data.get("models", {}).items()
                },
                errors=tuple(data.get("errors", ())),
                alerts=tuple(str(a) for a in data.get("alerts", ())),
                last_save=data.get("last_save"),
                started_from=data.get("started_from"),
                actors=tuple(
                    ActorStatus(**_known(ActorStatus, a))
                    for a in data.get("actors", ())
                ),
                step_source=str(data.get("step_source", STEPS_OF_INTERACTION)),
                policy_version=data.get("policy_version"),
                telemetry_dropped=int(data.get("telemetry_dropped", 0)),
                last_save_time=_time_or_none(data.get("last_save_time")),
                next_save_time=_time_or_none(data.get("next_save_time")),
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(
                f"not a status snapshot: {type(e).__name__}: {e}"
            ) from None


def _time_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _known(kind: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of the dataclass ``kind``."""
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in data.items() if k in names}
