"""The trainer base class (the seed API, PAMIQ-Core's ``Trainer``)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine import time
from engine.data import DataUser, DataUsersDict
from engine.model import TrainingModel, TrainingModelsDict
from engine.runtime.control import pause_point
from engine.state.persistence import PersistentStateMixin
from engine.telemetry.metric_reporting import MetricReporter
from engine.telemetry.trainability import TrainabilityReport
from engine.thread import ThreadEventMixin
from engine.tunables import Tunable


class TrainingInterrupted(Exception):
    """Raised at a trainer's pause point when a state was loaded while it was paused.

    The run in progress computed its gradients on weights that no longer
    exist, so :meth:`Trainer.run` abandons it (teardown still runs) instead
    of applying a stale update to the loaded state.
    """


class Trainer(ABC, MetricReporter, PersistentStateMixin, ThreadEventMixin):
    """Abstract base trainer; :meth:`run` is called repeatedly on the training thread.

    Override :meth:`train` (required) and, as needed, :meth:`on_training_models_attached`,
    :meth:`on_data_users_attached`, :meth:`is_trainable`, :meth:`setup` and
    :meth:`teardown`. Models and data users become available once attached.

    New data is counted by sequence number: it is what was collected after the
    newest item the previous run could see (anything the run's own
    ``get_data()`` moved into the buffer counts as seen), so a run never
    trains again on data that only looked new.

    Args:
        training_condition_data_user: Name of the data user whose size and new
            data decide trainability. If None, the trainer is always trainable.
        min_buffer_size: Items the buffer must hold.
        min_new_data_count: Items that must have arrived since the last training.
    """

    def __init__(
        self,
        training_condition_data_user: str | None = None,
        min_buffer_size: int = 0,
        min_new_data_count: int = 0,
    ) -> None:
        super().__init__()
        if min_buffer_size < 0 or min_new_data_count < 0:
            raise ValueError("min_buffer_size and min_new_data_count must be >= 0")
        self._retrieved_model_names: set[str] = set()
        self._training_condition_data_user = training_condition_data_user
        self._min_buffer_size = min_buffer_size
        self._min_new_data_count = min_new_data_count
        self._previous_training_time = float("-inf")
        self._consumed_seq = 0
        self._training_models: TrainingModelsDict = TrainingModelsDict()
        self._data_users: DataUsersDict = DataUsersDict()
        self._state_generation = 0

    # -- wiring -----------------------------------------------------------------

    def attach_training_models(self, training_models: TrainingModelsDict) -> None:
        """Attach the training models, then call :meth:`on_training_models_attached`."""
        self._training_models = training_models
        self.on_training_models_attached()

    def on_training_models_attached(self) -> None:
        """Override to fetch models with :meth:`get_training_model`."""

    def attach_data_users(self, data_users: DataUsersDict) -> None:
        """Attach the data users, then call :meth:`on_data_users_attached`."""
        if (
            self._training_condition_data_user is not None
            and self._training_condition_data_user not in data_users
        ):
            known = ", ".join(sorted(data_users)) or "none"
            raise KeyError(
                f"trainer {self.name}: training_condition_data_user "
                f"'{self._training_condition_data_user}' is not a buffer (known: {known})"
            )
        self._data_users = data_users
        self.on_data_users_attached()

    def on_data_users_attached(self) -> None:
        """Override to fetch data users with :meth:`get_data_user`."""

    def get_training_model(self, name: str) -> TrainingModel[Any]:
        """Return the training model ``name``; it will be synced after each training.

        Raises:
            KeyError: If there is no such model or it is inference-thread only.
        """
        if name not in self._training_models:
            known = ", ".join(sorted(self._training_models)) or "none"
            raise KeyError(f"training model '{name}' not found (known: {known})")
        model = self._training_models[name]
        self._retrieved_model_names.add(name)
        return model

    def get_data_user(self, name: str) -> DataUser[Any]:
        """Return the data user ``name``.

        Raises:
            KeyError: If there is no such buffer.
        """
        try:
            return self._data_users[name]
        except KeyError:
            known = ", ".join(sorted(self._data_users)) or "none"
            raise KeyError(f"data user '{name}' not found (known: {known})") from None

    # -- trainability -----------------------------------------------------------

    def trainability_report(self) -> TrainabilityReport:
        """Describe the data conditions without changing anything (safe from any thread)."""
        return self._item_condition()

    def _item_condition(self) -> TrainabilityReport:
        """The buffer-size and new-data conditions, as :meth:`trainability_report`
        gives them by default (for subclasses that add conditions of their own)."""
        name = self._training_condition_data_user
        if name is None:
            return TrainabilityReport.unconditional()
        user = self._data_users.get(name)
        if user is None:
            return TrainabilityReport(
                name,
                0,
                self._min_buffer_size,
                0,
                self._min_new_data_count,
                False,
                f"buffer '{name}' is not attached",
            )
        new = user.collected_total - self._consumed_seq
        size = user.size_including_pending()
        reasons = []
        if size < self._min_buffer_size:
            reasons.append(f"buffer '{name}' has {size}/{self._min_buffer_size} items")
        if new < self._min_new_data_count:
            reasons.append(f"{new}/{self._min_new_data_count} new items")
        return TrainabilityReport(
            name,
            size,
            self._min_buffer_size,
            new,
            self._min_new_data_count,
            not reasons,
            "; ".join(reasons),
        )

    def is_trainable(self) -> bool:
        """Return whether to train now; when True, the new data counts as used.

        Without a condition data user the trainer is always trainable.
        """
        name = self._training_condition_data_user
        if name is None:
            return True
        user = self.get_data_user(name)
        user.update()
        trainable = (
            len(user) >= self._min_buffer_size
            and user.visible_total - self._consumed_seq >= self._min_new_data_count
        )
        if trainable:
            self._use_new_data(user)
        return trainable

    def _use_new_data(self, user: DataUser[Any]) -> None:
        """Count what ``user`` shows in its buffer as used: the next run needs data
        collected after it."""
        self._consumed_seq = user.visible_total
        self._previous_training_time = time.time()

    def _mark_data_seen(self) -> None:
        """Count everything the run could read as used (called after :meth:`train`)."""
        name = self._training_condition_data_user
        if name is not None and name in self._data_users:
            self._consumed_seq = max(
                self._consumed_seq, self._data_users[name].visible_total
            )

    def has_predictable_condition(self) -> bool:
        """Whether :meth:`wake_target` says when :meth:`is_trainable` can next hold.

        True unless a subclass overrides ``is_trainable`` without marking the
        override ``@predictable_condition``: the engine then re-checks such a
        condition every ``trainability_poll_interval`` instead of waiting for
        data.
        """
        method = type(self).is_trainable
        return method is Trainer.is_trainable or bool(
            getattr(method, "__predictable_condition__", False)
        )

    def wake_target(self) -> tuple[str, int] | None:
        """The collected-item count at which this trainer may become trainable.

        Returns:
            ``(data user name, item sequence number)``, or None if no number of
            items would make it trainable (the engine then waits for a wake-up).
        """
        return self._item_wake_target()

    def _item_wake_target(self) -> tuple[str, int] | None:
        """The collected-item count at which the conditions of :meth:`_item_condition`
        can hold, as :meth:`wake_target` gives it by default."""
        name = self._training_condition_data_user
        if name is None or name not in self._data_users:
            return None
        user = self._data_users[name]
        total = user.collected_total
        missing_size = max(0, self._min_buffer_size - user.size_including_pending())
        return name, max(
            self._consumed_seq + self._min_new_data_count, total + missing_size
        )

    def episode_wake_target(self) -> tuple[str, int] | None:
        """The complete-episode count at which this trainer may become trainable.

        Returns:
            ``(data user name, episode count)``, or None (the default: the
            condition counts items, see :meth:`wake_target`).
        """
        return None

    # -- lifecycle --------------------------------------------------------------

    def setup(self) -> None:
        """Called before each :meth:`train`."""

    @abstractmethod
    def train(self) -> None:
        """Train the models; called repeatedly. :meth:`sync_models` follows it."""

    def sync_models(self) -> None:
        """Publish the retrieved training models' weights to their inference models."""
        for name in self._retrieved_model_names:
            self._training_models[name].sync()

    def teardown(self) -> None:
        """Called after each :meth:`train` (also when it raised)."""

    def run(self) -> bool:
        """Train once if trainable.

        Returns:
            True if training ran, False if the conditions were not met.
        """
        if not self.is_trainable():
            return False
        self.setup()
        try:
            self.train()
            # Items train() moved into the buffer were seen: they are not new
            # for the next run, even though they arrived after the check.
            self._mark_data_seen()
            self.sync_models()
        except TrainingInterrupted:
            self.on_training_interrupted()
            return False
        finally:
            self.teardown()
        return True

    def on_training_interrupted(self) -> None:
        """Called when a run was abandoned because a state was loaded mid-run.

        Override to drop partial work (accumulated gradients, half-built batches).
        """

    def pause_point(self) -> None:
        """Let the system pause or stop here; call it inside long training loops.

        Raises:
            TrainingInterrupted: If a state was loaded during the pause (the run
                is abandoned by :meth:`run`).
        """
        generation = self._state_generation
        pause_point()
        if self._state_generation != generation:
            raise TrainingInterrupted(
                "a state was loaded while this trainer was paused"
            )

    # -- settings ---------------------------------------------------------------

    def tunables(self) -> dict[str, Tunable]:
        """The settings an operator may change while this trainer runs, by name.

        The system offers each as ``trainers.<name>.<setting>`` and changes it
        on the training thread just before this trainer's next :meth:`run`
        (see :mod:`engine.tunables`). None by default.
        """
        return {}

    # -- metrics ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The name the trainer was registered under (its class name until then)."""
        return self.metric_source

    # -- state ------------------------------------------------------------------

    @override
    def save_state(self, path: Path) -> None:
        """Save the previous training time and the new-data counter under ``path/``."""
        path.mkdir()
        (path / "previous_training_time").write_text(
            str(self._previous_training_time), encoding="utf-8"
        )
        (path / "trainer.json").write_text(
            json.dumps(
                {"consumed_seq": self._consumed_seq, "metric_step": self._metric_step}
            )
        )

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote."""
        self._state_generation += 1
        self._previous_training_time = float(
            (path / "previous_training_time").read_text("utf-8")
        )
        extra = path / "trainer.json"
        if extra.exists():
            meta = json.loads(extra.read_text())
            self._consumed_seq = int(meta["consumed_seq"])
            self._metric_step = int(meta.get("metric_step", 0))
