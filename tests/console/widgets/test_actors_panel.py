"""The actors of a scaled run, in the dashboard's panel and in ``status``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from console import config as config_mod
from console.app import ConsoleApp
from console.messages import Snapshot
from console.render import status_renderable
from console.widgets import ActorsPanel, AgentPanel
from engine.services.operations import local_run
from engine.telemetry.events import Metric
from engine.telemetry.status import ActorStatus, SystemStatus
from tests.console.helpers import sync
from tests.console.test_app import text_of

NOW = 1_800_000_000.0


def _actor(index: int, **changes: object) -> ActorStatus:
    actor = ActorStatus(
        actor=index,
        node=f"{index}f3a9c2e1d0b4",
        alive=True,
        paused=False,
        restarts=0,
        steps=1000 * (index + 1),
        steps_per_second=97.0 + index,
        version=12,
        lag_p50=1,
        lag_max=3,
        unsent_items=17,
        queued_batches=2,
        dropped_items=64,
        dropped_batches=1,
        stale_batches=0,
    )
    return dataclasses.replace(actor, **changes)


def _status(*actors: ActorStatus, state: str = "active") -> SystemStatus:
    return SystemStatus(
        "scaled",
        state,
        5.0,
        1.0,
        sum(a.steps for a in actors),
        195.0,
        NOW,
        actors=actors,
        step_source="actors",
        policy_version=13,
    )


def _printed(status: SystemStatus, width: int = 100) -> str:
    console = Console(width=width, record=True)
    # Through JSON, as `status` gets it over the control socket.
    console.print(status_renderable(json.loads(json.dumps(status.to_dict()))))
    return console.export_text()


def test_status_prints_each_actor_with_its_lag_queue_and_drops() -> None:
    printed = _printed(
        _status(_actor(0), _actor(1, alive=False, restarts=2, stale_batches=4))
    )
    assert "agent steps 3,000" in printed
    assert "actors 1/2 up - policy v13" in printed
    lines = [line for line in printed.splitlines() if "0f3a9c2e" in line]
    assert len(lines) == 1
    row = "0 0f3a9c2e running 97 v12 1/3 2 64 0"
    assert lines[0].split() == row.split()
    down = next(line for line in printed.splitlines() if "1f3a9c2e" in line)
    assert "down r2" in down and down.split()[-1] == "4"
    # Every column says what it counts (no "17+2b", no "64 (1)").
    header = printed.splitlines()[printed.splitlines().index(lines[0]) - 2 :][:2]
    assert header[0].split() == ["policy", "lag", "queued", "dropped", "stale"]
    assert header[1].split()[-5:] == ["ver", "p50/max", "batches", "items", "batches"]
    assert "queued: batches waiting for the learner" in " ".join(printed.split())


def test_the_actors_table_fits_a_laptop_s_80_columns() -> None:
    busy = _actor(1, steps_per_second=12_345.0, restarts=2, dropped_items=123_456)
    printed = _printed(_status(_actor(0), busy), width=76)
    row = next(line for line in printed.splitlines() if line.startswith("1 "))
    assert "…" not in row and row.split()[2:4] == ["running", "r2"]
    assert "12,345" in row and "123,456" in row


def test_status_says_when_every_actor_is_paused() -> None:
    paused = _status(_actor(0, paused=True), _actor(1, paused=True), state="paused")
    assert "all paused" in _printed(paused)
    assert "all paused" not in _printed(_status(_actor(0, paused=True), _actor(1)))


def test_a_run_without_actors_shows_no_actors() -> None:
    status = SystemStatus("plain", "active", 1.0, 1.0, 10, 10.0, NOW)
    printed = _printed(status)
    assert "actor" not in printed
    assert "steps 10" in printed and "agent steps" not in printed


@sync
async def test_the_dashboard_shows_the_actors_panel_and_when_all_are_paused(
    config_file: Callable[..., Path],
) -> None:
    system = config_mod.load(config_file()).system  # never started
    app = ConsoleApp(local_run(system), live=False, clock=lambda: NOW)
    async with app.run_test(size=(80, 30)) as pilot:
        panel = app.query_one(ActorsPanel)
        app.apply_snapshot(Snapshot(system.status(), []), NOW)
        await pilot.pause()
        assert not panel.display  # no actors: no panel
        app.apply_snapshot(
            Snapshot(
                _status(_actor(0), _actor(1)),
                [Metric(source="actor0", name="policy_lag_p50", value=1.0, step=1)],
            ),
            NOW,
        )
        await pilot.pause()
        assert panel.display
        assert panel.border_title == "actors 2/2 up - policy v13"
        shown = text_of(panel)
        assert "0f3a9c2e" in shown and "1f3a9c2e" in shown
        app.apply_snapshot(
            Snapshot(_status(_actor(0, paused=True), _actor(1, paused=True)), []),
            NOW,
        )
        await pilot.pause()
        assert panel.border_title == "actors 2/2 up - all paused - policy v13"
        # The learner's per-actor lag metrics are not repeated as agent metrics.
        assert "policy_lag_p50" not in text_of(app.query_one(AgentPanel))
