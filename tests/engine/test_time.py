"""The scaled, pausable clock."""

from __future__ import annotations

import time as real

import pytest

from engine.time import TimeController


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


def test_invalid_scale_is_rejected() -> None:
    with pytest.raises(ValueError, match="time_scale must be > 0"):
        TimeController().set_time_scale(0)


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
