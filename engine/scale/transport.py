"""How the learner reaches its actors: the interface, and an in-process implementation.

:class:`~engine.scale.feed.ActorFeed` talks to actors only through a
:class:`Transport`. :class:`LocalTransport` runs each
:class:`~engine.scale.actor_runner.ActorRunner` on a thread of the learner's
process (for tests and for checking a factory before a cluster run); the Ray
transport lives in :mod:`engine.scale.ray_backend`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .actor_runner import ActorFactory, ActorReport, ActorRunner
from .batches import ActorBatch
from .config import ScaleConfig


class Transport(Protocol):
    """The learner's side of its actors."""

    @property
    def arrived(self) -> threading.Event:
        """Set whenever a batch may be ready (the feed clears it before it looks)."""
        ...

    @property
    def lost(self) -> str | None:
        """Why the actors cannot be reached any more (e.g. Ray itself died), or None."""
        ...

    def start(self) -> None:
        """Let every actor start stepping."""
        ...

    def take_batch(self) -> ActorBatch | None:
        """A batch that has arrived, or None at once.

        Raises:
            ActorFailedError: If an actor failed and cannot go on.
        """
        ...

    def publish(self, publication: int, model: str, weights: Any) -> None:
        """Send one publication of ``model``'s weights to every actor (returns at once)."""
        ...

    def pause(self, timeout: float) -> None:
        """Park every actor; return once all are parked.

        Raises:
            TimeoutError: If an actor did not park in time.
        """
        ...

    def resume(self) -> None:
        """Let every actor step again."""
        ...

    def save_states(self) -> list[bytes]:
        """Each actor's interaction state (call while paused)."""
        ...

    def load_states(self, states: Sequence[bytes]) -> None:
        """Give actor ``i`` state ``states[i]`` (call while paused or before start)."""
        ...

    def reports(self) -> list[ActorReport]:
        """Each actor's counters."""
        ...

    def stop(self) -> None:
        """Stop every actor (and whatever the transport started)."""
        ...


class LocalTransport:
    """Actors on threads of this process: the same runners, no Ray.

    Args:
        factory: Builds each actor's parts.
        buffer_names: The learner's buffer names.
        config: How many actors, batching and backpressure.
    """

    def __init__(
        self, factory: ActorFactory, buffer_names: Sequence[str], config: ScaleConfig
    ) -> None:
        self._arrived = threading.Event()
        self._runners = [
            ActorRunner(i, factory, buffer_names, config, on_batch=self._arrived.set)
            for i in range(config.actors)
        ]
        self._next = 0

    @property
    def runners(self) -> list[ActorRunner]:
        """The actors."""
        return self._runners

    @property
    def arrived(self) -> threading.Event:
        """Set when an actor closes a batch."""
        return self._arrived

    @property
    def lost(self) -> str | None:
        """Always None: the actors are threads of this process."""
        return None

    def start(self) -> None:
        """Start every actor's thread."""
        for runner in self._runners:
            runner.start()

    def take_batch(self) -> ActorBatch | None:
        """The next actor's oldest batch, round robin (fair when all are busy)."""
        count = len(self._runners)
        for offset in range(count):
            runner = self._runners[(self._next + offset) % count]
            batch = runner.next_batch(timeout=0)
            if batch is not None:
                self._next = (runner.index + 1) % count
                return batch
        return None

    def publish(self, publication: int, model: str, weights: Any) -> None:
        """Install in every actor, on the calling (training) thread."""
        for runner in self._runners:
            runner.install_weights(publication, model, weights)

    def pause(self, timeout: float) -> None:
        """Park every actor."""
        for runner in self._runners:
            if not runner.pause(timeout):
                raise TimeoutError(f"actor {runner.index} did not pause in {timeout} s")

    def resume(self) -> None:
        """Resume every actor."""
        for runner in self._runners:
            runner.resume()

    def save_states(self) -> list[bytes]:
        """Each actor's interaction state."""
        return [runner.save_state() for runner in self._runners]

    def load_states(self, states: Sequence[bytes]) -> None:
        """Load the saved states into the first ``len(states)`` actors."""
        for runner, state in zip(self._runners, states, strict=False):
            runner.load_state(state)

    def reports(self) -> list[ActorReport]:
        """Each actor's counters."""
        return [runner.report() for runner in self._runners]

    def stop(self) -> None:
        """Stop every actor."""
        for runner in self._runners:
            runner.stop()


class DeferredTransport:
    """A transport made on first use (or by :meth:`connect`), not when the system is built.

    The console builds a run's system while checking its config, and
    ``validate`` must not start Ray; the run connects on its main thread
    just before the system starts.

    Args:
        make: Makes the real transport.
    """

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._transport: Any = None
        self.notify: Callable[[str, str], None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the real transport exists."""
        return self._transport is not None

    def connect(self) -> Any:
        """Make the real transport now (once) and return it."""
        with self._lock:
            if self._transport is None:
                transport = self._make()
                if hasattr(transport, "notify"):
                    transport.notify = self.notify
                self._transport = transport
            return self._transport

    @property
    def arrived(self) -> threading.Event:
        """The real transport's event."""
        return self.connect().arrived

    @property
    def lost(self) -> str | None:
        """The real transport's, if it was ever made."""
        return None if self._transport is None else self._transport.lost

    def start(self) -> None:
        """Connect if needed, then start."""
        self.connect().start()

    def take_batch(self) -> ActorBatch | None:
        """See :meth:`Transport.take_batch`."""
        return self.connect().take_batch()

    def publish(self, publication: int, model: str, weights: Any) -> None:
        """See :meth:`Transport.publish`."""
        self.connect().publish(publication, model, weights)

    def pause(self, timeout: float) -> None:
        """See :meth:`Transport.pause`."""
        self.connect().pause(timeout)

    def resume(self) -> None:
        """See :meth:`Transport.resume`."""
        self.connect().resume()

    def save_states(self) -> list[bytes]:
        """See :meth:`Transport.save_states`."""
        return self.connect().save_states()

    def load_states(self, states: Sequence[bytes]) -> None:
        """See :meth:`Transport.load_states`."""
        self.connect().load_states(states)

    def reports(self) -> list[ActorReport]:
        """See :meth:`Transport.reports`."""
        return self.connect().reports()

    def stop(self) -> None:
        """Stop the real transport, if it was ever made."""
        if self._transport is not None:
            self._transport.stop()
