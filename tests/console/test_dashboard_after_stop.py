"""The dashboard once a run is paused or stopped, at 80x24, and while it starts
(issue 16 items 4, 5 and 9)."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from console import config as config_mod
from console.app import NARROW, ConsoleApp
from console.cli.run_commands import starting
from console.messages import Snapshot
from console.render import buffers_table, header_text, models_table, trainer_text
from console.widgets import ModelsPanel, StatusHeader, TrainersPanel
from console.widgets.errors import traceback_excerpt
from engine.services.operations import local_run
from engine.telemetry.status import ModelStatus
from tests.console.helpers import sync
from tests.console.test_app import text_of
from tests.console.test_snapshots import NOW, frozen_status


def plain(renderable: Any, width: int) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


@sync
async def test_uptime_stops_counting_once_the_run_stopped(
    config_file: Callable[..., Path],
) -> None:
    system = config_mod.load(config_file()).system  # never started
    app = ConsoleApp(
        local_run(system), live=False, clock=lambda: NOW, exit_when_stopped=False
    )
    async with app.run_test(size=(120, 36)) as pilot:
        running = frozen_status("active")
        app.apply_snapshot(Snapshot(running, []), now=NOW)
        stopped = frozen_status("stopped")
        app.apply_snapshot(Snapshot(stopped, []), now=NOW)
        later = dataclasses.replace(stopped, uptime=stopped.uptime + 600)
        app.apply_snapshot(Snapshot(later, []), now=NOW + 600)
        await pilot.pause()
        header = str(app.query_one(StatusHeader).render())
        assert "uptime 1h02m03s" in header and "STOPPED" in header
        assert app.status is not None and app.status.uptime == stopped.uptime


@sync
async def test_rates_are_not_frozen_once_the_run_stopped(
    config_file: Callable[..., Path],
) -> None:
    """A run that went away repeats its last status as stopped: its rates and
    step rate are not shown as if it still went at that pace."""
    system = config_mod.load(config_file()).system  # never started
    app = ConsoleApp(
        local_run(system), live=False, clock=lambda: NOW, exit_when_stopped=False
    )
    async with app.run_test(size=(120, 36)) as pilot:
        before = frozen_status("active", wall_time=NOW - 10, runs=22)
        last = dataclasses.replace(frozen_status("active"), steps_per_second=480.0)
        app.apply_snapshot(Snapshot(before, []), now=NOW - 10)
        app.apply_snapshot(Snapshot(last, []), now=NOW)
        await pilot.pause()
        assert "2/s" in text_of(app.query_one(ModelsPanel))
        assert "(2/s" in text_of(app.query_one(TrainersPanel))
        assert "480 steps/s" in text_of(app.query_one(StatusHeader))
        gone = dataclasses.replace(last, state="stopped")
        for _ in range(2):
            app.apply_snapshot(Snapshot(gone, []), now=NOW + 5)
        await pilot.pause()
        models = text_of(app.query_one(ModelsPanel))
        assert "2/s" not in models
        assert models.splitlines()[1].rstrip().endswith("-")
        assert "/s" not in text_of(app.query_one(TrainersPanel))
        assert " 0 steps/s" in text_of(app.query_one(StatusHeader))


def test_trainers_are_not_waiting_while_the_system_is_paused_or_stopped() -> None:
    trainer = frozen_status().trainers["dqn"]
    assert "waiting: 12/64 new items" in trainer_text("dqn", trainer).plain
    for state in ("paused", "stopped"):
        first = trainer_text("dqn", trainer, state=state).plain.splitlines()[0]
        assert first.startswith(f"dqn  {state}") and "waiting" not in first
        # What it will wait for is still shown.
        assert "new data: 12/64 ✗" in trainer_text("dqn", trainer, state=state).plain


def test_the_traceback_excerpt_leaves_out_caret_lines() -> None:
    tb = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 3, in train\n'
        "    loss = self.step(batch)\n"
        "           ^^^^^^^^^^^^^^^^\n"
        "  ~~~~~^^^^\n"
        "RuntimeError: kaboom\n"
    )
    assert traceback_excerpt(tb, 3) == [
        '  File "x.py", line 3, in train',
        "    loss = self.step(batch)",
        "RuntimeError: kaboom",
    ]


def test_a_training_only_model_is_not_shown_as_never_synced() -> None:
    status = frozen_status()
    critic = ModelStatus(0, None, None, False, training_only=True)
    status = dataclasses.replace(status, models={**status.models, "critic": critic})
    [row] = [
        line
        for line in plain(models_table(status, NOW), 76).splitlines()
        if "critic" in line
    ]
    assert "training only" in row
    assert "v0" not in row and "never" not in row


def test_at_80_columns_numbers_are_never_cut() -> None:
    status = frozen_status()
    # The panels' widths at 80 columns (stacked, inside a border and padding).
    buffers = plain(buffers_table(status, 76), 76)
    for number in ("750/1,000", "5,000", "40/∞"):
        assert number in buffers
    models = plain(models_table(status, NOW), 76)
    for cell in ("v42", "2.5 s ago", "0.4 ms", "inference only"):
        assert cell in models
    # Side by side at 120 columns: the bar narrows before a number is cut.
    narrow = plain(buffers_table(status, 40), 40)
    assert "750/1,000" in narrow and "5,000" in narrow and "…" not in narrow
    # The models panel side by side at the narrowest (NARROW columns).
    width = int(NARROW * 2 / 5) - 4
    models = plain(models_table(status, NOW), width)
    for cell in ("q_network", "v42", "2.5 s ago", "0.4 ms", "inference only"):
        assert cell in models
    assert "…" not in plain(header_text(status, width=78), 78)
    assert "steps/s" in plain(header_text(status, width=200), 200)
    assert "/s" in plain(header_text(status, width=78), 78)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_slow_start_says_it_is_starting_then_erases_the_line() -> None:
    terminal = _Terminal()
    with starting(Path("sample_configs/sensor_autoencoder.toml"), terminal):
        shown = terminal.getvalue()
    assert shown == (
        "pamiq-console: starting sample_configs/sensor_autoencoder.toml "
        "(importing its components)..."
    )
    assert terminal.getvalue() == shown + "\r\033[K"
    piped = io.StringIO()  # not a terminal: nothing to erase, nothing said
    with starting(Path("x.toml"), piped):
        pass
    assert piped.getvalue() == ""
