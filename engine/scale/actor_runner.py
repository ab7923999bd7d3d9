"""One acting worker: builds its own agent, environment and models, steps on its own thread.

This module knows nothing of Ray: the Ray backend hosts one
:class:`ActorRunner` per actor process (and tests host them in threads). The
runner gives the agent its own data collectors, one per learner buffer, and
closes what they collected into :class:`~engine.scale.batches.ActorBatch`
batches once ``batch_items`` items are waiting or the oldest has waited
``batch_seconds``. At most ``max_in_flight_batches`` closed batches wait for
the learner; past that the oldest batch is dropped (``drop_oldest``, counted)
or the agent stops stepping until the learner takes one (``wait``).
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import tarfile
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data import DataCollector, DataCollectorsDict
from ..interaction import Interaction
from ..model import TrainingModel, TrainingModelsDict
from .batches import ActorBatch, encode_items
from .config import ScaleConfig
from .weights import install_model_weights

_PAUSE_TIMEOUT = 30.0
_MAX_HELD_METRICS = 10_000


@dataclass(frozen=True)
class ActorParts:
    """What an actor factory builds for one actor.

    Attributes:
        interaction: The actor's agent and environment.
        models: Training models by the learner's model names; the agent uses
            their inference models, and published weights are installed in
            them (then synced, as in-process).
    """

    interaction: Interaction[Any, Any]
    models: Mapping[str, TrainingModel[Any]]


ActorFactory = Callable[[int], ActorParts]
"""Builds one actor's parts from its index; must be picklable (a module-level function)."""


class ActorFailedError(RuntimeError):
    """The actor's agent or environment raised; the message carries its traceback."""


@dataclass(frozen=True)
class ActorReport:
    """An actor's counters, as the learner shows them.

    Attributes:
        actor: Index.
        node: Where it runs (Ray node id, or ``"local"``).
        alive: Whether its stepping thread runs.
        paused: Whether it is parked at its pause point.
        steps: Interaction steps taken.
        version: Newest weight publication installed.
        unsent_items: Items collected but not yet in a batch.
        queued_batches: Closed batches the learner has not taken.
        dropped_items: Items dropped because the learner was behind.
        dropped_batches: Batches dropped for that reason.
        skipped_versions: Publications superseded before they were installed.
        error: What the agent raised, if it failed.
        restarts: How often the actor's process was restarted.
        pid: The actor's process id.
    """

    actor: int
    node: str
    alive: bool
    paused: bool
    steps: int
    version: int
    unsent_items: int
    queued_batches: int
    dropped_items: int
    skipped_versions: int
    error: str | None = None
    restarts: int = 0
    pid: int = 0
    dropped_batches: int = 0


class ActorRunner:
    """Runs one actor's interaction and hands out its batches.

    Args:
        index: The actor's index.
        factory: Builds the actor's parts.
        buffer_names: The learner's buffer names (one collector each).
        config: Batching and backpressure settings.
        node: Where it runs, for reports.
        on_batch: Called (from the stepping thread) when a batch is closed.
    """

    def __init__(
        self,
        index: int,
        factory: ActorFactory,
        buffer_names: Sequence[str],
        config: ScaleConfig,
        node: str = "local",
        on_batch: Callable[[], None] | None = None,
    ) -> None:
        self.index = index
        self.node = node
        self._config = config
        self._on_batch = on_batch
        parts = factory(index)
        self.interaction = parts.interaction
        self.models = TrainingModelsDict(parts.models)
        self._collectors = {
            name: DataCollector[Any](max_queue_size=config.max_unsent_items)
            for name in buffer_names
        }
        self._taken_total = dict.fromkeys(buffer_names, 0)
        agent = self.interaction.agent
        agent.attach_inference_models(self.models.inference_models_dict)
        agent.attach_data_collectors(DataCollectorsDict(self._collectors))
        # The agent's report_metrics reach the learner with the next batch,
        # named after this actor; the oldest go if the learner falls far behind.
        self._metrics: deque[tuple[str, str, float, int]] = deque(
            maxlen=_MAX_HELD_METRICS
        )
        agent.bind_metrics(f"actor{index}.agent", self._hold_metric)

        self._cond = threading.Condition()
        self._outbox: deque[ActorBatch] = deque()
        self._version = 0
        self._installed: dict[str, int] = {}
        self._install_lock = threading.Lock()
        self._skipped = 0
        self._steps = 0
        self._steps_at_batch = 0
        self._dropped = 0
        self._dropped_since_batch = 0
        self._dropped_batches = 0
        self._oldest_unsent: float | None = None
        self._pause_requested = False
        self._parked = False
        self._stop = False
        self._error: str | None = None
        self._thread: threading.Thread | None = None

    # -- stepping -------------------------------------------------------------------

    def start(self) -> None:
        """Start stepping on a thread of its own (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name=f"actor-{self.index}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        interaction = self.interaction
        try:
            interaction.setup()
            try:
                while self._wait_until_free():
                    interaction.step()
                    self._steps += 1
                    self._maybe_close_batch()
            finally:
                interaction.teardown()
        except BaseException as e:
            with self._cond:
                self._error = (
                    f"actor {self.index}: {type(e).__name__}: {e}\n"
                    + traceback.format_exc()
                )
                self._cond.notify_all()
        finally:
            with self._cond:
                self._stop = True
                self._cond.notify_all()

    def _wait_until_free(self) -> bool:
        """Serve pause and ``wait`` backpressure; False when stopping."""
        config = self._config
        cond = self._cond
        with cond:
            while True:
                if self._stop:
                    return False
                if self._pause_requested:
                    self._park()
                    continue
                if (
                    config.when_behind == "wait"
                    and self._outbox_full()
                    and self._unsent() >= config.batch_items
                ):
                    cond.wait()
                    continue
                return True

    def _park(self) -> None:
        """Flush, run the pause callbacks and wait for resume (holding ``_cond``)."""
        self._close_batch_locked()
        self._cond.release()
        try:
            self.interaction.on_paused()
        finally:
            self._cond.acquire()
        self._parked = True
        self._cond.notify_all()
        while self._pause_requested and not self._stop:
            self._cond.wait()
        self._parked = False
        self._cond.release()
        try:
            self.interaction.on_resumed()
        finally:
            self._cond.acquire()

    def _hold_metric(self, source: str, name: str, value: float, step: int) -> None:
        self._metrics.append((source, name, value, step))

    def _unsent(self) -> int:
        return max((c.pending for c in self._collectors.values()), default=0)

    def _outbox_full(self) -> bool:
        return len(self._outbox) >= self._config.max_in_flight_batches

    def _maybe_close_batch(self) -> None:
        unsent = self._unsent()
        if unsent == 0 and not self._metrics:
            return
        if self._config.when_behind == "wait" and self._outbox_full():
            return  # the learner is behind: the items wait with the agent
        now = time.monotonic()
        if self._oldest_unsent is None:
            self._oldest_unsent = now
        if (
            unsent >= self._config.batch_items
            or now - self._oldest_unsent >= self._config.batch_seconds
        ):
            with self._cond:
                self._close_batch_locked()

    def _close_batch_locked(self) -> None:
        if self._config.when_behind == "wait" and self._outbox_full():
            return
        items: dict[str, Any] = {}
        sizes: dict[str, int] = {}
        for name, collector in self._collectors.items():
            taken, newest = collector._take()
            # The collector's bounded queue drops its oldest items silently.
            lost = newest - self._taken_total[name] - len(taken)
            self._dropped += lost
            self._dropped_since_batch += lost
            self._taken_total[name] = newest
            if taken:
                items[name] = encode_items([data for data, _ in taken])
                sizes[name] = len(taken)
        self._oldest_unsent = None
        metrics = tuple(self._metrics)
        self._metrics.clear()
        if not items and not metrics:
            return
        batch = ActorBatch(
            actor=self.index,
            version=self._version,
            items=items,
            steps=self._steps - self._steps_at_batch,
            dropped=self._dropped_since_batch,
            created=time.time(),
            sizes=sizes,
            metrics=metrics,
        )
        self._steps_at_batch = self._steps
        self._dropped_since_batch = 0
        self._outbox.append(batch)
        if len(self._outbox) > self._config.max_in_flight_batches:
            # Only in drop_oldest: "wait" stops stepping before this can happen.
            old = self._outbox.popleft()
            self._dropped += old.item_count
            self._dropped_since_batch += old.item_count
            self._dropped_batches += 1
            # Its steps and metrics still happened: the next batch out carries them.
            head = self._outbox[0]
            self._outbox[0] = dataclasses.replace(
                head, steps=head.steps + old.steps, metrics=old.metrics + head.metrics
            )
        self._cond.notify_all()
        if self._on_batch is not None:
            self._on_batch()

    # -- what the learner calls ---------------------------------------------------

    def next_batch(self, timeout: float) -> ActorBatch | None:
        """The oldest closed batch, waiting up to ``timeout`` seconds for one.

        Raises:
            ActorFailedError: If the agent or environment raised.
        """
        with self._cond:
            self._cond.wait_for(
                lambda: self._outbox or self._error is not None or self._stop,
                timeout,
            )
            if self._outbox:
                batch = self._outbox.popleft()
                self._cond.notify_all()
                return batch
            if self._error is not None:
                raise ActorFailedError(self._error)
            return None

    def install_weights(self, publication: int, model: str, weights: Any) -> bool:
        """Install publication ``publication`` of ``model``; False if it was superseded.

        Runs on the caller's thread: the agent keeps stepping meanwhile and
        sees the new weights through the model's own sync.
        """
        with self._install_lock:
            if self._installed.get(model, -1) >= publication:
                self._skipped += 1
                return False
            install_model_weights(self.models[model], weights)
            self._installed[model] = publication
            with self._cond:
                self._version = max(self._version, publication)
        return True

    def newest_wanted(self, model: str, publication: int) -> bool:
        """Whether ``publication`` of ``model`` is newer than what is installed."""
        return self._installed.get(model, -1) < publication

    def count_skipped(self) -> None:
        """Count a publication dropped before it was fetched."""
        with self._install_lock:
            self._skipped += 1

    def pause(self, timeout: float = _PAUSE_TIMEOUT) -> bool:
        """Park the agent between steps (flushing a batch); True once parked or stopped."""
        with self._cond:
            self._pause_requested = True
            self._cond.notify_all()
            if self._thread is None:
                return True
            return self._cond.wait_for(lambda: self._parked or self._stop, timeout)

    def resume(self) -> None:
        """Let a parked agent step again."""
        with self._cond:
            self._pause_requested = False
            self._cond.notify_all()

    def stop(self, timeout: float = _PAUSE_TIMEOUT) -> None:
        """Stop stepping and tear the interaction down (its thread exits)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def save_state(self) -> bytes:
        """The interaction's state (agent and environment) as a tar archive.

        Call while paused. The learner writes it under its own state
        directory, so a state lives in one place even on a cluster.
        """
        tmp = Path(tempfile.mkdtemp(prefix="pamiq-actor-"))
        try:
            self.interaction.save_state(tmp / "interaction")
            data = io.BytesIO()
            with tarfile.open(fileobj=data, mode="w") as tar:
                tar.add(tmp / "interaction", arcname="interaction")
            return data.getvalue()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def load_state(self, archive: bytes) -> None:
        """Load what :meth:`save_state` returned (call while paused or before start)."""
        tmp = Path(tempfile.mkdtemp(prefix="pamiq-actor-"))
        try:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
                tar.extractall(tmp, filter="data")
            self.interaction.load_state(tmp / "interaction")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def report(self) -> ActorReport:
        """The actor's counters now."""
        with self._cond:
            thread = self._thread
            return ActorReport(
                actor=self.index,
                node=self.node,
                alive=thread is not None and thread.is_alive() and not self._stop,
                paused=self._parked,
                steps=self._steps,
                version=self._version,
                unsent_items=self._unsent(),
                queued_batches=len(self._outbox),
                dropped_items=self._dropped,
                dropped_batches=self._dropped_batches,
                skipped_versions=self._skipped,
                error=self._error.splitlines()[0] if self._error else None,
                pid=os.getpid(),
            )
