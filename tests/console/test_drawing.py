"""The dashboard draws only what changed, and no faster than it polls (issue 24 item 2).

A panel whose values did not change is not drawn again; a live dashboard draws
its panels at most every ``draw_seconds`` (what must be noticed at once); its
poller hands the app one snapshot at a time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from console import config as config_mod
from console.app import ConsoleApp
from console.messages import Snapshot
from console.poller import SnapshotPoller
from console.widgets import EventLogPanel, StatusHeader
from engine import System
from engine.services.operations import local_run
from engine.telemetry.events import LogMessage
from tests.console.helpers import sync, wait_for
from tests.console.test_snapshots import NOW, frozen_status

SIZE = (120, 40)


def _unstarted(config_file: Callable[..., Path]) -> System:
    return config_mod.load(config_file()).system


def _app(system: System) -> ConsoleApp:
    return ConsoleApp(
        local_run(system), live=False, clock=lambda: NOW, exit_when_stopped=False
    )


@pytest.fixture
def updates(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every ``Static.update`` from now on, counted by widget (type and id)."""
    counts: Counter[str] = Counter()
    update = Static.update

    def counted(self: Static, *args: Any, **kwargs: Any) -> None:
        counts[f"{type(self).__name__}#{self.id}"] += 1
        update(self, *args, **kwargs)

    monkeypatch.setattr(Static, "update", counted)
    return counts


def _header(app: ConsoleApp) -> str:
    return str(app.query_one(StatusHeader).content)


def _log(app: ConsoleApp) -> str:
    return "\n".join(strip.text for strip in app.query_one(EventLogPanel).lines)


@sync
async def test_a_snapshot_that_changes_nothing_draws_no_panel(
    config_file: Callable[..., Path], updates: Counter[str]
) -> None:
    app = _app(_unstarted(config_file))
    async with app.run_test(size=SIZE) as pilot:
        status = frozen_status("active")
        app.apply_snapshot(Snapshot(status, []), now=NOW)
        await pilot.pause()
        assert updates["StatusHeader#header"] >= 1
        assert updates["ModelsPanel#models"] >= 1
        assert updates["BuffersPanel#buffers"] >= 1
        updates.clear()
        app.apply_snapshot(Snapshot(status, []), now=NOW)
        await pilot.pause()
        assert not updates, f"drawn again: {dict(updates)}"
        # One value that changed draws the panels that show it, and only those.
        more = dataclasses.replace(status, steps=status.steps + 1000)
        app.apply_snapshot(Snapshot(more, []), now=NOW)
        await pilot.pause()
        assert set(updates) == {"StatusHeader#header"}
        assert "124,456" in _header(app)


@sync
async def test_a_live_dashboard_draws_numbers_at_most_every_draw_seconds(
    config_file: Callable[..., Path],
) -> None:
    app = _app(_unstarted(config_file))
    async with app.run_test(size=SIZE) as pilot:
        app.draw_seconds = 5.0  # as when live (the poller is not started here)
        first = frozen_status("active")
        app.apply_snapshot(Snapshot(first, []), now=NOW)
        assert "123,456" in _header(app)  # the first snapshot: at once
        later = dataclasses.replace(first, steps=200_000)
        note = LogMessage(level="info", message="a line for the log")
        app.apply_snapshot(Snapshot(later, [note]), now=NOW)
        await pilot.pause()
        # Numbers wait for the next draw; the event log does not.
        assert "123,456" in _header(app)
        assert "a line for the log" in _log(app)
        # A change of state shows at once, with the numbers that came meanwhile.
        paused = dataclasses.replace(later, state="paused")
        app.apply_snapshot(Snapshot(paused, []), now=NOW)
        assert "PAUSED" in _header(app) and "200,000" in _header(app)
        # Numbers that come within draw_seconds are drawn once it has passed.
        app.draw_seconds = 0.3
        app.apply_snapshot(Snapshot(dataclasses.replace(paused, steps=300_000), []))
        await wait_for(
            pilot, lambda: "300,000" in _header(app), what="the timer's draw"
        )


class _Sink:
    """What the poller posts to: counts snapshots, tells each one's arrival."""

    def __init__(self) -> None:
        self.posted: list[Snapshot] = []
        self.arrived = threading.Condition()

    def post_message(self, message: Any) -> bool:
        with self.arrived:
            self.posted.append(message)
            self.arrived.notify_all()
        return True

    def wait_posts(self, count: int, timeout: float = 10.0) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.posted) >= count, timeout), (
                f"{len(self.posted)} of {count} snapshots posted"
            )


@pytest.fixture
def running(config_file: Callable[..., Path]) -> Iterator[System]:
    system = _unstarted(config_file)
    system.start()
    yield system
    system.shutdown("test over")
    assert system.wait(timeout=30)


def test_the_poller_posts_the_next_snapshot_only_once_the_app_took_the_last(
    running: System,
) -> None:
    sink = _Sink()
    poller = SnapshotPoller(local_run(running), sink, hz=100.0)  # type: ignore[arg-type]
    poller.start()
    try:
        sink.wait_posts(1)
        # Twenty periods later, still the one: the app has not taken it.
        threading.Event().wait(0.2)
        assert len(sink.posted) == 1
        for taken in range(1, 4):
            poller.taken()
            sink.wait_posts(taken + 1)
            assert len(sink.posted) == taken + 1
    finally:
        poller.stop()
        poller.join(timeout=10)
