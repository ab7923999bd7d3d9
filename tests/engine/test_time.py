"""The scaled, pausable clock."""

from __future__ import annotations

import threading
import time as real
from pathlib import Path

import pytest
from typing_extensions import override

from engine import LaunchConfig, SystemState
from engine import time as engine_time
from engine.time import TimeController
from tests.engine.tiny import make_system
from trainers import Trainer

WAIT = 10.0


def test_scale_multiplies_elapsed_time() -> None:
    clock = TimeController()
    clock.set_time_scale(100.0)
    start, real_start = clock.perf_counter(), real.perf_counter()
    real.sleep(0.01)
    elapsed, real_elapsed = (
        clock.perf_counter() - start,
        real.perf_counter() - real_start,
    )
    assert elapsed == pytest.approx(real_elapsed * 100.0, rel=0.05)


def test_pause_freezes_every_clock_and_resume_continues_without_a_jump() -> None:
    clock = TimeController()
    clock.pause()
    frozen = (clock.time(), clock.perf_counter(), clock.monotonic())
    real.sleep(0.01)
    assert (clock.time(), clock.perf_counter(), clock.monotonic()) == frozen
    clock.resume()
    assert clock.perf_counter() - frozen[1] < 0.005


@pytest.mark.parametrize("scale", [0, -1.0, float("inf"), float("nan")])
def test_invalid_scale_is_rejected(scale: float) -> None:
    clock = TimeController()
    with pytest.raises(ValueError, match="time_scale must be finite and > 0"):
        clock.set_time_scale(scale)
    assert clock.get_time_scale() == 1.0


def test_an_invalid_scale_is_caught_where_pamiq_programs_catch_it() -> None:
    # PAMIQ-Core asserts on the scale: code that catches AssertionError keeps working.
    with pytest.raises(AssertionError):
        TimeController().set_time_scale(0)
    with pytest.raises(AssertionError, match="LaunchConfig.time_scale"):
        LaunchConfig(time_scale=-2.0)


def test_sleep_is_in_scaled_time() -> None:
    clock = TimeController()
    clock.set_time_scale(50.0)
    start = real.perf_counter()
    clock.sleep(0.5)  # 10 ms of real time
    assert real.perf_counter() - start < 0.25


def test_state_round_trip_continues_the_scaled_clocks(tmp_path) -> None:
    clock = TimeController()
    clock.set_time_scale(3.0)
    clock.save_state(tmp_path / "time")
    saved = clock.state_dict()
    other = TimeController()
    other.load_state(tmp_path / "time")
    assert other.get_time_scale() == 3.0
    assert other.perf_counter() == pytest.approx(saved["perf_counter"], abs=0.05)
    assert other.time() == pytest.approx(saved["time"], abs=0.05)


def test_malformed_state_is_refused(tmp_path) -> None:
    (tmp_path / "time.json").write_text('{"time": 1}')
    with pytest.raises(ValueError, match="lacks"):
        TimeController().load_state(tmp_path / "time")


def test_a_sleep_off_the_worker_threads_returns_at_once_while_paused() -> None:
    # As in PAMIQ-Core: paused engine time does not pass, so there is nothing to wait for.
    clock = TimeController()
    clock.pause()
    start = real.perf_counter()
    clock.sleep(30.0)
    assert real.perf_counter() - start < 1.0


def test_a_pause_during_a_plain_threads_sleep_does_not_hold_it() -> None:
    clock = TimeController()
    started, done = threading.Event(), threading.Event()

    def sleeper() -> None:
        started.set()
        clock.sleep(0.2)
        done.set()

    thread = threading.Thread(target=sleeper, daemon=True)
    thread.start()
    assert started.wait(WAIT)
    clock.pause()
    assert done.wait(WAIT), "the sleep waited for the pause to end"
    assert clock.is_paused()
    thread.join(WAIT)


class SleepingTrainer(Trainer):
    def __init__(self) -> None:
        super().__init__()
        self.inside, self.woke = threading.Event(), threading.Event()

    @override
    def train(self) -> None:
        self.inside.set()
        engine_time.sleep(30.0)
        self.woke.set()


def test_a_sleep_on_a_worker_thread_stays_a_pause_point(tmp_path: Path) -> None:
    trainer = SleepingTrainer()
    system, *_ = make_system(tmp_path, trainer=trainer, save_final_state=False)
    system.start()
    try:
        assert trainer.inside.wait(WAIT)
        system.pause(timeout=5.0)  # reaches the trainer inside its 30 s sleep
        assert system.state is SystemState.PAUSED
        assert not trainer.woke.is_set()
        system.resume()
    finally:
        system.shutdown()  # unwinds the sleep instead of waiting it out
        assert system.wait(WAIT)
    assert not trainer.woke.is_set()
