"""Actors on Ray: one process per actor, on this machine or across a cluster.

Ray is imported only here, and only when a :class:`RayTransport` is made, so
the threads backend never loads it. Each Ray actor hosts an
:class:`~engine.scale.actor_runner.ActorRunner` (its agent steps on a thread
of the actor process; Ray calls run on the actor's other threads). The
learner keeps one ``next_batch`` call in flight per actor and takes at most
one finished batch per actor before asking again, so at most
``actors x (1 + max_in_flight_batches)`` batches exist anywhere. Each
weight publication is put in the object store once and every actor fetches
that one object; an actor that gets a newer publication of a model before
it fetched an older one skips the older.

A dead actor (its process crashed or was killed) is restarted by Ray up to
``max_restarts`` times; the learner then gives it the newest weights and the
agent state of the last save, and starts it. Its death and restart are
published as log events and counted in its report. A run never waits on a
dead actor: every call has a timeout, and once no actor is left the run fails.

Ray itself can die too (its raylet or GCS killed, or crashed). A
:class:`~engine.scale.ray_watch.RayWatch` notices at once, before Ray's own
code ends the process: the transport then makes no Ray call again, says so
in an error event, and fails the feed, so the run stops in order with a
final save of the learner (the actors' states are those of the last save);
the processes of a Ray the run started are killed, so none is left behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..host.owner_only import append_owned
from .actor_runner import ActorFactory, ActorFailedError, ActorReport, ActorRunner
from .batches import ActorBatch
from .config import ScaleConfig, ScaleConfigError
from .ray_watch import RayLostError, RayWatch

_POLL = 0.2
_GATHER_WAIT = 0.02
_CALL_TIMEOUT = 30.0
_RESTART_TIMEOUT = 120.0
Notify = Callable[[str, str], None]


class _ActorHost:
    """The body of one Ray actor (wrapped with ``ray.remote`` at run time)."""

    def __init__(
        self,
        index: int,
        factory: ActorFactory,
        buffer_names: Sequence[str],
        config: ScaleConfig,
    ) -> None:
        import ray

        node = ray.get_runtime_context().get_node_id()
        self._runner = ActorRunner(index, factory, buffer_names, config, node=node)
        # A process Ray restarts builds a new host: the learner tells by this.
        self._incarnation = uuid.uuid4().hex

    def start(self) -> None:
        self._runner.start()

    def ready(self) -> str:
        return self._incarnation

    def next_batch(self, timeout: float) -> tuple[str, ActorBatch | None]:
        return self._incarnation, self._runner.next_batch(timeout)

    def set_weights(self, publication: int, model: str, refs: list[Any]) -> bool:
        import ray

        if not self._runner.newest_wanted(model, publication):
            self._runner.count_skipped()
            return False
        # The ref came inside a list so that Ray did not fetch it before the
        # check above: a superseded publication is never copied here.
        return self._runner.install_weights(publication, model, ray.get(refs[0]))

    def pause(self, timeout: float) -> bool:
        return self._runner.pause(timeout)

    def resume(self) -> None:
        self._runner.resume()

    def save_state(self) -> bytes:
        return self._runner.save_state()

    def load_state(self, archive: bytes) -> None:
        self._runner.load_state(archive)

    def report(self) -> ActorReport:
        return self._runner.report()

    def stop(self) -> None:
        self._runner.stop()


def _keep_signal_handlers() -> Callable[[], None]:
    """Remember SIGINT/SIGTERM handlers; the returned call puts them back.

    ``ray.init`` installs its own SIGTERM handler in the driver, which would
    end the learner without its orderly stop and final save.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)

    return restore


def _ray_logs_to(path: Path) -> None:
    """Send the driver's ``ray`` logger to ``path`` (appended, owner-only) instead of stderr.

    Ray's import gives its logger a stderr handler; under the dashboard
    anything on stderr draws over the screen.
    """
    stream = os.fdopen(append_owned(path), "a", encoding="utf-8", buffering=1)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logger = logging.getLogger("ray")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.propagate = False


def _check_room(ray: Any, config: ScaleConfig) -> None:
    """Refuse, in one line, actors that could never all be placed (they would wait forever)."""
    need = config.actors * config.cpus_per_actor
    have = float(ray.cluster_resources().get("CPU", 0.0))
    if need > have + 1e-9:
        raise ScaleConfigError(
            "actors",
            f"{config.actors} actors x {config.cpus_per_actor:g} CPUs (cpus_per_actor) "
            f"need {need:g} CPUs; the Ray cluster has {have:g}",
        )


def _unknown_report(actor: int) -> ActorReport:
    """What is shown of an actor that has not answered yet."""
    return ActorReport(
        actor=actor, node="?", alive=False, paused=False, steps=0, version=0,
        unsent_items=0, queued_batches=0, dropped_items=0, skipped_versions=0,
    )  # fmt: skip


class RayTransport:
    """The learner's side of Ray actors.

    Connects to Ray (or starts a local one) and creates the actors when made;
    they build their parts then, and step once :meth:`start` is called.

    Args:
        factory: Builds each actor's parts (pickled to every actor).
        buffer_names: The learner's buffer names.
        config: Actors, address, CPUs, batching and backpressure.
        init_kwargs: Extra ``ray.init`` arguments (e.g. ``num_cpus``,
            ``object_store_memory``) when this transport starts Ray itself.
        notify: Called with ``(level, message)`` for actor deaths and restarts.
        log_file: Where the driver's Ray log lines go (default: Ray's own
            stderr handler).
    """

    def __init__(
        self,
        factory: ActorFactory,
        buffer_names: Sequence[str],
        config: ScaleConfig,
        init_kwargs: dict[str, Any] | None = None,
        notify: Notify | None = None,
        log_file: Path | None = None,
    ) -> None:
        import ray

        self._ray = ray
        self._config = config
        self.notify = notify
        self._owns_ray = False
        self._arrived = threading.Event()
        self._lock = threading.Lock()
        self._failure: str | None = None
        self._stop = threading.Event()
        self._watch: RayWatch | None = None
        if log_file is not None:
            _ray_logs_to(log_file)
        if not ray.is_initialized():
            restore = _keep_signal_handlers()
            try:
                kwargs: dict[str, Any] = {
                    "include_dashboard": False,
                    # Actors' prints must not draw over the learner's dashboard.
                    "log_to_driver": False,
                    "logging_level": "warning",
                }
                if log_file is not None:
                    kwargs["configure_logging"] = False
                kwargs.update(init_kwargs or {})
                ray.init(address=config.address, **kwargs)
            finally:
                restore()
            self._owns_ray = True
        try:
            _check_room(ray, config)
        except ScaleConfigError:
            if self._owns_ray:
                ray.shutdown()
            raise
        self._watch = RayWatch.of_ray(ray, self._owns_ray, self._on_ray_lost)
        if self._watch is not None:
            self._watch.start()
        try:
            self._actors, self._incarnations = self._create_actors(
                factory, buffer_names
            )
        except BaseException:
            if self._watch is not None:
                self._watch.close()
            raise
        self._ready: deque[ActorBatch] = deque()
        self._held: set[int] = set()
        self._pending: dict[Any, int] = {}
        self._alive = [True] * config.actors
        self._reviving: set[int] = set()
        self._restarts = [0] * config.actors
        self._latest: dict[str, tuple[int, Any]] = {}
        self._states: list[bytes | None] = [None] * config.actors
        self._last_reports: dict[int, ActorReport] = {}
        self._paused = False
        self._pump: threading.Thread | None = None

    def _create_actors(
        self, factory: ActorFactory, buffer_names: Sequence[str]
    ) -> tuple[list[Any], list[str]]:
        """The actors, once each has built its parts, and their incarnations."""
        ray, config = self._ray, self._config
        remote = ray.remote(_ActorHost).options(
            num_cpus=config.cpus_per_actor,
            max_restarts=config.max_restarts,
            max_task_retries=0,
            max_concurrency=8,
            # One actor per node where room allows: scaling out is the point.
            scheduling_strategy="SPREAD",
        )
        actors = [
            remote.remote(i, factory, list(buffer_names), config)
            for i in range(config.actors)
        ]
        # Construction errors (a factory that raises) surface here, not mid-run.
        incarnations: list[str] = ray.get(
            [a.ready.remote() for a in actors], timeout=_CALL_TIMEOUT * 4
        )
        return actors, incarnations

    # -- Transport ----------------------------------------------------------------

    @property
    def arrived(self) -> threading.Event:
        """Set when a batch has arrived or an actor died."""
        return self._arrived

    @property
    def lost(self) -> str | None:
        """Why Ray itself is lost (its raylet or GCS gone), or None."""
        return None if self._watch is None else self._watch.check()

    def _usable(self) -> bool:
        """Whether Ray may be called: after its loss any call may end the process."""
        return self._watch is None or self._watch.check() is None

    def start(self) -> None:
        """Start every actor's agent and the thread that gathers their batches."""
        self._ray.get([a.start.remote() for a in self._actors], timeout=_CALL_TIMEOUT)
        self._pump = threading.Thread(target=self._gather, name="ray-feed", daemon=True)
        self._pump.start()

    def take_batch(self) -> ActorBatch | None:
        """The oldest batch that has arrived, or None.

        Raises:
            ActorFailedError: If an actor's agent raised, or no actor is left.
        """
        with self._lock:
            if self._failure is not None:
                # The known loss, not check(): its report would take this lock.
                lost = self._watch is not None and self._watch.lost is not None
                raise (RayLostError if lost else ActorFailedError)(self._failure)
            if not self._ready:
                return None
            batch = self._ready.popleft()
            self._held.discard(batch.actor)
            # Ask again at once: the gathering thread may be inside ray.wait.
            self._ask_locked(batch.actor)
            return batch

    def publish(self, publication: int, model: str, weights: Any) -> None:
        """Put the weights in the object store once and tell every actor."""
        if not self._usable():
            return  # the run is stopping; a put now would end the process
        ref = self._ray.put(weights)
        with self._lock:
            self._latest[model] = (publication, ref)
            actors = [a for i, a in enumerate(self._actors) if self._alive[i]]
        for actor in actors:
            actor.set_weights.remote(publication, model, [ref])

    def pause(self, timeout: float) -> None:
        """Park every live actor.

        Raises:
            TimeoutError: If one did not park in time.
        """
        self._paused = True
        answers = self._call_live("pause", timeout, timeout=timeout + _CALL_TIMEOUT)
        late = [i for i, ok in answers.items() if ok is False]
        if late:
            raise TimeoutError(f"actors {late} did not pause within {timeout} s")

    def resume(self) -> None:
        """Resume every live actor."""
        self._paused = False
        self._call_live("resume")

    def save_states(self) -> list[bytes]:
        """Each actor's interaction state.

        A dead actor's, and every actor's once Ray is lost, is that of the last save.
        """
        answers = self._call_live("save_state")
        for i, state in answers.items():
            if isinstance(state, bytes):
                self._states[i] = state
        return [s if s is not None else b"" for s in self._states]

    def load_states(self, states: Sequence[bytes]) -> None:
        """Give the actors their saved states.

        Raises:
            RayLostError: If Ray is lost.
        """
        lost = self.lost
        if lost is not None:
            raise RayLostError(
                f"cannot give the actors their states: Ray was lost: {lost}"
            )
        for i, state in enumerate(states[: len(self._actors)]):
            if state:
                self._states[i] = state
        refs = {
            i: self._actors[i].load_state.remote(self._states[i])
            for i in range(len(self._actors))
            if self._alive[i] and self._states[i]
        }
        self._ray.get(list(refs.values()), timeout=_CALL_TIMEOUT)

    def reports(self) -> list[ActorReport]:
        """Each actor's counters, with its restarts; a dead one reports not alive."""
        # Not the ones Ray is restarting: they could not answer before the timeout.
        answers = self._call_live("report", timeout=2.0, skip_reviving=True)
        out = []
        for i in range(len(self._actors)):
            report = answers.get(i)
            if isinstance(report, ActorReport):
                self._last_reports[i] = report
            elif i in self._last_reports:
                report = dataclasses.replace(
                    self._last_reports[i],
                    alive=False,
                    paused=False,
                    unsent_items=0,
                    queued_batches=0,
                )
            else:
                report = _unknown_report(i)
            out.append(dataclasses.replace(report, restarts=self._restarts[i]))
        return out

    def stop(self) -> None:
        """Stop the actors, kill their processes, and shut Ray down if this started it.

        Once Ray is lost no Ray call is made: the processes of a Ray this
        started are killed instead, and Ray's own exit handler shuts down
        what is left of it in this process when the process exits.
        """
        self._stop.set()
        if self._pump is not None:
            # Once lost, it leaves at its next look (its calls are short).
            self._pump.join(_CALL_TIMEOUT if self._usable() else 2.0)
        if self._usable():
            self._call_live("stop", timeout=10.0)
            for actor in self._actors:
                with contextlib.suppress(Exception):
                    self._ray.kill(actor, no_restart=True)
        watch = self._watch
        if watch is not None:
            watch.close()  # before ray.shutdown: its processes' ends are no loss
            if watch.lost is not None:
                watch.kill_leftovers()
                return
        if self._owns_ray:
            self._ray.shutdown()

    @property
    def actor_handles(self) -> list[Any]:
        """The Ray actor handles (for tests that kill one)."""
        return list(self._actors)

    # -- gathering ----------------------------------------------------------------

    def _call_live(
        self,
        method: str,
        *args: Any,
        timeout: float = _CALL_TIMEOUT,
        skip_reviving: bool = False,
    ) -> dict[int, Any]:
        """Call ``method`` on every live actor; a dead one's answer is the error.

        Nothing is called once Ray is lost (no answers).
        """
        ray = self._ray
        if not self._usable():
            return {}
        refs = {
            i: getattr(a, method).remote(*args)
            for i, a in enumerate(self._actors)
            if self._alive[i] and not (skip_reviving and i in self._reviving)
        }
        answers: dict[int, Any] = {}
        deadline = time.monotonic() + timeout
        for i, ref in refs.items():
            try:
                answers[i] = ray.get(ref, timeout=max(0.0, deadline - time.monotonic()))
            except ray.exceptions.GetTimeoutError as e:
                answers[i] = e
            except ray.exceptions.RayActorError as e:
                answers[i] = e
        return answers

    def _ask_locked(self, i: int) -> None:
        """Have one ``next_batch`` call in flight to actor ``i`` (hold ``_lock``)."""
        busy = i in self._pending.values() or i in self._held
        if self._alive[i] and i not in self._reviving and not busy:
            self._pending[self._actors[i].next_batch.remote(_POLL)] = i

    def _gather(self) -> None:
        try:
            self._gather_batches()
        except Exception as e:
            # Not a silent end: the feed would wait for batches for ever.
            if self._usable() and not self._stop.is_set():
                self._fail(
                    f"gathering the actors' batches failed: {type(e).__name__}: {e}"
                )

    def _gather_batches(self) -> None:
        ray = self._ray
        while not self._stop.is_set() and self._usable():
            with self._lock:
                for i in range(len(self._actors)):
                    self._ask_locked(i)
                refs = list(self._pending)
            if not refs:
                self._stop.wait(_GATHER_WAIT)
                continue
            # Short: a call take_batch() adds meanwhile is waited for next round.
            done, _ = ray.wait(refs, num_returns=1, timeout=_GATHER_WAIT)
            for ref in done:
                with self._lock:
                    i = self._pending.pop(ref)
                if not self._usable():
                    return  # a batch in the object store: ray.get would end the process
                try:
                    incarnation, batch = ray.get(ref)
                except ray.exceptions.RayActorError as e:
                    self._on_death(i, type(e).__name__)
                    continue
                except ray.exceptions.RayTaskError as e:
                    self._fail(f"actor {i} failed: {e.cause if e.cause else e}")
                    continue
                if incarnation != self._incarnations[i]:
                    # Ray restarted the process between two calls: a fresh
                    # actor that has neither weights nor state nor a thread.
                    self._on_death(i, "its process was restarted by Ray")
                    continue
                if batch is not None:
                    with self._lock:
                        self._ready.append(batch)
                        self._held.add(i)
                    self._arrived.set()

    def _on_ray_lost(self, why: str) -> None:
        kept = "the actors' states are those of the last save"
        killed = "; its processes are killed" if self._owns_ray else ""
        self._say(
            "error",
            f"Ray was lost: {why}; stopping in order with a final save ({kept}){killed}",
        )
        self._fail(f"Ray was lost: {why}")

    def _fail(self, message: str) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = message
        self._arrived.set()

    def _say(self, level: str, message: str) -> None:
        if self.notify is not None:
            self.notify(level, message)

    def _on_death(self, i: int, why: str) -> None:
        if not self._usable():
            return  # every actor went with Ray: one error says so, not one per actor
        with self._lock:
            if i in self._reviving or not self._alive[i]:
                return
        self._say("warning", f"actor {i} died: {why}")
        limit = self._config.max_restarts
        if limit != -1 and self._restarts[i] >= limit:
            self._bury(i)
            return
        with self._lock:
            self._reviving.add(i)
        threading.Thread(
            target=self._revive, args=(i,), name=f"ray-revive-{i}", daemon=True
        ).start()

    def _bury(self, i: int) -> None:
        with self._lock:
            self._alive[i] = False
            self._reviving.discard(i)
            left = sum(self._alive)
        self._say("error", f"actor {i} is gone (no restarts left); {left} left")
        if left == 0:
            self._fail("every actor died")

    def _wait_for_restart(self, actor: Any) -> str:
        """Return the restarted actor's incarnation; raise if it is gone for good."""
        ray = self._ray
        deadline = time.monotonic() + _RESTART_TIMEOUT
        while True:
            try:
                return ray.get(actor.ready.remote(), timeout=_CALL_TIMEOUT)
            except ray.exceptions.ActorDiedError:
                raise
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                # Unavailable while Ray restarts its process: ask again.
                if time.monotonic() > deadline or self._stop.is_set():
                    raise
                if not self._usable():
                    raise RayLostError(str(self.lost)) from None
                self._stop.wait(_POLL)

    def _revive(self, i: int) -> None:
        """Wait for Ray's restart, then give the actor its weights and state."""
        ray = self._ray
        actor = self._actors[i]
        try:
            incarnation = self._wait_for_restart(actor)
            if not self._usable():
                return  # a state as big as the store's threshold would be put there
            state = self._states[i]
            if state:
                ray.get(actor.load_state.remote(state), timeout=_CALL_TIMEOUT)
            with self._lock:
                latest = list(self._latest.items())
            ray.get(
                [actor.set_weights.remote(p, m, [ref]) for m, (p, ref) in latest],
                timeout=_CALL_TIMEOUT,
            )
            if self._paused:
                ray.get(actor.pause.remote(0.0), timeout=_CALL_TIMEOUT)
            ray.get(actor.start.remote(), timeout=_CALL_TIMEOUT)
        except Exception as e:
            if not self._usable():
                return  # Ray's loss is reported once, not as each actor's
            self._say("warning", f"actor {i} did not come back: {type(e).__name__}")
            self._bury(i)
            return
        with self._lock:
            self._incarnations[i] = incarnation
            self._restarts[i] += 1
            self._reviving.discard(i)
        self._say("info", f"actor {i} restarted (restart {self._restarts[i]})")
