"""Collection limits: collect() waits at a trainer's limit, as a pause point, on engine threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.data import DataUser, SequentialBuffer
from engine.runtime.control import Controller, ShutdownRequested, SystemState
from engine.telemetry.events import EventBus
from engine.time import TimeController

WAIT = 10.0


def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


class Collecting(threading.Thread):
    """An engine worker that collects ``count`` items, then finishes."""

    def __init__(self, controller: Controller, user: DataUser[int], count: int) -> None:
        super().__init__(daemon=True)
        self.handle = controller.register("inference")
        self.collector = user.collector
        self.count = count
        self.finished = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        self.handle.bind()
        try:
            for i in range(self.count):
                self.collector.collect(i)
            self.finished.set()
        except ShutdownRequested:
            self.stopped.set()
        finally:
            self.handle.exit()


@pytest.fixture
def controller() -> Controller:
    return Controller(TimeController(), EventBus())


def waiting_at(user: DataUser[int], total: int) -> Callable[[], bool]:
    return lambda: user.collected_total == total and user.collector.waiting


def test_collect_waits_at_the_limit_until_it_is_raised_or_lifted(
    controller: Controller,
) -> None:
    user = DataUser(SequentialBuffer[int](100))
    user.limit_collection(3)
    worker = Collecting(controller, user, 10)
    worker.start()
    wait_until(waiting_at(user, 3))
    user.limit_collection(7)
    wait_until(waiting_at(user, 7))
    assert user.collection_limit == 7
    user.limit_collection(None)
    assert worker.finished.wait(WAIT)
    assert user.collected_total == 10 and not user.collector.waiting
    user.update()
    assert user.buffer.get_data() == list(range(10))
    controller.shutdown()
    worker.join(WAIT)


def test_a_waiting_collector_serves_pause_and_shutdown(controller: Controller) -> None:
    user = DataUser(SequentialBuffer[int](100))
    user.limit_collection(2)
    worker = Collecting(controller, user, 5)
    worker.start()
    wait_until(waiting_at(user, 2))
    controller.pause(WAIT)
    assert controller.state is SystemState.PAUSED
    user.limit_collection(4)  # raised while paused: nothing moves until resume
    assert user.collected_total == 2
    controller.resume()
    wait_until(waiting_at(user, 4))
    controller.shutdown()
    assert worker.stopped.wait(WAIT)
    worker.join(WAIT)
    assert user.collected_total == 4


def test_plain_code_never_waits_and_a_load_lifts_the_limit(tmp_path: Path) -> None:
    user = DataUser(SequentialBuffer[int](100))
    user.limit_collection(1)
    for i in range(3):
        user.collector.collect(i)  # not an engine thread: no one would resume it
    assert user.collected_total == 3
    user.save_state(tmp_path / "user")
    user.load_state(tmp_path / "user")
    assert user.collection_limit is None
