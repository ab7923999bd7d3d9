"""The one operations layer: what the socket and the dashboard both call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console import config as config_mod
from engine import System
from engine.services.control_server import ControlHandler
from engine.services.operations import OperationError, describe, local_run


@pytest.fixture
def system(config_file: Callable[..., Path]) -> Iterator[System]:
    built = config_mod.load(config_file())
    built.system.start()
    yield built.system
    built.system.shutdown("test over")
    assert built.system.wait(timeout=30)


def test_operations_change_the_run_and_say_so(system: System) -> None:
    run = local_run(system)
    assert run.pause() == {"state": "paused"}
    assert run.status().state == "paused"
    assert describe("pause", {"state": "paused"}) == ["paused (state: paused)"]
    saved = run.save()
    assert Path(saved["path"]).is_dir() and saved["removed"] == []
    assert [s["name"] for s in run.states()] == [saved["name"]]
    assert run.load("latest")["name"] == saved["name"]
    assert run.resume() == {"state": "active"}


def test_errors_are_one_line_and_the_same_over_the_socket(system: System) -> None:
    run = local_run(system)
    handler = ControlHandler(system, local_run(system).curves)
    try:
        cases = [
            (lambda: run.load("nope.state"), {"op": "load", "state": "nope.state"}),
            (lambda: run.load("latest"), {"op": "load", "state": "latest"}),
            (lambda: run.load("../x"), {"op": "load", "state": "../x"}),
            (lambda: run.pause(-1), {"op": "pause", "timeout": -1}),
        ]
        for call, request in cases:
            with pytest.raises(OperationError) as caught:
                call()
            message = str(caught.value)
            assert "\n" not in message and message
            assert handler.handle(request) == {"ok": False, "error": message}
    finally:
        handler.close()


def test_a_stopped_run_refuses_in_words(system: System) -> None:
    run = local_run(system)
    run.shutdown("test")
    assert run.wait_stopped(timeout=30)
    with pytest.raises(OperationError, match="stop") as caught:
        run.save()
    assert caught.value.op == "save" and not caught.value.logged


def test_an_unexpected_engine_error_is_named_not_raised(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(system, "save_state_report", broken)
    with pytest.raises(OperationError, match=r"^RuntimeError: disk on fire$"):
        local_run(system).save()
