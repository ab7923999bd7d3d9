"""A thread of the engine that fails at any moment of its life is seen and stops the run.

Each engine thread is made to fail at its very first step (where a failure once
went unnoticed and the run hung at 0 steps): the failure must show as an event
and in the status, the system must stop in order with a final save, and
``run()`` must raise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import engine.runtime.workers
import engine.system
from engine import SystemFailedError
from engine.runtime.control_loop import ControlLoop
from engine.state.catalogue import list_states
from engine.telemetry.events import ErrorOccurred
from tests.engine.tiny import make_system


def _fail_on_thread(name: str) -> Callable[[], None]:
    def adopt() -> None:
        if threading.current_thread().name == name:
            raise RuntimeError(f"{name} broke at start")

    return adopt


def _break_control_loop(self: ControlLoop) -> None:
    raise RuntimeError("control broke at start")


@pytest.mark.parametrize("thread", ["inference", "training", "control"])
def test_a_thread_failing_at_start_stops_the_run_in_order(
    thread: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if thread == "control":
        monkeypatch.setattr(ControlLoop, "run", _break_control_loop)
    else:
        monkeypatch.setattr(
            engine.runtime.workers,
            "adopt_library_thread_settings",
            _fail_on_thread(thread),
        )
    system, *_ = make_system(tmp_path)
    events = system.events.subscribe()

    with pytest.raises(SystemFailedError, match=f"{thread} thread failed"):
        system.run()

    errors = [e for e in events.drain() if isinstance(e, ErrorOccurred)]
    assert [e.thread for e in errors] == [thread]
    assert f"{thread} broke at start" in errors[0].message
    assert "RuntimeError" in errors[0].traceback
    assert system.status().errors == (errors[0].message,)
    assert system.status().state == "stopped"
    assert [i for i in list_states(tmp_path / "states") if not i.problem], (
        "no final save"
    )


def test_a_failing_worker_lets_a_waiting_pause_return(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The thread is gone before it could register as paused: a pause must not
    # wait for it (it used to wait its whole timeout, then for the next one).
    monkeypatch.setattr(
        engine.runtime.workers,
        "adopt_library_thread_settings",
        _fail_on_thread("training"),
    )
    system, *_ = make_system(tmp_path)
    system.start()
    assert system.wait(10)
    assert system.failures and "training thread failed" in system.failures[0]


def test_a_failure_handler_that_raises_still_prints_the_failure(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from engine.thread.supervision import SupervisedThread

    def broken_handler(thread: str, exc: BaseException, tb: str) -> None:
        raise OSError("disk gone")

    def body() -> None:
        raise ValueError("the original failure")

    thread = SupervisedThread("writer", body, broken_handler)
    thread.start()
    thread.join(10)
    err = capfd.readouterr().err
    assert "writer thread failed" in err
    assert "the original failure" in err and "disk gone" in err
