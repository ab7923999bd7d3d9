"""The seed Trainer API, including every code example of the seed documents
(run unchanged except their import lines)."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from typing_extensions import override

from engine import InferenceModel, TrainingModel
from engine.data import DataUsersDict, DictSequentialBuffer, SequentialBuffer
from engine.model import TrainingModelsDict
from tests.engine.tiny import ScaleModel
from trainers import Trainer
from trainers import Trainer as _Trainer

# --- seed examples, verbatim but for imports -----------------------------------------


class MyTrainer(Trainer):
    """Custom trainer that implements a simple learning algorithm."""

    @override
    def train(self) -> None:
        """Implement the training logic.

        This method is called repeatedly by the training thread when
        conditions for training are met.
        """
        # Get the model
        model = self.get_training_model("policy_model")

        # Training logic
        for _ in range(10):  # 10 optimization steps
            # ... implement training algorithm
            pass

        # Model parameters will be automatically synchronized after training


class DaytimeTrainer(MyTrainer):
    @override
    def is_trainable(self) -> bool:
        """Determine if training should be executed.

        Returns:
            True if training should proceed, False otherwise
        """
        # Check parent condition first
        if not super().is_trainable():
            return False

        # Add custom condition - only train during daytime
        current_hour = datetime.now().hour
        return 8 <= current_hour <= 20


class AccessTrainer(MyTrainer):
    @override
    def on_training_models_attached(self) -> None:
        """Called when training models are attached to the trainer."""
        # Store references to models for convenient access
        self.policy_model = self.get_training_model("policy")
        self.value_model = self.get_training_model("value")

    @override
    def on_data_users_attached(self) -> None:
        """Called when data users are attached to the trainer."""
        # Store references to data users for convenient access
        self.experience_data = self.get_data_user("experience")

    @override
    def train(self) -> None:
        """Train models using collected experience data."""
        # Update to get latest data
        self.experience_data.update()

        # Access the data
        data = self.experience_data.get_data()
        states = data["state"]
        actions = data["action"]
        rewards = data["reward"]

        # Use the data to train models
        # ...
        self.seen = (states, actions, rewards)


class SomeOptimizer:
    def __init__(self, params: object) -> None:
        self.params = params


class LifecycleTrainer(AccessTrainer):
    @override
    def setup(self) -> None:
        """Called before training starts.

        Use this to initialize resources needed for training.
        """
        super().setup()  # Always call the parent method

        # Initialize training resources
        self.optimizer = SomeOptimizer(self.policy_model.parameters())
        self.batch_size = 64

    @override
    def teardown(self) -> None:
        """Called after training finishes.

        Use this to clean up resources after training.
        """
        super().teardown()  # Always call the parent method

        # Clean up resources
        self.optimizer = None

    @override
    def on_paused(self) -> None:
        """Called when the system is paused."""
        super().on_paused()  # Always call the parent method

        # Pause external connections or resources
        if hasattr(self, "external_service"):
            self.external_service.pause()

    @override
    def on_resumed(self) -> None:
        """Called when the system is resumed."""
        super().on_resumed()  # Always call the parent method

        # Resume external connections or resources
        if hasattr(self, "external_service"):
            self.external_service.resume()


class MyInferenceModel(InferenceModel):
    """A simple custom inference model."""

    def __init__(self, weights: list[float]):
        self.weights = weights

    @override
    def infer(self, features: list[float]) -> float:
        """Make a prediction using the model.

        Args:
            features: Input features for inference

        Returns:
            Prediction result
        """
        return sum(w * x for w, x in zip(self.weights, features))


class MyTrainingModel(TrainingModel[MyInferenceModel]):
    """A simple custom training model."""

    def __init__(self):
        super().__init__(has_inference_model=True, inference_thread_only=False)
        self.weights = [0.5, 0.3, -0.2]

    @override
    def _create_inference_model(self) -> MyInferenceModel:
        """Create a new inference model instance.

        Returns:
            A new inference model with current weights
        """
        return MyInferenceModel(self.weights.copy)

    @override
    def forward(self, features: list[float]) -> float:
        """Forward pass for training.

        Args:
            features: Input features

        Returns:
            Output of the model
        """
        return sum(w * x for w, x in zip(self.weights, features))

    @override
    def sync_impl(self, inference_model: MyInferenceModel) -> None:
        """Synchronize parameters from training model to inference model.

        Args:
            inference_model: Inference model to update
        """
        inference_model.weights = self.weights.copy()


# --- tests ---------------------------------------------------------------------------


class ParamModel(ScaleModel):
    def parameters(self) -> list[float]:
        return [self.weight]


def wire(
    trainer: Trainer, models: dict, buffers: dict
) -> tuple[TrainingModelsDict, DataUsersDict]:
    model_dict = TrainingModelsDict(models)
    users = DataUsersDict.from_data_buffers(buffers)
    trainer.attach_training_models(model_dict)
    trainer.attach_data_users(users)
    return model_dict, users


def test_seed_trainer_conditions_gate_run() -> None:
    trainer = MyTrainer(
        training_condition_data_user="experience",
        min_buffer_size=1000,
        min_new_data_count=100,
    )
    _, users = wire(
        trainer, {"policy_model": ScaleModel()}, {"experience": SequentialBuffer(2000)}
    )
    collector = users["experience"].collector
    for i in range(999):
        collector.collect(i)
    assert not trainer.run()
    assert "999/1000" in trainer.trainability_report().reason
    collector.collect(999)
    assert trainer.run()
    assert not trainer.run(), "no new data since the last run"
    for i in range(99):
        collector.collect(i)
    report = trainer.trainability_report()
    assert (report.new_data, report.min_new_data_count, report.trainable) == (
        99,
        100,
        False,
    )
    collector.collect(0)
    assert trainer.trainability_report().trainable
    assert trainer.run()


def test_trainability_report_has_no_side_effects() -> None:
    trainer = MyTrainer("experience", min_buffer_size=1, min_new_data_count=1)
    _, users = wire(
        trainer, {"policy_model": ScaleModel()}, {"experience": SequentialBuffer(10)}
    )
    users["experience"].collector.collect(1)
    for _ in range(3):
        assert trainer.trainability_report().trainable
    assert users["experience"].collector.pending == 1
    assert trainer.run()


def test_new_data_is_never_counted_before_it_reaches_the_buffer() -> None:
    n = 30_000
    trainer = MyTrainer("experience", min_buffer_size=0, min_new_data_count=1)
    _, users = wire(
        trainer, {"policy_model": ScaleModel()}, {"experience": SequentialBuffer(n)}
    )
    user = users["experience"]
    done = threading.Event()

    def produce() -> None:
        for i in range(n):
            user.collector.collect(i)
        done.set()

    threading.Thread(target=produce).start()
    checks = 0
    while not done.is_set() or trainer.trainability_report().new_data:
        if trainer.is_trainable():
            checks += 1
            # Every item counted as used is in the buffer, in order, none skipped.
            assert len(user) >= trainer._consumed_seq
    assert trainer._consumed_seq == n == len(user)
    assert user.get_data() == list(range(n))
    assert checks >= 1


class ArrivalsDuringTrainTrainer(Trainer):
    """Items arrive after its check and before its own read (a free-running agent)."""

    def __init__(self, arrivals: int) -> None:
        super().__init__("experience", min_buffer_size=500, min_new_data_count=200)
        self.arrivals = arrivals
        self.newest_seen: list[int] = []

    @override
    def train(self) -> None:
        user = self.get_data_user("experience")
        start = user.collected_total
        for i in range(self.arrivals):
            user.collector.collect(start + i)
        self.newest_seen.append(max(user.get_data()))


def test_data_read_by_a_run_is_not_new_for_the_next() -> None:
    trainer = ArrivalsDuringTrainTrainer(arrivals=300)
    _, users = wire(
        trainer, {"policy_model": ScaleModel()}, {"experience": SequentialBuffer(2000)}
    )
    collector = users["experience"].collector
    for i in range(500):
        collector.collect(i)
    assert trainer.run()
    assert trainer.newest_seen == [799]
    # Nothing arrived after the newest item that run saw: nothing is new.
    report = trainer.trainability_report()
    assert (report.new_data, report.trainable) == (0, False)
    assert not trainer.run(), "trained again on data the previous run had seen"
    for i in range(199):
        collector.collect(800 + i)
    assert trainer.trainability_report().new_data == 199
    assert not trainer.run()
    collector.collect(999)
    assert trainer.trainability_report().trainable
    assert trainer.run()


def test_with_a_free_running_agent_each_run_gets_its_own_new_data(
    tmp_path: Path,
) -> None:
    from engine import Agent, Environment, Interaction, LaunchConfig, System

    class Counter(Environment[int, int]):
        def __init__(self) -> None:
            self.n = 0

        @override
        def observe(self) -> int:
            self.n += 1
            return self.n

        @override
        def affect(self, action: int) -> None:
            pass

    class Collect(Agent[int, int]):
        @override
        def on_data_collectors_attached(self) -> None:
            self.collector = self.get_data_collector("experience")

        @override
        def step(self, observation: int) -> int:
            self.collector.collect(observation)
            return 0

    class Recording(Trainer):
        """Reads the buffer at the start and after more data arrived."""

        def __init__(self) -> None:
            super().__init__("experience", min_buffer_size=500, min_new_data_count=200)
            self.runs: list[tuple[int, int]] = []
            self.enough = threading.Event()

        @override
        def train(self) -> None:
            user = self.get_data_user("experience")
            first = max(user.get_data())
            deadline = time.monotonic() + 10
            while user.collected_total < first + 300:  # the agent keeps collecting
                assert time.monotonic() < deadline, "the agent stopped collecting"
                self.pause_point()
            self.runs.append((first, max(user.get_data())))
            if len(self.runs) >= 4:
                self.enough.set()

    trainer = Recording()
    system = System(
        Interaction(Collect(), Counter()),
        {},
        {"experience": SequentialBuffer(2000)},
        {"t": trainer},
        LaunchConfig(states_dir=tmp_path, save_final_state=False),
    )
    system.start()
    try:
        assert trainer.enough.wait(30)
    finally:
        system.shutdown()
        assert system.wait(30)
    for (_, newest_before), (first_next, _) in itertools.pairwise(trainer.runs):
        assert first_next - newest_before >= 200, trainer.runs


def test_custom_is_trainable_example_runs() -> None:
    trainer = DaytimeTrainer()
    wire(trainer, {"policy_model": ScaleModel()}, {})
    assert trainer.run() == (8 <= datetime.now().hour <= 20)


def test_callbacks_examples_access_models_and_data() -> None:
    trainer = LifecycleTrainer("experience", min_buffer_size=1)
    _, users = wire(
        trainer,
        {"policy": ParamModel(), "value": ScaleModel()},
        {"experience": DictSequentialBuffer(["state", "action", "reward"], 10)},
    )
    users["experience"].collector.collect({"state": 1, "action": 0, "reward": 1.0})
    assert trainer.run()
    assert trainer.seen == ([1], [0], [1.0])
    assert trainer.optimizer is None and trainer.batch_size == 64
    trainer.on_paused()
    trainer.on_resumed()


def test_only_retrieved_models_are_synced() -> None:
    class UsesA(_Trainer):
        def on_training_models_attached(self) -> None:
            self.a = self.get_training_model("a")

        def train(self) -> None:
            self.a.weight += 1

    a, b = ScaleModel(), ScaleModel()
    trainer = UsesA()
    wire(trainer, {"a": a, "b": b}, {})
    assert trainer.run()
    assert (a.sync_version, b.sync_version) == (1, 0)
    assert a.inference_model.weight == 1


def test_teardown_runs_even_when_train_raises() -> None:
    class Fails(_Trainer):
        torn_down = False

        def train(self) -> None:
            raise RuntimeError("x")

        def teardown(self) -> None:
            self.torn_down = True

    trainer = Fails()
    wire(trainer, {}, {})
    with pytest.raises(RuntimeError):
        trainer.run()
    assert trainer.torn_down


def test_missing_names_are_reported_with_what_exists() -> None:
    trainer = MyTrainer("experiance")
    with pytest.raises(
        KeyError, match="'experiance' is not a buffer .known: experience"
    ):
        wire(trainer, {}, {"experience": SequentialBuffer(3)})
    trainer = MyTrainer()
    wire(trainer, {"policy": ScaleModel()}, {})
    with pytest.raises(KeyError, match="'policy_model' not found .known: policy"):
        trainer.run()


def test_state_persists_previous_training_time_and_counters(tmp_path: Path) -> None:
    trainer = MyTrainer("experience", min_new_data_count=2)
    _, users = wire(
        trainer, {"policy_model": ScaleModel()}, {"experience": SequentialBuffer(10)}
    )
    users["experience"].collector.collect(1)
    users["experience"].collector.collect(2)
    assert trainer.run()
    trainer.save_state(tmp_path / "t")
    assert float((tmp_path / "t" / "previous_training_time").read_text()) > 0
    other = MyTrainer("experience", min_new_data_count=2)
    wire(other, {"policy_model": ScaleModel()}, {"experience": SequentialBuffer(10)})
    other.load_state(tmp_path / "t")
    assert other._previous_training_time == trainer._previous_training_time
    assert other._consumed_seq == 2


def test_seed_model_example_syncs_weights() -> None:
    model = MyTrainingModel()
    model.weights = [1.0, 1.0, 1.0]
    model.sync()
    assert model.inference_model([1.0, 2.0, 3.0]) == 6.0
    assert model([1.0, 0.0, 0.0]) == 1.0


def test_metrics_are_kept_and_forwarded() -> None:
    trainer = MyTrainer()
    sent = []
    trainer.bind_metrics("mine", lambda *args: sent.append(args))
    trainer.report_metrics({"loss": 0.5})
    trainer.report_metrics({"loss": 0.25}, step=10)
    assert trainer.last_metrics == {"loss": 0.25}
    assert sent == [("mine", "loss", 0.5, 1), ("mine", "loss", 0.25, 10)]
    assert trainer.name == "mine"
