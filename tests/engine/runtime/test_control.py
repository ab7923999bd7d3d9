"""The control state machine with real worker threads."""

from __future__ import annotations

import sys
import threading

import pytest

from engine.runtime.control import (
    Controller,
    PauseTimeoutError,
    ShutdownRequested,
    SystemState,
    SystemStoppedError,
    pause_point,
)
from engine.telemetry.events import EventBus, SystemStateChanged
from engine.time import TimeController

WAIT = 10.0


class LoopingWorker(threading.Thread):
    """Counts loop iterations, calling the module-level pause_point() each time."""

    def __init__(self, controller: Controller, name: str) -> None:
        super().__init__(daemon=True)
        self.handle = controller.register(
            name, on_paused=self._paused, on_resumed=self._resumed
        )
        self.iterations = 0
        self.pauses = 0
        self.resumes = 0
        self.stopped = threading.Event()
        self.looping = threading.Event()

    def _paused(self) -> None:
        self.pauses += 1

    def _resumed(self) -> None:
        self.resumes += 1

    def run(self) -> None:
        self.handle.bind()
        try:
            while True:
                pause_point()
                self.iterations += 1
                self.looping.set()
        except ShutdownRequested:
            self.stopped.set()
        finally:
            self.handle.exit()


@pytest.fixture
def controller() -> Controller:
    return Controller(TimeController(), EventBus())


def start_workers(controller: Controller, n: int = 2) -> list[LoopingWorker]:
    workers = [LoopingWorker(controller, f"w{i}") for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        assert w.looping.wait(WAIT)
    return workers


def test_pause_returns_with_every_worker_parked(controller: Controller) -> None:
    workers = start_workers(controller)
    controller.pause(WAIT)
    assert controller.state is SystemState.PAUSED
    counts = [w.iterations for w in workers]
    for w in workers:
        w.looping.clear()
    assert not any(w.looping.wait(0.05) for w in workers)
    assert [w.iterations for w in workers] == counts
    assert all(w.pauses == 1 for w in workers)
    controller.resume()
    assert controller.state is SystemState.ACTIVE
    assert all(w.looping.wait(WAIT) for w in workers)
    assert all(w.resumes == 1 for w in workers)
    controller.shutdown()
    assert all(w.stopped.wait(WAIT) for w in workers)


def test_rapid_pause_resume_never_misses_a_request(controller: Controller) -> None:
    sys.setswitchinterval(0.0005)  # as the engine runs; the fixture restores it
    workers = start_workers(controller, 3)
    for _ in range(100):
        controller.pause(WAIT)
        assert controller.state is SystemState.PAUSED
        controller.resume()
    assert all(w.pauses == 100 and w.resumes == 100 for w in workers)
    controller.shutdown()
    assert all(w.stopped.wait(WAIT) for w in workers)


def test_shutdown_releases_paused_workers(controller: Controller) -> None:
    workers = start_workers(controller)
    controller.pause(WAIT)
    controller.shutdown()
    assert all(w.stopped.wait(WAIT) for w in workers)
    with pytest.raises(SystemStoppedError):
        controller.pause(WAIT)


def test_pause_timeout_reports_the_late_worker(controller: Controller) -> None:
    late = controller.register("training")
    with pytest.raises(PauseTimeoutError) as info:
        controller.pause(0.05)
    assert info.value.waiting_for == ["training"]
    assert controller.state is SystemState.PAUSING
    controller.resume()
    assert controller.state is SystemState.ACTIVE
    late.exit()


def test_the_clock_pauses_with_the_system() -> None:
    clock = TimeController()
    controller = Controller(clock, EventBus())
    workers = start_workers(controller, 1)
    controller.pause(WAIT)
    assert clock.is_paused()
    controller.resume()
    assert not clock.is_paused()
    controller.shutdown()
    assert workers[0].stopped.wait(WAIT)


def test_state_changes_are_published() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    controller = Controller(TimeController(), bus)
    controller.pause(WAIT)  # no workers: pauses at once
    controller.resume()
    controller.shutdown()
    states = [e.state for e in sub.drain() if isinstance(e, SystemStateChanged)]
    assert states == ["pausing", "paused", "resuming", "active", "stopping"]


def test_pause_point_off_a_worker_thread_does_nothing(controller: Controller) -> None:
    controller.shutdown()
    pause_point()  # the test thread is no worker: no ShutdownRequested


def test_state_events_are_published_outside_the_state_lock() -> None:
    # A callback (the console's post_message) may hand work to a thread that
    # asks the controller something; that must not wait for the transition.
    events = EventBus()
    controller = Controller(TimeController(), events)
    answered: list[bool] = []

    def on_event(event: object) -> None:
        if not isinstance(event, SystemStateChanged):
            return
        asker = threading.Thread(
            target=lambda: answered.append(
                controller.wait_for_state(lambda s: True, timeout=WAIT)
            )
        )
        asker.start()
        asker.join(2.0)
        answered.append(not asker.is_alive())

    events.add_callback(on_event)
    workers = start_workers(controller, 2)
    controller.pause(WAIT)
    controller.resume()
    controller.shutdown()
    assert all(w.stopped.wait(WAIT) for w in workers)
    assert answered and all(answered), answered


def test_state_events_arrive_in_the_order_of_the_transitions(
    controller: Controller,
) -> None:
    sub = controller._events.subscribe(maxsize=10_000)
    workers = start_workers(controller, 3)
    for _ in range(50):
        controller.pause(WAIT)
        controller.resume()
    controller.shutdown()
    assert all(w.stopped.wait(WAIT) for w in workers)
    controller.mark_stopped()
    states = [e.state for e in sub.drain() if isinstance(e, SystemStateChanged)]
    assert states == ["pausing", "paused", "resuming", "active"] * 50 + [
        "stopping",
        "stopped",
    ]
