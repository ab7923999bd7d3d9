"""The inference and training threads."""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Mapping
from typing import Any

from typing_extensions import override

from ..data import DataUsersDict
from ..interaction import Interaction
from ..telemetry.events import EventBus, TrainabilityChanged, TrainingRunFinished
from ..telemetry.status import TrainerStatus
from ..thread.supervision import FailureHandler, report
from .control import Controller, ShutdownRequested
from .library_threads import adopt_library_thread_settings
from .settings import AGENT, NO_QUEUE, Settings
from .trainer_contract import TrainerHooks, TrainersDict, trainer_hooks


class InferenceWorker(threading.Thread):
    """Runs ``interaction.step()`` back to back; nothing else happens on this thread.

    The loop checks two booleans per step (a pause or stop asked for, a
    setting of the agent's waiting); pausing, stopping and the clock's
    interruptible sleep do the rest.
    """

    def __init__(
        self,
        interaction: Interaction[Any, Any],
        controller: Controller,
        on_failure: FailureHandler,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(name="inference", daemon=True)
        self._interaction = interaction
        self._controller = controller
        self._on_failure = on_failure
        self.steps = 0
        # The agent's settings change here, between two steps.
        self._settings = NO_QUEUE if settings is None else settings.queue_or_none(AGENT)
        self._worker = controller.register(
            "inference",
            on_paused=interaction.on_paused,
            on_resumed=interaction.on_resumed,
        )

    @override
    def run(self) -> None:
        """Thread body: everything, its first line included, reports its failures."""
        worker = self._worker
        controller = self._controller
        interaction = self._interaction
        settings = self._settings
        try:
            worker.bind()
            adopt_library_thread_settings()
            interaction.setup()
            step = interaction.step
            while True:
                if controller.attention:
                    worker.pause_point()
                if settings.pending:
                    settings.apply()
                step()
                self.steps += 1
        except ShutdownRequested:
            pass
        except BaseException as e:
            report(self._on_failure, "inference", e)
        finally:
            try:
                # Teardown runs as plain code: its sleeps must not act as pause points.
                worker.unbind()
                interaction.teardown()
            except BaseException as e:
                report(self._on_failure, "inference", e)
            finally:
                # Without this the controller would wait for a thread that is gone.
                worker.exit()


class TrainerRecord:
    """What the training thread remembers about one trainer, and its hooks."""

    def __init__(self, hooks: TrainerHooks) -> None:
        self.hooks = hooks
        # An unpredictable condition is polled, so the console says so.
        self.custom_condition = not hooks.predictable
        self.runs = 0
        self.last_duration: float | None = None
        self.last_trainable: bool | None = None

    def status(self) -> TrainerStatus:
        """The trainer's condition, run count and latest metrics, now."""
        return TrainerStatus(
            condition=self.hooks.report(),
            runs=self.runs,
            last_duration=self.last_duration,
            last_metrics=dict(self.hooks.last_metrics()),
            custom_condition=self.custom_condition,
        )


class TrainingWorker(threading.Thread):
    """Runs trainers round-robin; waits for data instead of polling when none can train.

    Args:
        trainers: The trainers, in run order.
        hooks: Each trainer's hooks (:func:`trainer_hooks`); looked up here if
            not given.
        data_users: Their data users (collectors wake this thread when a trainer's
            data condition can have become true).
        controller: The control state machine.
        events: Where run and trainability events go.
        on_failure: Called with (thread, exception, traceback) when a trainer raises.
        poll_interval: Longest wait while some trainer overrides ``is_trainable``
            (its condition cannot be predicted, so it is re-checked this often).
        idle_timeout: Longest wait otherwise (a safety net; wake-ups are event driven).
        settings: The run's settings: each trainer's are applied just before
            its next ``run()``.
    """

    def __init__(
        self,
        trainers: TrainersDict,
        data_users: DataUsersDict,
        controller: Controller,
        events: EventBus,
        on_failure: FailureHandler,
        poll_interval: float = 0.5,
        idle_timeout: float = 5.0,
        hooks: dict[str, TrainerHooks] | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(name="training", daemon=True)
        self._trainers = trainers
        self._data_users = data_users
        self._controller = controller
        self._events = events
        self._on_failure = on_failure
        self._wake = threading.Event()
        if hooks is None:
            hooks = {name: trainer_hooks(name, t) for name, t in trainers.items()}
        self.records = {name: TrainerRecord(hooks[name]) for name in trainers}
        self._custom = any(r.custom_condition for r in self.records.values())
        self._timeout = poll_interval if self._custom else idle_timeout
        for user in data_users.values():
            user.collector.set_wake(self._wake.set)
        self._settings = {
            name: NO_QUEUE if settings is None else settings.queue_or_none(name)
            for name in trainers
        }
        for queue in self._settings.values():
            if queue is not NO_QUEUE:
                # A change is applied (and said) at once, not when data comes.
                queue.wake = self._wake.set
        self._worker = controller.register(
            "training",
            on_paused=trainers.on_paused,
            on_resumed=trainers.on_resumed,
            wake=self._wake.set,
        )

    def run_counts(self) -> dict[str, int]:
        """How many runs each trainer has finished, by name (loaded counts included)."""
        return {name: record.runs for name, record in self.records.items()}

    def restore_run_counts(self, counts: Mapping[str, int]) -> None:
        """Continue each trainer's run count from a saved state's ``counts``.

        A trainer the state does not name keeps its count; a name that is no
        trainer of this worker is ignored (the run no longer has it).

        Raises:
            ValueError: If a count is not a non-negative integer (nothing is changed).
        """
        for name, count in counts.items():
            if type(count) is not int or count < 0:
                raise ValueError(f"impossible run count {count!r} of trainer {name!r}")
        for name, count in counts.items():
            record = self.records.get(name)
            if record is not None:
                record.runs = count

    @override
    def run(self) -> None:
        """Thread body: everything, its first line included, reports its failures."""
        worker = self._worker
        current = "training"
        try:
            worker.bind()
            adopt_library_thread_settings()
            while True:
                worker.pause_point()
                trained = False
                for name, trainer in self._trainers.items():
                    worker.pause_point()
                    current = name
                    settings = self._settings[name]
                    if settings.pending:
                        settings.apply()
                    start = _time.perf_counter()
                    ran = trainer.run()
                    if ran:
                        trained = True
                        self._finished(name, _time.perf_counter() - start)
                    self._note_trainability(name, ran)
                current = "training"
                if not trained:
                    self._wait_for_work()
        except ShutdownRequested:
            pass
        except BaseException as e:
            where = (
                "training"
                if current == "training"
                else f"training (trainer '{current}')"
            )
            report(self._on_failure, where, e)
        finally:
            worker.exit()

    def _finished(self, name: str, duration: float) -> None:
        record = self.records[name]
        record.runs += 1
        record.last_duration = duration
        self._events.publish(
            TrainingRunFinished(trainer=name, run=record.runs, duration=duration)
        )

    def _note_trainability(self, name: str, ran: bool) -> None:
        record = self.records[name]
        if ran:
            trainable, reason = True, ""
        else:
            report = record.hooks.report()
            trainable = False
            reason = report.reason or "is_trainable() returned False"
        if record.last_trainable is not trainable:
            record.last_trainable = trainable
            self._events.publish(
                TrainabilityChanged(trainer=name, trainable=trainable, reason=reason)
            )

    def _wait_for_work(self) -> None:
        self._wake.clear()
        if self._controller.attention:
            return
        for record in self.records.values():
            target = record.hooks.wake_target()
            if target is not None:
                user_name, at_seq = target
                if self._data_users[user_name].collector.request_wake(at_seq):
                    return
        for record in self.records.values():
            # Trainers that wait for complete episodes name the count they need.
            target = record.hooks.episode_wake_target()
            if target is not None:
                user_name, at_episode = target
                collector = self._data_users[user_name].collector
                if collector.request_episode_wake(at_episode):
                    return
        self._wake.wait(self._timeout)
