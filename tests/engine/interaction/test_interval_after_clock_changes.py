"""A fixed-interval agent keeps its interval across loads, pauses and scale changes.

Loading a state sets the engine clock back to the time saved in it, by as much
as the state is old. A schedule made on the clock before the load must not be
waited out on the clock after it (issue 23: the agent froze for as long as the
loaded state was old, while the system said ACTIVE).
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typing_extensions import override

from engine import FixedIntervalInteraction, LaunchConfig, System, time
from engine.data import SequentialBuffer
from engine.interaction import SleepIntervalAdjustor
from tests.engine.tiny import (
    CollectingAgent,
    CounterEnv,
    NudgeTrainer,
    ScaleModel,
    tamper,
)

INTERVAL = 0.02  # 50 Hz
STEPS = 5  # steps (100 ms at the interval) that must follow each change...
WINDOW = 2.0  # ...within this many seconds
WAIT = 10.0


class CountingAgent(CollectingAgent):
    """Counts its steps; tests wait for counts on a condition."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0
        self._cond = threading.Condition()

    @override
    def step(self, observation: int) -> float:
        with self._cond:
            self.steps += 1
            self._cond.notify_all()
        return super().step(observation)

    def wait_steps(self, n: int, timeout: float) -> bool:
        """Wait for ``n`` steps after now; return whether they came in time."""
        with self._cond:
            target = self.steps + n
            return self._cond.wait_for(lambda: self.steps >= target, timeout)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[System, CountingAgent]]:
    agent = CountingAgent()
    system = System(
        FixedIntervalInteraction.with_sleep_adjustor(agent, CounterEnv(), INTERVAL),
        {"scale": ScaleModel()},
        {"obs": SequentialBuffer(1000)},
        {"nudge": NudgeTrainer()},
        LaunchConfig(
            states_dir=tmp_path / "states",
            durable_saves=False,
            save_final_state=False,
            console=False,
        ),
    )
    system.start()
    try:
        assert agent.wait_steps(STEPS, WAIT), "the agent did not start stepping"
        yield system, agent
    finally:
        system.shutdown()
        assert system.wait(WAIT), "system did not stop"


def aged_copy(state: Path, age: float, where: Path) -> Path:
    """A copy of ``state`` whose clock reads ``age`` engine seconds earlier."""
    copy = where / f"aged-{age:g}s.state"
    shutil.copytree(state, copy)
    clock = json.loads((state / "time.json").read_text())
    for key in ("time", "perf_counter", "monotonic"):
        clock[key] -= age
    tamper(copy, {"time.json": json.dumps(clock).encode()})
    return copy


def assert_steps_at_interval(agent: CountingAgent, after: str) -> None:
    assert agent.wait_steps(STEPS, WINDOW), (
        f"the agent made fewer than {STEPS} steps in {WINDOW} s after {after} "
        f"(interval {INTERVAL} s)"
    )


@pytest.mark.parametrize("age", [3.0, 20.0, 60.0])
def test_the_agent_keeps_its_interval_after_loading_an_old_state(
    running: tuple[System, CountingAgent], tmp_path: Path, age: float
) -> None:
    system, agent = running
    state = aged_copy(system.save_state(), age, tmp_path)
    # Loads at several moments of the tick: nearly all land in the adjustor's
    # sleep (the step takes microseconds), at different points of it.
    for phase in (0.0, 0.25, 0.5, 0.75, 0.9, 0.0):
        assert agent.wait_steps(1, WAIT)
        threading.Event().wait(phase * INTERVAL)  # where in the tick to load
        system.load_state(state)
        assert_steps_at_interval(agent, f"loading a state {age:g} s old")
    assert system.state.value == "active"


def test_resuming_after_a_load_during_a_long_pause_keeps_the_interval(
    running: tuple[System, CountingAgent], tmp_path: Path
) -> None:
    system, agent = running
    state = aged_copy(system.save_state(), 30.0, tmp_path)
    assert agent.wait_steps(1, WAIT)
    system.pause()
    system.load_state(state)
    threading.Event().wait(1.0)  # a long pause: real time passes, engine time not
    system.resume()
    assert_steps_at_interval(agent, "resuming after a load")


def test_resuming_after_a_long_pause_keeps_the_interval(
    running: tuple[System, CountingAgent],
) -> None:
    system, agent = running
    for _ in range(3):
        assert agent.wait_steps(1, WAIT)
        system.pause()
        threading.Event().wait(1.0)  # a long pause: real time passes, engine time not
        system.resume()
        assert_steps_at_interval(agent, "resuming")


def test_a_faster_time_scale_takes_effect_from_the_next_tick(
    running: tuple[System, CountingAgent],
) -> None:
    system, agent = running
    system.clock.set_time_scale(0.01)  # a tick every 2 s of real time
    assert agent.wait_steps(1, WAIT)
    # The agent has just started a 2 s sleep; at scale 1 it is due in 20 ms.
    system.clock.set_time_scale(1.0)
    assert agent.wait_steps(STEPS, 1.0), "the agent slept on at the old time scale"


def test_a_clock_set_back_during_the_sleep_restarts_the_schedule() -> None:
    # The adjustor on a plain thread, the clock set back under it while it sleeps
    # (what a load does, without the system's pause around it).
    adjustor = SleepIntervalAdjustor(INTERVAL)
    adjustor.reset()
    ticks = 0
    cond = threading.Condition()
    stop = threading.Event()

    def loop() -> None:
        nonlocal ticks
        while not stop.is_set():
            adjustor.adjust()
            with cond:
                ticks += 1
                cond.notify_all()
        adjustor.finish()

    def wait_ticks(n: int, timeout: float) -> bool:
        with cond:
            target = ticks + n
            return cond.wait_for(lambda: ticks >= target, timeout)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        clock = time.get_global_time_controller()
        for phase in (0.1, 0.5, 0.9):
            assert wait_ticks(1, WAIT)
            threading.Event().wait(phase * INTERVAL)
            state = clock.state_dict()
            for key in ("time", "perf_counter", "monotonic"):
                state[key] -= 30.0
            clock.load_state_dict(state)
            assert wait_ticks(STEPS, WINDOW), (
                "the adjustor slept toward a stale deadline"
            )
    finally:
        stop.set()
        thread.join(WAIT)
    assert not thread.is_alive()


def test_a_pause_in_the_final_stage_leaves_the_usual_switch_interval(
    tmp_path: Path,
) -> None:
    agent = CountingAgent()
    interaction = FixedIntervalInteraction.with_sleep_adjustor(
        agent, CounterEnv(), INTERVAL
    )
    adjustor = interaction.adjustor
    assert isinstance(adjustor, SleepIntervalAdjustor)
    adjustor.final_stage = INTERVAL  # every wait is all final stage
    system = System(
        interaction,
        {"scale": ScaleModel()},
        {"obs": SequentialBuffer(1000)},
        {"nudge": NudgeTrainer()},
        LaunchConfig(
            states_dir=tmp_path / "states",
            durable_saves=False,
            save_final_state=False,
            console=False,
            gil_switch_interval=0.0005,
        ),
    )
    system.start()
    try:
        for _ in range(5):
            assert agent.wait_steps(1, WAIT)
            system.pause()
            assert sys.getswitchinterval() == pytest.approx(0.0005)
            system.resume()
        assert_steps_at_interval(agent, "pauses in the final stage")
    finally:
        system.shutdown()
        assert system.wait(WAIT)
