"""Agents, environments, interactions and the fixed-interval schedule."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typing_extensions import override

from engine import Agent, Environment, FixedIntervalInteraction, Interaction, time
from engine.data import DataUsersDict, SequentialBuffer
from engine.interaction import SleepIntervalAdjustor
from engine.model import TrainingModelsDict
from engine.telemetry.events import Metric
from tests.engine.tiny import CounterEnv, ScaleModel, make_system


class FakeClock:
    """Virtual time: sleeping advances it exactly; work costs what a test says."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(time, "sleep", clock.sleep)
    return clock


def test_deadline_schedule_does_not_drift(fake_clock: FakeClock) -> None:
    adjustor = SleepIntervalAdjustor(0.01)
    start = adjustor.reset()
    for i in range(1000):
        fake_clock.now += 0.003 + (0.004 if i % 7 == 0 else 0.0)  # uneven step work
        adjustor.adjust()
    assert fake_clock.now - start == pytest.approx(10.0, abs=1e-9)


def test_a_late_tick_is_caught_up_instead_of_lost(fake_clock: FakeClock) -> None:
    adjustor = SleepIntervalAdjustor(0.01)
    start = adjustor.reset()
    fake_clock.now += 0.025  # one step overran two and a half intervals
    for _ in range(10):
        adjustor.adjust()
    assert fake_clock.now - start == pytest.approx(0.1, abs=1e-9)


def test_falling_far_behind_skips_missed_ticks_but_keeps_the_grid(
    fake_clock: FakeClock,
) -> None:
    adjustor = SleepIntervalAdjustor(0.01, max_lag_intervals=10)
    start = adjustor.reset()
    fake_clock.now += 5.0031  # a long stall, off the grid
    adjustor.adjust()  # runs at once: it is late
    adjustor.adjust()  # no burst of catch-up steps: waits for the next grid tick
    assert fake_clock.now - start == pytest.approx(5.01)


def test_a_clock_set_backwards_restarts_the_schedule(fake_clock: FakeClock) -> None:
    adjustor = SleepIntervalAdjustor(0.01)
    adjustor.reset()
    fake_clock.now -= 50.0  # a state with an earlier clock was loaded
    before = fake_clock.now
    adjustor.adjust()
    assert fake_clock.now - before == pytest.approx(0.01)


def test_offset_shortens_only_the_first_interval(fake_clock: FakeClock) -> None:
    adjustor = SleepIntervalAdjustor(0.01, offset=0.004)
    start = adjustor.reset()
    adjustor.adjust()
    assert fake_clock.now - start == pytest.approx(0.006)
    adjustor.adjust()
    assert fake_clock.now - start == pytest.approx(0.016)


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        SleepIntervalAdjustor(0)


class Echo(Agent[int, int]):
    def __init__(self, agents=None) -> None:
        super().__init__(agents)
        self.events: list[str] = []

    @override
    def step(self, observation: int) -> int:
        return observation * 10

    @override
    def setup(self) -> None:
        super().setup()
        self.events.append("setup")

    @override
    def on_paused(self) -> None:
        super().on_paused()
        self.events.append("paused")

    @override
    def save_state(self, path: Path) -> None:
        super().save_state(path)
        path.mkdir(exist_ok=True)
        (path / "mine.txt").write_text("x")


def test_interaction_steps_observe_decide_affect() -> None:
    env = CounterEnv()
    interaction = Interaction(Echo(), env)
    interaction.step()
    interaction.step()
    assert env.count == 2 and env.last_action == 20


def test_fixed_interval_interaction_with_sleep_adjustor(fake_clock: FakeClock) -> None:
    env = CounterEnv()
    interaction = FixedIntervalInteraction.with_sleep_adjustor(Echo(), env, 0.05)
    interaction.setup()
    start = fake_clock.now
    for _ in range(4):
        interaction.step()
    assert fake_clock.now - start == pytest.approx(0.2)
    assert env.count == 4


def test_fixed_interval_steps_leave_the_gil_switch_interval_as_they_found_it(
    fake_clock: FakeClock,
) -> None:
    # The adjustor lowers it for the last stretch before each tick and the step
    # after it (see SleepIntervalAdjustor); nothing of that outlives the loop.
    before = sys.getswitchinterval()
    interaction = FixedIntervalInteraction.with_sleep_adjustor(
        Echo(), CounterEnv(), 0.05
    )
    interaction.setup()
    for _ in range(3):
        interaction.step()
    interaction.teardown()
    assert sys.getswitchinterval() == before


def test_child_agents_share_models_collectors_events_and_state(tmp_path: Path) -> None:
    class UsesCollector(Echo):
        @override
        def on_data_collectors_attached(self) -> None:
            self.collector = self.get_data_collector("obs")

        @override
        def on_inference_models_attached(self) -> None:
            self.model = self.get_inference_model("scale")

    child = UsesCollector()
    parent = Echo(agents={"child": child})
    models = TrainingModelsDict({"scale": ScaleModel()})
    users = DataUsersDict.from_data_buffers({"obs": SequentialBuffer(3)})
    parent.attach_inference_models(models.inference_models_dict)
    parent.attach_data_collectors(users.data_collectors_dict)
    assert child.collector is users["obs"].collector
    assert child.model is models.inference_models_dict["scale"]
    parent.setup()
    parent.on_paused()
    assert child.events == ["setup", "paused"]
    parent.save_state(tmp_path / "agent")
    assert (tmp_path / "agent" / "child" / "mine.txt").exists()
    parent.load_state(tmp_path / "agent")


def test_missing_model_names_what_exists() -> None:
    agent = Echo()
    agent.attach_inference_models(
        TrainingModelsDict({"scale": ScaleModel()}).inference_models_dict
    )
    with pytest.raises(KeyError, match="'policy' not found .known: scale"):
        agent.get_inference_model("policy")


def test_environment_is_abstract() -> None:
    with pytest.raises(TypeError):
        Environment()  # type: ignore[abstract]


class _Quiet(Agent[int, int]):
    @override
    def step(self, observation: int) -> int:
        return observation


def test_agents_report_metrics_under_their_place_in_the_tree(tmp_path: Path) -> None:
    child = _Quiet()
    parent = _Quiet(agents={"explorer": child})
    parent.report_metrics({"ignored": 1.0})  # not attached to a system: dropped quietly
    received: list[tuple[str, str, float, int]] = []
    parent.bind_metrics("agent", lambda *m: received.append(m))
    parent.report_metrics({"return": 3})
    child.report_metrics({"return": 5.5}, step=100)
    assert received == [
        ("agent", "return", 3.0, 2),
        ("agent.explorer", "return", 5.5, 100),
    ]

    system, agent, *_ = make_system(tmp_path)
    sub = system.events.subscribe()
    agent.report_metrics({"episode_return": 7.0})
    (metric,) = sub.drain()
    assert isinstance(metric, Metric)
    assert (metric.source, metric.name, metric.value, metric.step) == (
        "agent",
        "episode_return",
        7.0,
        1,
    )
