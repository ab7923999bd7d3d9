"""Tunable settings from the console: ``settings`` and ``set`` against a live run,
the control socket's ops, and the dashboard's tune dialog (``t``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input
from typer.testing import CliRunner

from console import config as config_mod
from console.app import ConsoleApp
from console.cli import ExitCode, app
from console.control_client import ControlClient
from console.remote_run import RemoteRun
from console.widgets.settings_dialog import SettingsDialog
from engine import System
from engine.services.operations import OperationError, local_run
from engine.telemetry.events import Event, SettingChanged
from tests.console.helpers import sync, wait_for

runner = CliRunner()
WAIT = 10.0


def invoke(run: Any, *args: str) -> Any:
    return runner.invoke(app, [*args, "--run", str(run.run_dir.path)])


def changed(system: System, name: str) -> threading.Event:
    """Set once ``name`` has changed (its owner took the value)."""
    done = threading.Event()

    def seen(event: Event) -> None:
        if isinstance(event, SettingChanged) and event.name == name:
            done.set()

    system.events.add_callback(seen)
    return done


def test_settings_lists_each_setting_with_its_type_value_and_bounds(
    live_run: Any,
) -> None:
    result = invoke(live_run, "settings")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "TYPE",
        "VALUE",
        "TAKES",
        "CONFIGURED",
        "WHAT",
        "IT",
        "CHANGES",
    ]
    assert lines[1].split()[:6] == ["agent.epsilon", "float", "0.1", "in", "[0,", "1]"]
    assert lines[2].split()[:4] == [
        "trainers.values.learning_rate",
        "float",
        "0.5",
        "in",
    ]

    listed = json.loads(invoke(live_run, "settings", "--json").stdout)
    assert listed[1] == {
        "name": "trainers.values.learning_rate",
        "type": "float",
        "min": 0.0,
        "max": 1.0,
        "exclusive_min": True,
        "bounds": "in (0, 1]",
        "value": 0.5,
        "configured": 0.5,
        "pending": None,
        "description": "step towards the window mean (1: jump to it)",
    }


def test_set_changes_a_live_run_from_its_owner_s_next_step(live_run: Any) -> None:
    system = live_run.system
    done = changed(system, "trainers.values.learning_rate")
    result = invoke(live_run, "set", "trainers.values.learning_rate", "0.25")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == (
        "trainers.values.learning_rate: 0.5 -> 0.25 from trainer values's next run "
        "(run tiny)"
    )
    assert done.wait(WAIT)
    assert system.trainers["values"].learning_rate == 0.25
    listed = json.loads(invoke(live_run, "settings", "--json").stdout)
    assert listed[1]["value"] == 0.25 and listed[1]["configured"] == 0.5

    done = changed(system, "agent.epsilon")
    result = invoke(live_run, "set", "agent.epsilon", "1", "--json")
    assert json.loads(result.stdout) == {
        "name": "agent.epsilon",
        "old": 0.1,
        "new": 1.0,
        "owner": "agent",
    }
    assert done.wait(WAIT)
    assert system.interaction.agent.epsilon == 1.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("agent.epsilon", "1.5", "agent.epsilon takes a number in [0, 1], not 1.5"),
        ("agent.epsilon", "-1", "agent.epsilon takes a number in [0, 1], not -1"),
        ("agent.epsilon", "lots", "agent.epsilon takes a number in [0, 1], not lots"),
        (
            "trainers.values.learning_rate",
            "0",
            "trainers.values.learning_rate takes a number in (0, 1], not 0",
        ),
        (
            "agent.epsilom",
            "0.5",
            "no setting 'agent.epsilom' (did you mean agent.epsilon?)",
        ),
    ],
)
def test_set_refuses_a_bad_name_type_or_value_in_one_line(
    live_run: Any, name: str, value: str, message: str
) -> None:
    result = invoke(live_run, "set", name, value)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == f"set failed: {message}\n"
    assert result.stdout == ""
    assert live_run.system.settings.describe()[0]["pending"] is None
    assert live_run.system.interaction.agent.epsilon == 0.1


def test_the_socket_refuses_what_the_cli_checks_too(live_run: Any) -> None:
    handler = live_run.system.services.handler
    for request, error in [
        ({"op": "set", "name": "agent.epsilon"}, "'set' needs a 'name' and a 'value'"),
        (
            {"op": "set", "name": "agent.epsilon", "value": True},
            "agent.epsilon takes a number in [0, 1], not True",
        ),
        ({"op": "set", "name": 7, "value": 1}, "no setting 7 ("),
    ]:
        reply = handler.handle(request)
        assert reply["ok"] is False
        assert reply["error"].startswith(error)
    done = changed(live_run.system, "agent.epsilon")
    client = ControlClient(live_run.run_dir.socket_path)
    assert client.request("set", name="agent.epsilon", value="0.5")["new"] == 0.5
    assert done.wait(WAIT)
    assert client.request("settings")[0]["value"] == 0.5


def test_a_read_only_view_cannot_set(live_run: Any) -> None:
    run = RemoteRun(live_run.run_dir.socket_path, read_only=True)
    assert [s["name"] for s in run.settings()] == [
        "agent.epsilon",
        "trainers.values.learning_rate",
    ]
    with pytest.raises(OperationError, match="attached read-only"):
        run.set_setting("agent.epsilon", "0.5")


@pytest.fixture
def system(config_file: Callable[..., Path]) -> Iterator[System]:
    built = config_mod.load(config_file())
    built.system.start()
    yield built.system
    built.system.shutdown("test over")
    assert built.system.wait(timeout=30)


@sync
async def test_the_tune_dialog_sets_the_highlighted_setting(system: System) -> None:
    done = changed(system, "trainers.values.learning_rate")
    dashboard = ConsoleApp(local_run(system))
    async with dashboard.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(dashboard.screen, SettingsDialog))
        dialog = dashboard.screen
        assert isinstance(dialog, SettingsDialog)
        await pilot.press("down", "enter")  # the trainer's rate, then edit it
        field = dialog.query_one("#settings-input", Input)
        assert field.value == "0.5"
        field.value = "7"
        await pilot.press("enter")
        # Refused where it was typed, in the run's own words; the dialog stays.
        error = str(dialog.query_one("#settings-error").render())
        assert error == "trainers.values.learning_rate takes a number in (0, 1], not 7"
        assert isinstance(dashboard.screen, SettingsDialog)
        field.value = "0.125"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(dashboard.screen, SettingsDialog))
        await wait_for(pilot, done.is_set, what="the trainer to take the rate")
    assert system.trainers["values"].learning_rate == 0.125


@sync
async def test_a_read_only_dashboard_says_why_t_does_nothing(system: System) -> None:
    dashboard = ConsoleApp(local_run(system), attached=True, read_only=True)
    async with dashboard.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await pilot.pause(0.1)
        assert not isinstance(dashboard.screen, SettingsDialog)
        notes = [n.message for n in dashboard._notifications]
        assert any("read-only: this view cannot change settings" in n for n in notes)
