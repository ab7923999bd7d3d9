"""A change of the clock's scale or reading reaches threads already asleep on it."""

from __future__ import annotations

import threading
import time as real

from engine.time import TimeController

WAIT = 10.0


def sleep_in_thread(clock: TimeController, secs: float) -> threading.Event:
    started, done = threading.Event(), threading.Event()

    def sleeper() -> None:
        started.set()
        clock.sleep(secs)
        done.set()

    threading.Thread(target=sleeper, daemon=True).start()
    assert started.wait(WAIT)
    return done


def test_a_faster_scale_shortens_a_sleep_under_way() -> None:
    clock = TimeController()
    clock.set_time_scale(0.001)
    done = sleep_in_thread(clock, 0.02)  # 20 s of real time at this scale
    real.sleep(0.05)  # let it go to sleep at the slow scale
    start = real.perf_counter()
    clock.set_time_scale(1000.0)
    assert done.wait(WAIT)
    assert real.perf_counter() - start < 1.0, "the sleep went on at the old scale"


def test_a_sleep_across_a_clock_set_keeps_what_was_left_of_it() -> None:
    clock = TimeController()
    done = sleep_in_thread(clock, 0.3)
    state = clock.state_dict()
    for key in ("time", "perf_counter", "monotonic"):
        state[key] -= 100.0
    start = real.perf_counter()
    clock.load_state_dict(state)
    assert not done.wait(0.1), "the set cut the sleep short"
    assert done.wait(WAIT)
    assert real.perf_counter() - start < 1.0, "the sleep waited out the set-back"
