"""Building and launching a learner whose agent runs in actors (or, by default, in-process)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data import DataBuffer
from ..launch_config import LaunchConfig
from ..model import TrainingModel
from ..runtime.trainer_contract import TrainerLike
from ..system import System
from ..telemetry.events import LogMessage, Metric
from .actor_runner import ActorFactory, ActorReport
from .config import ScaleConfig, ScaleConfigError
from .feed import ActorFeed
from .lag import LagStats
from .transport import DeferredTransport, Transport
from .weights import check_shippable

TransportMaker = Callable[[ActorFactory, list[str], ScaleConfig], Transport]


def build_system(
    actor_factory: ActorFactory,
    models: Mapping[str, TrainingModel[Any]],
    buffers: Mapping[str, DataBuffer[Any, Any]],
    trainers: Mapping[str, TrainerLike],
    config: Mapping[str, Any] | LaunchConfig | None = None,
    scale: Mapping[str, Any] | ScaleConfig | None = None,
    transport: TransportMaker | None = None,
    ray_init: dict[str, Any] | None = None,
    connect: bool = True,
    ray_log: Path | None = None,
) -> System:
    """A :class:`~engine.System` whose agent is built by ``actor_factory``.

    With ``backend = "threads"`` (the default) the factory is called once and
    its interaction runs on the learner's inference thread with the learner's
    own models, exactly as ``System(interaction, ...)`` would; Ray is not
    imported. With ``backend = "ray"`` every actor calls the factory in its
    own process, and the learner's inference thread feeds their batches into
    ``buffers`` instead (see :class:`~engine.scale.feed.ActorFeed`).

    Args:
        actor_factory: Builds one actor's :class:`~engine.scale.ActorParts`
            from its index; a module-level function, so Ray can pickle it.
        models: The learner's training models (the actors' models must use
            the same names).
        buffers: The learner's buffers; each actor gets a collector per name.
        trainers: The learner's trainers.
        config: Launch settings, as for :class:`~engine.System`.
        scale: The ``[scale]`` settings.
        transport: Makes the actors' transport instead of the backend's
            (e.g. :class:`~engine.scale.transport.LocalTransport`).
        ray_init: Extra ``ray.init`` arguments when a local Ray is started.
        connect: Start Ray and the actors now; False: when the system starts,
            or earlier with :func:`connect_actors` (building checks nothing
            then that needs Ray).
        ray_log: Where the driver's Ray log lines go instead of stderr.

    Raises:
        ScaleConfigError: For settings the backend cannot use.
        WeightsNotShippableError: For a synced model whose weights cannot travel.
    """
    scale = ScaleConfig.from_value(scale)
    if not scale.uses_ray and transport is None:
        if scale.actors != 1:
            raise ScaleConfigError(
                "actors", f'{scale.actors} actors need backend = "ray"'
            )
        return System(actor_factory(0).interaction, models, buffers, trainers, config)
    for name, model in models.items():
        check_shippable(name, model)
    names = list(buffers)

    def make() -> Transport:
        if transport is not None:
            return transport(actor_factory, names, scale)
        from .ray_backend import RayTransport

        return RayTransport(
            actor_factory, names, scale, init_kwargs=ray_init, log_file=ray_log
        )

    actors: Transport = make() if connect else DeferredTransport(make)
    feed = ActorFeed(actors, names, scale)
    system = System(feed, models, buffers, trainers, config)
    feed.watch_models(dict(models))

    def metric(source: str, name: str, value: float, step: int) -> None:
        system.events.publish(Metric(source=source, name=name, value=value, step=step))

    def log(level: str, message: str) -> None:
        system.events.publish(LogMessage(level=level, message=message))

    feed.bind_metrics(metric)
    if hasattr(actors, "notify"):
        actors.notify = log
    return system


def launch(
    actor_factory: ActorFactory,
    models: Mapping[str, TrainingModel[Any]],
    buffers: Mapping[str, DataBuffer[Any, Any]],
    trainers: Mapping[str, TrainerLike],
    config: Mapping[str, Any] | LaunchConfig | None = None,
    scale: Mapping[str, Any] | ScaleConfig | None = None,
) -> None:
    """:func:`engine.launch` with the agent built by ``actor_factory`` (see :func:`build_system`).

    Raises:
        SystemFailedError: If a thread or an actor failed (after the final save).
    """
    build_system(actor_factory, models, buffers, trainers, config, scale).run()


def connect_actors(system: System) -> None:
    """Start Ray and the actors of a system built with ``connect=False``, on this thread.

    Call it on the main thread before ``system.start()``: ``ray.init`` then
    runs where the learner's signal handlers can be put back. Nothing
    happens for a system without actors or one already connected.

    Raises:
        ScaleConfigError: If the cluster cannot hold the actors.
        Exception: Whatever Ray raised starting them (e.g. a factory that failed).
    """
    feed = system.interaction
    if isinstance(feed, ActorFeed) and isinstance(feed.transport, DeferredTransport):
        feed.transport.connect()


@dataclass(frozen=True)
class ActorsStatus:
    """The actors of a scaled run, as the learner sees them.

    Attributes:
        publication: The learner's policy version.
        reports: What each actor reports of itself.
        lag: Per actor, the lag and counts of the batches the learner received.
    """

    publication: int
    reports: tuple[ActorReport, ...]
    lag: dict[int, LagStats]


def actors_status(system: System) -> ActorsStatus | None:
    """The actors' status of a system from :func:`build_system` (None: no actors)."""
    feed = system.interaction
    if not isinstance(feed, ActorFeed):
        return None
    return ActorsStatus(
        publication=feed.publication,
        reports=tuple(feed.actor_reports()),
        lag=feed.lag_stats(),
    )
