"""``run CONFIG`` (the dashboard in the run's process) takes the stopping
signals before its run is live, so a terminal closed at once stops it in order."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from console import config as config_mod
from console import dashboard_run
from console.runner import Run
from engine.services.operations import RunControl
from engine.services.run_dir import read_run_info

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@pytest.fixture
def test_keeps_the_signals() -> Iterator[Callable[..., None]]:
    """Until the dashboard takes them, a signal only reaches this handler: sent
    too early it must not kill the test's own process."""

    def caught(_signum: int, _frame: Any) -> None:
        pass

    previous = {sig: signal.signal(sig, caught) for sig in STOPPING}
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Unwatched:
    """Stands in for the dashboard, which is not under test: it stays open
    until the run stops (20 s at most)."""

    def __init__(self, run: RunControl, **_kwargs: Any) -> None:
        self.run_control = run

    def run(self) -> None:
        self.run_control.wait_stopped(timeout=20)


def test_a_signal_the_moment_the_run_is_live_stops_it_in_order(
    config_file: Callable[..., Path],
    in_tmp_cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    test_keeps_the_signals: Callable[..., None],
) -> None:
    built = config_mod.load(config_file())
    handlers_when_live: dict[signal.Signals, Any] = {}
    start = Run.start

    def start_then_signal(run: Run) -> None:
        start(run)  # the run is live: its socket is bound
        for sig in STOPPING:
            handlers_when_live[sig] = signal.getsignal(sig)
        # SIGTERM, not SIGHUP: a hang-up also exits the process once stopped.
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(Run, "start", start_then_signal)
    monkeypatch.setattr(dashboard_run, "ConsoleApp", _Unwatched)
    code = dashboard_run.run_dashboard(built)

    assert all(h is not test_keeps_the_signals for h in handlers_when_live.values())
    assert code == 0
    info = read_run_info(Path(built.settings.run_dir))
    assert info is not None and info.data["stopped"] is not None
    assert info.data["exit_code"] == 0
    assert built.system.status().last_save is not None, "no final save"
