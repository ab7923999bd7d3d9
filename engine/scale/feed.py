"""The learner's side: an interaction whose "steps" feed actor batches into the buffers.

:class:`ActorFeed` takes the place of the agent and environment in the
learner's :class:`~engine.System`. Each step takes one batch that has arrived
from an actor, measures its policy lag, and hands its items, decoded exactly
as the actor's agent collected them, to the buffers' ordinary collectors: the
buffers and trainers cannot tell the data came from elsewhere, and a
trainer's collection limit (a replay ratio) holds the feed back, which holds
the actors back in turn. Pausing the system parks every actor; saving stores
each actor's agent and environment state under the learner's state; loading
gives it back to them; teardown parks them, keeps their final states for the
final save, and stops them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from typing_extensions import override

from ..data import DataCollector
from ..interaction import Agent, Environment, Interaction
from ..model import TrainingModel
from ..telemetry.status import ActorStatus
from ..thread import worker_binding
from .actor_runner import ActorReport
from .batches import ActorBatch, decode_items
from .config import ScaleConfig
from .lag import LagStats, LagTracker
from .transport import Transport
from .weights import read_model_weights, ships_weights

_IDLE_WAIT = 0.1
_METRICS_PERIOD = 1.0
_REPORTS_PERIOD = 1.0
MetricPublisher = Callable[[str, str, float, int], None]


class _FeedAgent(Agent[None, None]):
    """Holds the learner's collectors for the feed; never asked to act."""

    @override
    def step(self, observation: None) -> None:
        raise RuntimeError("the feed's agent does not act: actors do")


class _NoEnvironment(Environment[None, None]):
    """The learner has no environment of its own: the actors have theirs."""

    @override
    def observe(self) -> None:
        raise RuntimeError("the learner has no environment: actors observe")

    @override
    def affect(self, action: None) -> None:
        raise RuntimeError("the learner has no environment: actors act")


class ActorFeed(Interaction[None, None]):
    """Feeds batches from a :class:`~engine.scale.transport.Transport` into the buffers.

    Args:
        transport: The actors.
        buffer_names: The learner's buffers, each fed by every actor.
        config: Lag bound and pause timeout come from here.
        pause_timeout: Seconds to wait for every actor to park.
    """

    def __init__(
        self,
        transport: Transport,
        buffer_names: Sequence[str],
        config: ScaleConfig,
        pause_timeout: float = 30.0,
    ) -> None:
        super().__init__(_FeedAgent(), _NoEnvironment())
        self.transport = transport
        self._names = list(buffer_names)
        self._config = config
        self._pause_timeout = pause_timeout
        self._collectors: dict[str, DataCollector[Any]] = {}
        self._publication = 0
        self._publish_lock = threading.Lock()
        self._models: dict[str, TrainingModel[Any]] = {}
        self.lag = LagTracker()
        self._started = False
        self._stopped = False
        self._final_states: list[bytes] | None = None
        self._states_to_load: list[bytes] | None = None
        self._metrics: MetricPublisher | None = None
        self._next_metrics = 0.0
        self._metric_step = 0
        self._agent_steps = 0
        self._reports: list[ActorReport] = []
        self._rates: dict[int, float] = {}
        self._last_seen: dict[int, tuple[float, int]] = {}
        self._reports_stop = threading.Event()
        self._reports_thread: threading.Thread | None = None
        self._reports_lock = threading.Lock()

    # -- wiring -----------------------------------------------------------------------

    @property
    def publication(self) -> int:
        """The learner's policy version: weight publications so far."""
        return self._publication

    def watch_models(self, models: dict[str, TrainingModel[Any]]) -> None:
        """Publish every sync of these models to the actors (call before start)."""
        for name, model in models.items():
            if ships_weights(model):
                self._models[name] = model
                model.add_sync_listener(self._on_sync(name))

    def bind_metrics(self, publish: MetricPublisher) -> None:
        """Publish per-actor lag and counts as metrics about once a second."""
        self._metrics = publish

    def _on_sync(self, name: str) -> Callable[[TrainingModel[Any], float], None]:
        def listener(model: TrainingModel[Any], duration: float) -> None:
            # Under the lock: publications reach the transport in number order.
            with self._publish_lock:
                self._publication += 1
                if self._started and not self._stopped:
                    self.transport.publish(
                        self._publication, name, read_model_weights(model)
                    )

        return listener

    def _publish_all(self) -> None:
        """Send every model's current weights (at start: actors begin where the learner is)."""
        with self._publish_lock:
            for name, model in self._models.items():
                self.transport.publish(
                    self._publication, name, read_model_weights(model)
                )

    # -- the inference thread's loop ------------------------------------------------

    @override
    def setup(self) -> None:
        # Not super().setup(): there is no agent or environment to set up here.
        self._collectors = {
            name: self.agent.get_data_collector(name) for name in self._names
        }
        if self._states_to_load is not None:
            self.transport.load_states(self._states_to_load)
            self._states_to_load = None
        self._publish_all()
        self._started = True
        self.transport.start()
        self._refresh_reports()
        # Off this thread: asking a dying actor waits for a timeout, and the
        # batches of the others must keep flowing meanwhile.
        self._reports_thread = threading.Thread(
            target=self._poll_reports, name="actor-reports", daemon=True
        )
        self._reports_thread.start()

    @override
    def step(self) -> None:
        """Feed one arrived batch into the buffers, or wait briefly for one."""
        arrived = self.transport.arrived
        arrived.clear()
        batch = self.transport.take_batch()
        if batch is None:
            worker = worker_binding.current_worker()
            if worker is not None:
                worker.wait_for(arrived, _IDLE_WAIT)
            else:
                arrived.wait(_IDLE_WAIT)
        else:
            self.feed(batch)
        self._maybe_publish_metrics()

    def feed(self, batch: ActorBatch) -> bool:
        """Put one batch's items into the buffers; False if dropped as too stale."""
        lag = max(0, self._publication - batch.version)
        limit = self._config.max_policy_lag
        stale = limit is not None and lag > limit
        self.lag.record(batch.actor, lag, batch.version, batch.item_count, stale)
        self._agent_steps += batch.steps
        publish = self._metrics
        if publish is not None:
            for source, name, value, step in batch.metrics:
                publish(source, name, value, step)
        if stale:
            return False
        for name, encoded in batch.items.items():
            collect = self._collectors[name].collect
            for item in decode_items(encoded):
                collect(item)
        return True

    def _maybe_publish_metrics(self) -> None:
        publish = self._metrics
        if publish is None:
            return
        now = time.monotonic()
        if now < self._next_metrics:
            return
        self._next_metrics = now + _METRICS_PERIOD
        self._metric_step += 1
        for actor, stats in self.lag.stats().items():
            source = f"actor{actor}"
            if stats.lag_p50 is not None and stats.lag_max is not None:
                publish(source, "policy_lag_p50", stats.lag_p50, self._metric_step)
                publish(source, "policy_lag_max", stats.lag_max, self._metric_step)
            publish(source, "items", stats.items, self._metric_step)
            publish(source, "stale_items", stats.stale_items, self._metric_step)

    @override
    def teardown(self) -> None:
        if not self._started or self._stopped:
            return
        self._reports_stop.set()
        if self._reports_thread is not None and self.transport.lost is None:
            # Once the actors are lost it asks nothing more: no need to wait.
            self._reports_thread.join(_REPORTS_PERIOD * 10)
        try:
            # Kept for the final save, which runs after this thread has ended.
            self.transport.pause(self._pause_timeout)
            self._final_states = self.transport.save_states()
        finally:
            with self._publish_lock:
                self._stopped = True
            self.transport.stop()

    @override
    def on_paused(self) -> None:
        if self._started and not self._stopped:
            self.transport.pause(self._pause_timeout)
            # This thread is parked now: the status must show the actors parked.
            self._refresh_reports()

    @override
    def on_resumed(self) -> None:
        if self._started and not self._stopped:
            self.transport.resume()
            self._refresh_reports()

    # -- state ----------------------------------------------------------------------

    @override
    def save_state(self, path: Path) -> None:
        """Write the publication count and each actor's state under ``path``."""
        if self._stopped:
            states = self._final_states or []
        elif self._started:
            states = self.transport.save_states()
        else:
            states = self._states_to_load or []
        path.mkdir()
        (path / "feed.json").write_text(
            json.dumps({"publication": self._publication, "actors": len(states)})
        )
        actors = path / "actors"
        actors.mkdir()
        for index, state in enumerate(states):
            (actors / f"{index}.tar").write_bytes(state)

    @override
    def load_state(self, path: Path) -> None:
        """Read what :meth:`save_state` wrote; actors get their states now or at start."""
        meta = json.loads((path / "feed.json").read_text())
        count = int(meta["actors"])
        states = [(path / "actors" / f"{i}.tar").read_bytes() for i in range(count)]
        with self._publish_lock:
            self._publication = int(meta["publication"])
        if self._started and not self._stopped:
            self.transport.load_states(states)
        else:
            self._states_to_load = states

    # -- status ---------------------------------------------------------------------

    def agent_steps(self) -> int:
        """Agent steps of every actor, summed over the batches received."""
        return self._agent_steps

    def _poll_reports(self) -> None:
        while not self._reports_stop.wait(_REPORTS_PERIOD):
            try:
                self._refresh_reports()
            except Exception:
                # A transport that cannot answer now (an actor dying, Ray
                # stopping): the status keeps the last reports, and the
                # feed's own calls report what is fatal.
                continue

    def _refresh_reports(self) -> None:
        """Ask every actor for its counters (about once a second, and at pause/resume)."""
        with self._reports_lock:
            reports = self.transport.reports()
            now = time.monotonic()
            for report in reports:
                seen = self._last_seen.get(report.actor)
                if report.paused or seen is None or now <= seen[0]:
                    rate = 0.0
                else:
                    rate = max(0, report.steps - seen[1]) / (now - seen[0])
                self._rates[report.actor] = rate
                self._last_seen[report.actor] = (now, report.steps)
            self._reports = reports

    def actor_statuses(self) -> tuple[ActorStatus, ...]:
        """Each actor as last reported, with its lag at the learner (no actor call)."""
        if not self._started:
            return ()
        lags = self.lag.stats()
        out = []
        for report in self._reports:
            lag = lags.get(report.actor)
            alive = report.alive and not self._stopped
            out.append(
                ActorStatus(
                    actor=report.actor,
                    node=report.node,
                    alive=alive,
                    paused=report.paused,
                    restarts=report.restarts,
                    steps=report.steps,
                    steps_per_second=self._rates.get(report.actor, 0.0)
                    if alive
                    else 0.0,
                    version=report.version,
                    lag_p50=None if lag is None else lag.lag_p50,
                    lag_max=None if lag is None else lag.lag_max,
                    unsent_items=report.unsent_items,
                    queued_batches=report.queued_batches,
                    dropped_items=report.dropped_items,
                    dropped_batches=report.dropped_batches,
                    stale_batches=0 if lag is None else lag.stale_batches,
                    error=report.error,
                    pid=report.pid,
                )
            )
        return tuple(out)

    def actor_reports(self) -> list[ActorReport]:
        """What each actor reports of itself (empty once stopped)."""
        if not self._started or self._stopped:
            return []
        return self.transport.reports()

    def lag_stats(self) -> dict[int, LagStats]:
        """Per-actor lag and counts as the learner saw them."""
        return self.lag.stats()
