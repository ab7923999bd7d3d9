"""A running system: components wired to an inference thread, a training thread and control.

``System`` is the handle the console and tests use (start, pause, save, load,
status, events, shutdown); :func:`engine.launch` is the blocking PAMIQ-Core
style entry point built on it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import sys
import threading
import time as _time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from typing_extensions import override

from . import time
from .data import DataBuffer, DataUsersDict
from .interaction import Interaction
from .launch_config import LaunchConfig
from .model import TrainingModel, TrainingModelsDict
from .runtime.control import (
    Controller,
    PauseTimeoutError,
    SystemState,
    SystemStoppedError,
)
from .runtime.control_loop import ControlLoop
from .runtime.guards import Guards, GuardSettings, GuardTripped
from .runtime.settings import Settings
from .runtime.signals import UNLESS_HANDLED, stop_on_signals
from .runtime.trainer_contract import TrainerLike, TrainersDict, trainer_hooks
from .runtime.workers import InferenceWorker, TrainingWorker
from .services.run_services import RunServices, program_run_name
from .state.catalogue import LATEST, NoUsableStateError
from .state.loading import UNCHANGED, install_state, prepare_state
from .state.manifest import StateNotFoundError, manifest_notes
from .state.persistence import Commit, PersistentStateMixin, StateError
from .state.store import StateStore, WrittenState
from .telemetry.events import (
    ErrorOccurred,
    EventBus,
    LogMessage,
    Metric,
    ModelSynced,
    StateLoaded,
    StateRemoved,
    StateSaved,
)
from .telemetry.log_forwarding import forward_to_logging
from .telemetry.status import STEPS_OF_ACTORS, SystemStatus
from .telemetry.status_report import (
    ActorsSource,
    StepRate,
    buffer_statuses,
    model_statuses,
)
from .thread.supervision import report_failures


class SystemFailedError(RuntimeError):
    """A worker thread raised; the system stopped (after its final save)."""


@dataclasses.dataclass(frozen=True)
class _RunCounters:
    """What a run counts, saved with every state so a resumed or loaded run goes on.

    Attributes:
        steps: Interaction steps taken.
        uptime: Engine seconds run (pauses excluded).
        trainer_runs: Runs each trainer has finished, by name.
        model_versions: Each training model's sync version, by name.
    """

    steps: int
    uptime: float
    trainer_runs: Mapping[str, int]
    model_versions: Mapping[str, int]


class _SystemCounters(PersistentStateMixin):
    """Saves the run's counters so a resumed or loaded run continues its numbers.

    Steps and uptime, each trainer's run count and each model's sync version
    live here, in ``system.json``, rather than beside the trainers and models:
    those directories hold what the components write themselves, in
    PAMIQ-Core's layout. States from before the counts were saved leave them
    as they are.

    Args:
        read: The counters now.
        restore: Continues counting from a loaded state's counters.
    """

    def __init__(
        self,
        read: Callable[[], _RunCounters],
        restore: Callable[[_RunCounters], None],
    ) -> None:
        self._read = read
        self._restore = restore

    @override
    def save_state(self, path: Path) -> None:
        counters = self._read()
        path.with_suffix(".json").write_text(
            json.dumps(
                {
                    "steps": counters.steps,
                    "uptime": counters.uptime,
                    "trainer_runs": dict(counters.trainer_runs),
                    "model_versions": dict(counters.model_versions),
                }
            )
        )

    @override
    def load_state(self, path: Path) -> None:
        self.prepare_load(path)()

    @override
    def prepare_load(self, path: Path) -> Commit:
        # Two steps, like the clock's (installed after it): counts a run
        # cannot have are refused before the running system is touched.
        data = json.loads(path.with_suffix(".json").read_text())
        if not isinstance(data, dict):
            raise ValueError("counters are not a JSON object")
        steps, uptime = data.get("steps"), data.get("uptime")
        # JSON's numbers only: bool is an int to isinstance.
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"impossible 'steps' ({steps!r})")
        if (
            isinstance(uptime, bool)
            or not isinstance(uptime, int | float)
            or not (0 <= uptime < math.inf)
        ):
            raise ValueError(f"impossible 'uptime' ({uptime!r})")
        counters = _RunCounters(
            steps=steps,
            uptime=float(uptime),
            trainer_runs=_counts(data, "trainer_runs"),
            model_versions=_counts(data, "model_versions"),
        )
        return lambda: self._restore(counters)


def _counts(data: dict[str, Any], key: str) -> dict[str, int]:
    """The non-negative integer counts under ``key`` (a malformed entry is an error)."""
    counts = data.get(key, {})
    if not isinstance(counts, dict) or not all(
        isinstance(k, str) and type(v) is int and v >= 0 for k, v in counts.items()
    ):
        raise ValueError(f"malformed {key!r}")
    return counts


class System:
    """Wires components together and runs them.

    Args:
        interaction: The agent-environment loop (inference thread).
        models: Training models by name; their inference models go to the agent.
        buffers: Data buffers by name; collectors go to the agent, users to trainers.
        trainers: Trainers by name, run round-robin on the training thread.
        config: Launch settings (a :class:`LaunchConfig` or a mapping of its fields).

    Attributes:
        services: The run directory, control socket, learning curves and
            metrics the console reads (None with ``LaunchConfig(console=False)``).
    """

    def __init__(
        self,
        interaction: Interaction[Any, Any],
        models: Mapping[str, TrainingModel[Any]],
        buffers: Mapping[str, DataBuffer[Any, Any]],
        trainers: Mapping[str, TrainerLike],
        config: Mapping[str, Any] | LaunchConfig | None = None,
    ) -> None:
        config = LaunchConfig.from_value(config)
        name_given = config.name is not None
        if not name_given:
            config = dataclasses.replace(config, name=program_run_name())
        self.config = config
        self.events = EventBus()
        self._stop_logging = forward_to_logging(self.events)
        self.clock = time.get_global_time_controller()
        self.controller = Controller(self.clock, self.events)
        self.interaction = interaction
        self.models = TrainingModelsDict(models)
        self.data_users = DataUsersDict.from_data_buffers(buffers)
        self.trainers = TrainersDict(trainers)
        # Checked before anything is attached: a trainer that lacks a method
        # fails here, naming itself, instead of on the training thread.
        hooks = {name: trainer_hooks(name, t) for name, t in self.trainers.items()}

        interaction.agent.attach_inference_models(self.models.inference_models_dict)
        interaction.agent.attach_data_collectors(self.data_users.data_collectors_dict)
        self.trainers.attach_training_models(self.models)
        self.trainers.attach_data_users(self.data_users)
        interaction.agent.bind_metrics("agent", self._publish_metric)
        for name, trainer_hook in hooks.items():
            if trainer_hook.bind_metrics is not None:
                trainer_hook.bind_metrics(name, self._publish_metric)
        for name, model in self.models.data.items():
            model.add_sync_listener(self._sync_listener(name))
        self.settings = Settings(self.events.publish, lambda: self.steps)
        """What an operator may change while it runs (see :mod:`engine.tunables`)."""
        self.settings.declare_agent(interaction.agent)
        for name, trainer in self.trainers.items():
            self.settings.declare_trainer(name, trainer)

        self.store = StateStore(
            # Absolute: clients in other directories read the paths it reports.
            Path(self.config.states_dir).absolute(),
            self.config.state_name_format,
            max_keep=self.config.max_keep_states,
            durable=self.config.durable_saves,
        )
        self.store.register("interaction", interaction)
        self.store.register("models", self.models)
        self.store.register("data", self.data_users)
        self.store.register("trainers", self.trainers)
        self.store.register("time", self.clock)
        self.store.register(
            "system", _SystemCounters(self._counters, self._restore_counters)
        )
        self.store.register("settings", self.settings, optional=True)
        self.guards = Guards(
            GuardSettings.from_value(self.config.guards),
            self.events,
            pause=self._pause_for_guard,
            stop=lambda e: self.report_failure("guard", e),
            protect_newest_state=self._protect_newest_state,
            models=self.models.data,
        )
        """Watches for non-finite values, a stalled agent and untrainable trainers."""
        for name, trainer in self.trainers.items():
            bind_guard = getattr(trainer, "bind_guard", None)
            if callable(bind_guard) and self.guards.checks_non_finite:
                bind_guard(functools.partial(self.guards.non_finite_step, name))

        self._actors = interaction if isinstance(interaction, ActorsSource) else None
        self._inference = InferenceWorker(
            interaction, self.controller, self.report_failure, self.settings
        )
        self._training = TrainingWorker(
            self.trainers,
            self.data_users,
            self.controller,
            self.events,
            self.report_failure,
            poll_interval=self.config.trainability_poll_interval,
            hooks=hooks,
            settings=self.settings,
        )
        self._control = threading.Thread(
            target=self._control_thread, name="control", daemon=True
        )
        self._op_lock = threading.RLock()
        self._started = False
        self._failure_lock = threading.Lock()
        self._failures: list[str] = []
        self._failure_exc: BaseException | None = None
        self._base_uptime = 0.0
        self._start_clock: float | None = None
        self._step_offset = 0
        self._last_save: str | None = None
        self._last_save_time: float | None = None
        self._control_loop: ControlLoop | None = None
        self._started_from: str | None = None
        self._step_rate = StepRate()
        self._saved_switch_interval: float | None = None
        # Last: it subscribes to the events (the curves from the first metric).
        self.services = RunServices(self, name_given) if config.console else None

    # -- events -------------------------------------------------------------------

    def _sync_listener(self, name: str) -> Any:
        def listener(model: TrainingModel[Any], duration: float) -> None:
            self.events.publish(
                ModelSynced(model=name, version=model.sync_version, duration=duration)
            )

        return listener

    def _publish_metric(self, source: str, name: str, value: float, step: int) -> None:
        self.events.publish(Metric(source=source, name=name, value=value, step=step))

    def report_failure(self, thread: str, exc: BaseException, tb: str = "") -> None:
        """Record that a thread failed and stop the system in order (final save).

        Every thread of the engine reports here, and so do the threads a
        program runs beside it (the console's metrics writer, dashboard poller
        and control socket): the failure becomes an :class:`ErrorOccurred`
        event and an entry of ``status().errors``, and :meth:`run` raises.

        Args:
            thread: Which thread failed (shown to the operator).
            exc: What it raised.
            tb: Its formatted traceback.
        """
        message = f"{thread} thread failed: {type(exc).__name__}: {exc}"
        if isinstance(exc, GuardTripped):
            message = f"stopped by a guard: {exc}"
        # Not _op_lock: a save holding it may be waiting for this very thread to pause.
        with self._failure_lock:
            self._failures.append(message)
            if self._failure_exc is None:
                self._failure_exc = exc
        self.events.publish(ErrorOccurred(thread=thread, message=message, traceback=tb))
        self.controller.shutdown()

    def detach_logging(self) -> None:
        """Stop forwarding notices and errors to the ``engine`` logger.

        For a program that shows the events itself (the console does), so
        nothing is printed twice or drawn over its screen.
        """
        self._stop_logging()

    def _log(self, message: str, level: str = "info") -> None:
        self.events.publish(LogMessage(level=level, message=message))

    def _pause_for_guard(self) -> None:
        try:
            self.pause()
        except Exception as e:  # a stop or another pause got there first
            self._log(f"guard: could not pause: {type(e).__name__}: {e}", "warning")

    def _protect_newest_state(self) -> str | None:
        """Keep the newest saved state from retention; its name (None: none yet)."""
        newest = self._last_save
        if newest is None:
            return None
        self.store.protect(Path(newest))
        return Path(newest).name

    def _tick(self) -> None:
        """The control thread's twice-a-second look: the step rate, the guards."""
        self.steps_per_second()
        self.guards.watch(
            self.controller.state is SystemState.ACTIVE,
            self.steps,
            {n: r.last_trainable for n, r in self._training.records.items()},
        )

    # -- counters -----------------------------------------------------------------

    @property
    def steps(self) -> int:
        """Interaction steps taken, including those of loaded states."""
        return self._step_offset + self._live_steps()

    def _live_steps(self) -> int:
        # Actors elsewhere: the learner's loop only feeds their batches, so
        # its own count would be batches, not steps.
        if self._actors is not None:
            return self._actors.agent_steps()
        return self._inference.steps

    @property
    def uptime(self) -> float:
        """Engine seconds run (pauses excluded), including those of loaded states."""
        if self._start_clock is None:
            return self._base_uptime
        return self._base_uptime + self.clock.perf_counter() - self._start_clock

    def _counters(self) -> _RunCounters:
        return _RunCounters(
            steps=self.steps,
            uptime=self.uptime,
            trainer_runs=self._training.run_counts(),
            model_versions={
                name: model.sync_version for name, model in self.models.data.items()
            },
        )

    def _restore_counters(self, counters: _RunCounters) -> None:
        self._step_offset = counters.steps - self._live_steps()
        self._base_uptime = counters.uptime
        if self._start_clock is not None:
            self._start_clock = self.clock.perf_counter()
        self._training.restore_run_counts(counters.trainer_runs)
        for name, version in counters.model_versions.items():
            model = self.models.data.get(name)
            if model is not None:
                model.restore_sync_version(version)

    @property
    def name(self) -> str:
        """The run's name."""
        return str(self.config.name)

    def rename(self, name: str) -> None:
        """Give the run another name before it starts (its services do, when
        a live run of the same program already holds the default one)."""
        if self._started:
            raise RuntimeError("a running system keeps its name")
        self.config = dataclasses.replace(self.config, name=name)

    @property
    def state(self) -> SystemState:
        """The control state."""
        return self.controller.state

    @property
    def failures(self) -> list[str]:
        """Messages of worker failures."""
        return list(self._failures)

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        """Load the configured state (if any) and start the threads; returns at once.

        Raises:
            StateError: If the state to load fails verification or loading.
            RuntimeError: If already started.
        """
        if self._started:
            raise RuntimeError("the system was already started")
        services = self.services
        if services is not None:
            services.open()
        try:
            # Held until the final save: no other run writes this states directory.
            self.store.open()
            # What the store repaired (an identity a crash left unreadable)
            # reaches every watcher, not only the engine.state logger.
            for notice in self.store.notices:
                self._log(notice, "warning")
            try:
                self._load_initial_state()
            except BaseException:
                self.store.close()
                raise
        except BaseException:
            if services is not None:
                services.close(exit_code=2)  # refused: nothing ran
            raise
        if self.config.gil_switch_interval is not None:
            self._saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(self.config.gil_switch_interval)
        self._started = True
        self._start_clock = self.clock.perf_counter()
        self._inference.start()
        self._training.start()
        self._control.start()
        self._log(f"started {self.config.name} (states in {self.store.states_dir})")
        if services is not None:
            try:
                services.serve()
            except BaseException as e:
                # Started but unreachable: stop in order (final save), then say why.
                self.report_failure("console", e)
                self.wait()
                raise

    def _load_initial_state(self) -> None:
        self.clock.set_time_scale(self.config.time_scale)
        self.clock.resume()
        self.store.remove_stale_temporaries()
        wanted = self.config.saved_state_path
        if wanted is not None and str(wanted) != LATEST:
            self._load_state(Path(wanted), starting=True)
            self._started_from = str(Path(wanted))
        elif wanted is not None or self.config.resume:
            self._resume(required=wanted is not None)

    def _resume(self, required: bool) -> None:
        """Load the newest state that verifies and loads, passing over each that does not.

        Args:
            required: Fail if there is no state (``latest``), instead of
                starting fresh (``resume``).
        """

        def skipped(path: Path, problem: str) -> None:
            problem = problem.replace(f"{path}{os.sep}", "")
            self._log(f"skipping {path.name}: {problem}", "warning")

        def load(path: Path) -> None:
            self._load_state(path, starting=True)

        try:
            with self._op_lock:
                loaded = self.store.newest_verified(skipped, load=load)
        except NoUsableStateError as e:
            # Resuming from nothing would silently throw the run's history away.
            raise NoUsableStateError(
                f"cannot resume: {e}", f"cannot resume: {e.summary}", e.skipped
            ) from None
        if loaded is None:
            if required:
                raise StateNotFoundError(f"no saved state in {self.store.states_dir}")
            self._log(f"no saved state in {self.store.states_dir}; starting fresh")
            return
        self._started_from = str(loaded)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the system has stopped; return whether it did within ``timeout``."""
        return self.controller.wait_for_state(
            lambda s: s is SystemState.STOPPED, timeout
        )

    def run(self) -> None:
        """Start, block until stopped, and raise if a thread failed.

        Ctrl-C, SIGTERM and SIGHUP (a closed terminal) stop it in order, with
        a final save; a SIGTERM or SIGHUP handler the program set is left alone.

        Raises:
            SystemFailedError: If a worker thread raised.
        """
        with stop_on_signals(self.shutdown, UNLESS_HANDLED, only_unhandled=True):
            self.start()
            try:
                while not self.wait(timeout=None):
                    pass
            except KeyboardInterrupt:
                self.shutdown("keyboard interrupt")
                self.wait()
        if self._failure_exc is not None:
            raise SystemFailedError("; ".join(self._failures)) from self._failure_exc

    def shutdown(self, reason: str = "requested") -> None:
        """Ask the system to stop; returns at once (use :meth:`wait`).

        Args:
            reason: Why, for the event log ("stopping: <reason>").
        """
        if not self._started:
            self.controller.shutdown()
            self.controller.mark_stopped()
            return
        if not self.controller.state.is_stopping:
            self._log(f"stopping: {reason}")
        self.controller.shutdown()

    def pause(self, timeout: float | None = None) -> None:
        """Pause every thread and the clock; return once paused.

        Raises:
            PauseTimeoutError: If a thread did not reach a pause point in time.
            SystemStoppedError: If the system is stopping or stopped.
        """
        self.controller.pause(
            self.config.timeout_for_all_threads_pause if timeout is None else timeout
        )
        self._log("paused")

    def resume(self) -> None:
        """Resume a paused system."""
        self.controller.resume()
        self._log("resumed")

    def set_setting(self, name: str, value: object) -> dict[str, Any]:
        """Change a tunable setting from its owner's next step (see :mod:`engine.tunables`).

        Args:
            name: The setting (``trainers.dqn.lr``, ``agent.epsilon``).
            value: Its new value: of its type (text as typed is read), within its bounds.

        Returns:
            ``name``, ``old`` (the value now), ``new`` and ``owner``.

        Raises:
            TunableError: One line naming the setting and what it takes.
            SystemStoppedError: If the system is stopping or stopped.
        """
        state = self.controller.state
        if state.is_stopping:
            raise SystemStoppedError(f"cannot set {name}: the system is {state}")
        return self.settings.request(name, value)

    # -- state --------------------------------------------------------------------

    @contextmanager
    def _held_still(self, what: str) -> Iterator[None]:
        """Keep the system paused while ``what`` runs (no-op before start)."""
        if not self._started:
            yield
            return
        if self.controller.state.is_stopping:
            raise SystemStoppedError(
                f"cannot {what}: the system is {self.controller.state}"
            )
        attempts = max(1, self.config.max_attempts_to_pause_all_threads)
        with ExitStack() as stack:
            for attempt in range(attempts):
                try:
                    stack.enter_context(
                        self.controller.hold(self.config.timeout_for_all_threads_pause)
                    )
                    break
                except PauseTimeoutError as e:
                    if attempt == attempts - 1:
                        raise StateError(f"cannot {what}: {e}") from None
            yield

    def save_state(self) -> Path:
        """Save a state; the system is paused only while components write it.

        Checksums, fsync and the final rename happen after it resumes.

        Returns:
            The new state directory.

        Raises:
            StateError: If pausing or writing failed (no partial state is left).
            SystemStoppedError: If the system is stopping or stopped.
        """
        return self.save_state_report()[0]

    def save_state_report(self) -> tuple[Path, list[Path]]:
        """:meth:`save_state`, also returning the old states retention deleted after it.

        Each deletion is published as a :class:`~engine.telemetry.events.StateRemoved` event too.

        Raises:
            StateError: If pausing or writing failed (no partial state is left).
            SystemStoppedError: If the system is stopping or stopped.
        """
        return self._save(hold=True)

    def _save(self, hold: bool) -> tuple[Path, list[Path]]:
        """Write a state, announce it, then apply retention: every save goes here.

        Args:
            hold: Keep the system paused while components write (False only
                for the final save, when the workers have exited).
        """
        with self._op_lock:
            made_room = self._make_room()
            written = self.store.write(
                self._manifest_meta,
                still=lambda: (
                    self._held_still("save the state") if hold else nullcontext()
                ),
            )
            self._last_save = str(written.path)
            self._last_save_time = _time.time()
            self.events.publish(
                StateSaved(
                    path=str(written.path),
                    duration=written.duration,
                    paused_for=written.paused_for if hold else 0.0,
                )
            )
            return written.path, made_room + self._apply_retention(written)

    def _make_room(self) -> list[Path]:
        """Delete ahead what retention would delete after the save, if the disk
        is short of room for it; warn if it may not fit all the same."""
        removed: list[Path] = []
        reason = (
            f"keep_last {self.store.max_keep}: deleted before the save to make room "
            "for it (retention would delete it after)"
        )

        def on_removed(old: Path) -> None:
            removed.append(old)
            self.events.publish(StateRemoved(path=str(old), reason=reason))

        try:
            warning = self.store.make_room(on_removed)
        except Exception as e:
            warning = f"making room for the save failed: {type(e).__name__}: {e}"
        if warning:
            self._log(warning, "warning")
        return removed

    def _manifest_meta(self) -> dict[str, Any]:
        return {
            "name": self.config.name,
            "uptime": self.uptime,
            "steps": self.steps,
            "time_scale": self.clock.get_time_scale(),
        }

    def _apply_retention(self, written: WrittenState) -> list[Path]:
        removed: list[Path] = []
        reason = (
            f"keep_last {self.store.max_keep}: older than the newest "
            f"{self.store.max_keep} of this states directory's own states"
        )

        def on_removed(old: Path) -> None:
            removed.append(old)
            self.events.publish(StateRemoved(path=str(old), reason=reason))

        # The state is published; trouble pruning old ones must not undo that.
        try:
            self.store.apply_retention(keep=written.path, on_removed=on_removed)
            keeper = self.config.states_keeper
            if keeper is not None:
                keeper.append(written.path)
                keeper.cleanup()
        except Exception as e:
            self.events.publish(
                ErrorOccurred(
                    thread="control", message=f"removing old states failed: {e}"
                )
            )
        return removed

    def load_state(self, path: str | Path) -> None:
        """Verify a state, then apply it; on any failure the system is left as it was.

        Components that can load in two steps (the built-in buffers and torch
        models) are read while the system keeps running; the system is held
        only to back up and load the rest and to install what was read (see
        :mod:`engine.state.loading`).

        Raises:
            StateError: Naming the file or component that failed.
            SystemStoppedError: If the system is stopping or stopped.
        """
        path = Path(path)
        try:
            self._load_state(path)
        except StateError as e:
            # Logged here so that every watcher sees it, whoever asked for the load.
            self._log(f"load refused: {e}", "warning")
            raise

    def newest_verified_state(self) -> Path | None:
        """The newest saved state that verifies (None if there are none).

        Runs between saves and loads, so retention cannot delete a state while
        it is being checked; each newer state that fails is logged.

        Raises:
            StateError: If states exist but none verifies.
        """

        def skipped(path: Path, problem: str) -> None:
            self._log(f"skipping {path.name}: {problem}", "warning")

        with self._op_lock:
            return self.store.newest_verified(skipped)

    def _load_state(self, path: Path, starting: bool = False) -> None:
        if starting:
            try:
                self._load_state(path)
            except StateError as e:
                # Nothing runs yet, so there is no running system to speak of.
                message = str(e).removesuffix(f" ({UNCHANGED})")
                if message == str(e):
                    raise
                raise StateError(message) from e
            return
        with self._op_lock:
            if self.controller.state.is_stopping:
                # Before reading what may be gigabytes (the hold would refuse anyway).
                raise SystemStoppedError(
                    f"cannot load a state: the system is {self.controller.state}"
                )
            manifest = self.store.verify(path)
            for note in manifest_notes(path, manifest):
                self._log(note)
            prepared = prepare_state(self.store, path)
            with self._held_still("load a state"):
                # The run's own time scale wins over the one the state was saved with.
                time_scale = self.clock.get_time_scale()
                try:
                    install_state(self.store, prepared)
                finally:
                    self.clock.set_time_scale(time_scale)
                # Before the hold ends: the agent's next step uses the loaded weights.
                try:
                    self.models.sync_all()
                except Exception as e:
                    raise StateError(
                        f"{path}: the state is loaded, but publishing the loaded "
                        f"weights to the agent failed: {type(e).__name__}: {e}"
                    ) from e
            self.events.publish(StateLoaded(path=str(path)))

    # -- control thread ------------------------------------------------------------

    def _control_thread(self) -> None:
        loop = self._control_loop = ControlLoop(
            self.controller,
            self.clock,
            save_interval=self.config.save_state_interval,
            save_condition=self.config.save_state_condition,
            max_uptime=self.config.max_uptime,
            session_uptime=self._session_uptime,
            save=self._periodic_save,
            sample_rate=self._tick,
            log=self._log,
        )
        try:
            with report_failures(self.report_failure, "control"):
                loop.run()
        finally:
            self._finish()

    def _session_uptime(self) -> float:
        if self._start_clock is None:
            return 0.0
        return self.clock.perf_counter() - self._start_clock

    def _periodic_save(self) -> None:
        try:
            self.save_state()
        except (StateError, SystemStoppedError) as e:
            self.events.publish(
                ErrorOccurred(thread="control", message=f"periodic save failed: {e}")
            )

    def _finish(self) -> None:
        self._inference.join()
        self._training.join()
        # The workers have exited: what was set since their last step counts.
        self.settings.apply_all()
        try:
            if self.config.save_final_state and self.guards.parameters_bad:
                self._log(
                    "no final save: a model's parameters are not finite "
                    f"(the newest state before that: {self._last_save or 'none'})",
                    "warning",
                )
            elif self.config.save_final_state:
                # The workers have exited: nothing to hold still.
                self._save(hold=False)
        except Exception as e:
            message = f"final save failed: {type(e).__name__}: {e}"
            with self._failure_lock:
                self._failures.append(message)
            self.events.publish(ErrorOccurred(thread="control", message=message))
        finally:
            # A stopped system's uptime stands still (status is read after the stop).
            self._base_uptime = self.uptime
            self._start_clock = None
            self.store.close()
            self.guards.close()
            if self._saved_switch_interval is not None:
                sys.setswitchinterval(self._saved_switch_interval)
            self._close_services()
            self.controller.mark_stopped()

    def _close_services(self) -> None:
        # Before STOPPED: whoever waits for the stop finds run.json final.
        if self.services is None:
            return
        try:
            self.services.close(exit_code=1 if self._failures else 0)
        except Exception as e:
            self.events.publish(
                ErrorOccurred(
                    thread="control",
                    message=f"closing the run's console failed: {type(e).__name__}: {e}",
                )
            )

    # -- status ---------------------------------------------------------------------

    def steps_per_second(self) -> float:
        """Step rate over roughly the last two seconds of real time."""
        return self._step_rate.sample(
            self.steps, self.controller.state is SystemState.ACTIVE
        )

    def status(self) -> SystemStatus:
        """An immutable snapshot of the whole system (safe from any thread)."""
        return SystemStatus(
            name=self.name,
            state=self.controller.state.value,
            uptime=self.uptime,
            time_scale=self.clock.get_time_scale(),
            steps=self.steps,
            steps_per_second=self.steps_per_second(),
            wall_time=_time.time(),
            buffers=buffer_statuses(self.data_users),
            trainers={
                name: record.status() for name, record in self._training.records.items()
            },
            models=model_statuses(self.models),
            errors=tuple(self._failures),
            alerts=self.guards.alerts,
            last_save=self._last_save,
            last_save_time=self._last_save_time,
            next_save_time=(
                None
                if self._control_loop is None
                else self._control_loop.next_save_time()
            ),
            started_from=self._started_from,
            telemetry_dropped=(
                0 if self.services is None else self.services.telemetry_dropped
            ),
            **self._actors_status(),
        )

    def _actors_status(self) -> dict[str, Any]:
        if self._actors is None:
            return {}
        return {
            "actors": self._actors.actor_statuses(),
            "step_source": STEPS_OF_ACTORS,
            "policy_version": self._actors.publication,
        }
