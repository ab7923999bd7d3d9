"""A program written against PAMIQ-Core's public API runs after changing its imports."""

from __future__ import annotations

import threading
from pathlib import Path

from typing_extensions import override

# In PAMIQ-Core these were: from pamiq_core import ...; from pamiq_core.data.impls import ...
from engine import (
    Agent,
    DataUser,
    Environment,
    FixedIntervalInteraction,
    InferenceModel,
    Interaction,
    LaunchConfig,
    System,
    TrainingModel,
    launch,
    time,
)
from engine.data.impls import DictSequentialBuffer
from engine.telemetry.events import Metric
from engine.utils.schedulers import StepIntervalScheduler
from tests.engine.tiny import newest_state
from trainers import Trainer


class Policy(InferenceModel):
    def __init__(self, bias: float) -> None:
        self.bias = bias

    @override
    def infer(self, observation: float) -> float:
        return observation + self.bias


class PolicyModel(TrainingModel[Policy]):
    def __init__(self) -> None:
        super().__init__()
        self.bias = 0.0

    @override
    def _create_inference_model(self) -> Policy:
        return Policy(self.bias)

    @override
    def forward(self, observation: float) -> float:
        return observation + self.bias

    @override
    def sync_impl(self, inference_model: Policy) -> None:
        inference_model.bias = self.bias


class MyAgent(Agent[float, float]):
    @override
    def on_inference_models_attached(self) -> None:
        self.policy = self.get_inference_model("policy")

    @override
    def on_data_collectors_attached(self) -> None:
        self.collector = self.get_data_collector("experience")

    @override
    def step(self, observation: float) -> float:
        action = self.policy(observation)
        self.collector.collect({"observation": observation, "action": action})
        return action


class MyEnvironment(Environment[float, float]):
    def __init__(self) -> None:
        self.value = 0.0

    @override
    def observe(self) -> float:
        return self.value

    @override
    def affect(self, action: float) -> None:
        self.value = action * 0.5


class MyTrainer(Trainer):
    @override
    def on_training_models_attached(self) -> None:
        self.model = self.get_training_model("policy")

    @override
    def on_data_users_attached(self) -> None:
        self.experience: DataUser[dict[str, list[float]]] = self.get_data_user(
            "experience"
        )

    @override
    def train(self) -> None:
        data = self.experience.get_data()
        self.model.bias = 1.0 + 0.0 * len(data["action"])


def test_pamiq_style_program_runs(tmp_path: Path) -> None:
    launch(
        interaction=FixedIntervalInteraction.with_sleep_adjustor(
            MyAgent(), MyEnvironment(), interval=0.001
        ),
        models={"policy": PolicyModel()},
        buffers={
            "experience": DictSequentialBuffer(["observation", "action"], max_size=100)
        },
        trainers={
            "policy": MyTrainer(
                training_condition_data_user="experience",
                min_buffer_size=10,
                min_new_data_count=10,
            )
        },
        config=LaunchConfig(
            states_dir=tmp_path / "states",
            max_uptime=0.3,
            web_api_address=None,
            log_tick_time_statistics_interval=60.0,
        ),
    )
    state = newest_state(tmp_path / "states")
    assert state is not None
    assert (state / "trainers" / "policy" / "previous_training_time").exists()


def test_time_module_has_pamiq_core_names() -> None:
    for name in (
        "time",
        "perf_counter",
        "monotonic",
        "sleep",
        "get_time_scale",
        "set_time_scale",
        "is_paused",
        "pause",
        "resume",
        "fixed_time",
        "fixed_perf_counter",
        "fixed_monotonic",
        "fixed_sleep",
        "get_global_time_controller",
        "state_dict",
        "load_state_dict",
    ):
        assert callable(getattr(time, name)), name


class TrackedAgent(Agent[float, float]):
    """As agents of PAMIQ-Core projects are written: their own ``log_metrics(self)``,
    called by a scheduler, next to the engine's ``report_metrics``."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[str, float] = {}
        self.tracked: list[dict[str, float]] = []
        self.scheduler = StepIntervalScheduler(3, self.log_metrics)
        self.enough = threading.Event()

    @override
    def step(self, observation: float) -> float:
        self.metrics["observation"] = observation
        self.scheduler.update()
        return observation

    def log_metrics(self) -> None:
        self.tracked.append(dict(self.metrics))
        self.report_metrics({"tracked": len(self.tracked)})
        if len(self.tracked) >= 2:
            self.enough.set()


class TrackedTrainer(Trainer):
    def __init__(self) -> None:
        super().__init__()
        self.tracked = 0
        self.ran = threading.Event()

    @override
    def train(self) -> None:
        self.log_metrics()
        self.ran.set()

    def log_metrics(self) -> None:
        self.tracked += 1


def test_components_with_their_own_log_metrics_run_and_still_report(
    tmp_path: Path,
) -> None:
    agent, trainer = TrackedAgent(), TrackedTrainer()
    system = System(
        Interaction(agent, MyEnvironment()),
        {},
        {},
        {"tracked": trainer},
        LaunchConfig(states_dir=tmp_path / "states", durable_saves=False),
    )
    sub = system.events.subscribe()
    system.start()
    try:
        assert agent.enough.wait(10.0)
        assert trainer.ran.wait(10.0)
    finally:
        system.shutdown()
        assert system.wait(10.0)
    assert system.failures == []
    assert trainer.tracked >= 1
    # Every call of the agent's own log_metrics reported through the engine
    # (the bounded subscription may have dropped the oldest ones).
    reported = [e for e in sub.drain() if isinstance(e, Metric)]
    assert {(m.source, m.name) for m in reported} == {("agent", "tracked")}
    values = [int(m.value) for m in reported]
    assert values == list(range(values[0], values[0] + len(values)))
    assert values[-1] == len(agent.tracked)


def test_thread_event_mixin_is_where_pamiq_core_has_it() -> None:
    # In PAMIQ-Core: from pamiq_core.thread import ThreadEventMixin
    import engine
    from engine.thread import ThreadEventMixin

    assert ThreadEventMixin is engine.ThreadEventMixin
    assert issubclass(Agent, ThreadEventMixin) and issubclass(Trainer, ThreadEventMixin)
    assert issubclass(Environment, ThreadEventMixin)
