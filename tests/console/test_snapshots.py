"""Snapshot tests of the dashboard at a fixed terminal size with frozen data and clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from console import config as config_mod
from console.app import ConsoleApp
from console.messages import Snapshot
from engine.services.curves import CurveBook
from engine.services.operations import local_run
from engine.telemetry.events import (
    ErrorOccurred,
    LogMessage,
    Metric,
    ModelSynced,
    StateSaved,
    SystemStateChanged,
    TrainingRunFinished,
)
from engine.telemetry.status import (
    BufferStatus,
    ModelStatus,
    SystemStatus,
    TrainerStatus,
)
from engine.telemetry.trainability import TrainabilityReport

NOW = 1_700_000_000.0
SIZE = (120, 36)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def frozen_status(
    state: str = "paused",
    errors: tuple[str, ...] = (),
    wall_time: float = NOW,
    runs: int = 42,
) -> SystemStatus:
    return SystemStatus(
        name="snapshot",
        state=state,
        uptime=3723.5,
        time_scale=2.0,
        steps=123_456,
        steps_per_second=0.0,
        wall_time=wall_time,
        buffers={
            "replay": BufferStatus(size=750, capacity=1000, collected=5000, pending=3),
            "episodes": BufferStatus(size=40, capacity=None, collected=40, pending=0),
        },
        trainers={
            "dqn": TrainerStatus(
                condition=TrainabilityReport(
                    "replay", 750, 500, 12, 64, False, "12/64 new items"
                ),
                runs=runs,
                last_duration=0.0345,
                last_metrics={"loss": 0.25},
                custom_condition=False,
            ),
            "probe": TrainerStatus(
                condition=TrainabilityReport.unconditional(),
                runs=7,
                last_duration=None,
                last_metrics={},
                custom_condition=False,
            ),
        },
        models={
            "q_network": ModelStatus(
                version=runs,
                last_sync_time=NOW - 2.5,
                last_sync_duration=0.0004,
                inference_thread_only=False,
            ),
            "encoder": ModelStatus(
                version=0,
                last_sync_time=None,
                last_sync_duration=None,
                inference_thread_only=True,
            ),
        },
        errors=errors,
        last_save="runs/snapshot/states/a.state",
        last_save_time=NOW - 20,
        next_save_time=NOW + 40,
    )


def frozen_events() -> list[Any]:
    events: list[Any] = [SystemStateChanged(state="active", wall_time=NOW - 60)]
    for i in range(30):
        events.append(
            Metric(
                source="dqn",
                name="loss",
                value=1.0 / (1 + i) + (i % 3) * 0.02,
                step=i,
                wall_time=NOW - 50 + i,
            )
        )
    for episode in range(200):
        events.append(
            Metric(
                source="agent",
                name="episode_return_mean20",
                value=min(500.0, 9.0 + episode * episode / 60) + (episode % 7) * 3,
                step=episode * 100,
                wall_time=NOW - 50 + episode * 0.2,
            )
        )
    for run in range(1, 6):
        events.append(
            TrainingRunFinished(
                trainer="dqn", run=run, duration=0.03, wall_time=NOW - 40 + run
            )
        )
        events.append(
            ModelSynced(
                model="q_network",
                version=run,
                duration=0.0004,
                wall_time=NOW - 40 + run,
            )
        )
    events.append(
        StateSaved(
            path="runs/snapshot/states/a.state",
            duration=0.05,
            paused_for=0.01,
            wall_time=NOW - 20,
        )
    )
    events.append(SystemStateChanged(state="paused", wall_time=NOW - 10))
    # The operator's pause (a save's own pause is not logged).
    events.append(LogMessage(level="info", message="paused", wall_time=NOW - 10))
    return events


def frozen_curves(events: list[Any]) -> list[dict[str, Any]]:
    """The curve updates a run would send for ``events`` (its first poll)."""
    book = CurveBook(capacity=64)
    for event in events:
        book.record(event)
    return book.updates(book.curve_keys(), {})


def apply_frozen(app: ConsoleApp, state: str, now: float) -> None:
    """Two polls ten seconds apart: rates in the panels, curves in the plot."""
    app.apply_snapshot(
        Snapshot(frozen_status(state, wall_time=NOW - 10, runs=22), []), now=now - 10
    )
    events = frozen_events()
    app.apply_snapshot(
        Snapshot(frozen_status(state), events, curves=frozen_curves(events)), now=now
    )


@pytest.fixture
def app_factory(config_file: Callable[..., Path]) -> Callable[..., ConsoleApp]:
    system = config_mod.load(
        config_file()
    ).system  # never started: only needed for wiring

    def make() -> ConsoleApp:
        return ConsoleApp(local_run(system), live=False, clock=lambda: NOW)

    return make


def test_dashboard_snapshot(
    snap_compare: Any, app_factory: Callable[..., ConsoleApp]
) -> None:
    async def feed(pilot: Any) -> None:
        apply_frozen(pilot.app, "paused", NOW + 5)
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=feed)


def test_error_panel_snapshot(
    snap_compare: Any, app_factory: Callable[..., ConsoleApp]
) -> None:
    message = "training thread failed: RuntimeError: kaboom"
    events = [
        ErrorOccurred(
            thread="training",
            message=message,
            traceback=(
                "Traceback (most recent call last):\n"
                '  File "x.py", line 3, in train\n'
                "    loss = self.step(batch)\n"
                "           ^^^^^^^^^^^^^^^^\n"
                "RuntimeError: kaboom\n"
            ),
            wall_time=NOW,
        )
    ]

    async def feed(pilot: Any) -> None:
        pilot.app.apply_snapshot(
            Snapshot(frozen_status("stopped", (message,)), events), now=NOW
        )
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=feed)


def test_help_snapshot(
    snap_compare: Any, app_factory: Callable[..., ConsoleApp]
) -> None:
    async def feed(pilot: Any) -> None:
        pilot.app.apply_snapshot(Snapshot(frozen_status(), []), now=NOW)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=feed)


LAPTOP = (80, 24)
LARGE = (200, 50)


@pytest.mark.parametrize("size", [LAPTOP, LARGE], ids=["80x24", "200x50"])
def test_dashboard_snapshot_at_sizes(
    snap_compare: Any, app_factory: Callable[..., ConsoleApp], size: tuple[int, int]
) -> None:
    """Every panel readable at a laptop's 80x24 (numbers never cut) and when large."""

    async def feed(pilot: Any) -> None:
        apply_frozen(pilot.app, "active", NOW + 5)
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=size, run_before=feed)


def test_help_snapshot_at_80x24(
    snap_compare: Any, app_factory: Callable[..., ConsoleApp]
) -> None:
    """How to close the help is visible on a short terminal."""

    async def feed(pilot: Any) -> None:
        pilot.app.apply_snapshot(Snapshot(frozen_status(), []), now=NOW)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=LAPTOP, run_before=feed)
