"""Scaling the agent out: many acting workers feeding one learner.

The default backend, ``threads``, is the embedded engine (one agent on the
learner's inference thread) and never imports Ray. With ``backend = "ray"``
each Ray actor builds its own agent, environment and inference models with a
picklable *actor factory*, steps on its own, and ships what its collectors
collect to the learner in batches tagged with the actor and the policy
version; the learner's :class:`~engine.System` (buffers, trainers, state,
control) feeds them into its buffers through the ordinary collectors, and
publishes each sync's weights once through Ray's object store.

Modules: ``config`` (the ``[scale]`` settings), ``batches`` (columnar
batches), ``weights`` (reading and installing weights), ``actor_runner``
(one actor, Ray-free), ``transport`` (the learner's view of its actors; an
in-process implementation), ``feed`` (the learner-side interaction), ``lag``
(policy lag), ``ray_backend`` (the Ray transport: the only module that
imports Ray), ``ray_watch`` (noticing that Ray itself is gone), ``scaled``
(building and launching).
"""

from .actor_runner import ActorFactory, ActorFailedError, ActorParts, ActorReport
from .batches import ActorBatch
from .config import ScaleConfig, ScaleConfigError
from .feed import ActorFeed
from .lag import LagStats
from .scaled import ActorsStatus, actors_status, build_system, connect_actors, launch
from .transport import DeferredTransport, LocalTransport, Transport
from .weights import WeightsNotShippableError

__all__ = [
    "ActorBatch",
    "ActorFactory",
    "ActorFailedError",
    "ActorFeed",
    "ActorParts",
    "ActorReport",
    "ActorsStatus",
    "DeferredTransport",
    "LagStats",
    "LocalTransport",
    "ScaleConfig",
    "ScaleConfigError",
    "Transport",
    "WeightsNotShippableError",
    "actors_status",
    "build_system",
    "connect_actors",
    "launch",
]
