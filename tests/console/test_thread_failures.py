"""The console's own threads report failures like the engine's: errors.log, stop, exit 1.

Each thread (metrics writer, control socket, dashboard poller) is made to fail
at its start, where a failure would otherwise leave a run that looks alive.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import engine.services.control_server
from console import config as config_mod
from console.app import ConsoleApp
from console.poller import SnapshotPoller
from console.runner import run_headless
from console.widgets import ErrorPanel
from engine.services.operations import local_run
from engine.services.run_dir import RunDirError
from engine.state.catalogue import list_states
from engine.telemetry.metrics_log import MetricsLog
from tests.console.helpers import sync, wait_for


def _final_states(run_dir: Path) -> list[str]:
    return [i.name for i in list_states(run_dir / "states") if not i.problem]


def _headless(config: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = run_headless(config_mod.load(config), out)
    return code, out.getvalue()


def test_a_metrics_writer_that_cannot_start_stops_the_run(
    tmp_path: Path,
    config_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: object) -> None:
        raise IsADirectoryError("metrics.jsonl is a directory")

    # The thread's first act; the file itself is opened (and checked) before.
    monkeypatch.setattr(MetricsLog, "_write_until_closed", broken)
    run_dir = tmp_path / "run"
    code, out = _headless(config_file())
    assert code == 1
    assert "error: metrics-log thread failed: IsADirectoryError" in out
    assert "metrics-log thread failed" in (run_dir / "errors.log").read_text()
    assert _final_states(run_dir)


def test_a_metrics_file_that_is_not_a_file_refuses_the_start(
    tmp_path: Path, config_file: Callable[..., Path]
) -> None:
    config = config_file()
    run_dir = tmp_path / "run"
    (run_dir / "metrics.jsonl").mkdir(parents=True)
    with pytest.raises(RunDirError, match=r"metrics\.jsonl: expected a file"):
        _headless(config)
    assert not (run_dir / "states").exists()


def test_a_control_socket_that_dies_at_start_stops_the_run(
    tmp_path: Path,
    config_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: object, poll_interval: float = 0.5) -> None:
        raise OSError("socket died")

    monkeypatch.setattr(engine.services.control_server._Server, "serve_forever", broken)
    code, out = _headless(config_file())
    assert code == 1
    assert "error: control-socket thread failed: OSError: socket died" in out
    assert (
        "control-socket thread failed" in (tmp_path / "run" / "errors.log").read_text()
    )
    assert _final_states(tmp_path / "run")


@sync
async def test_a_dashboard_poller_that_dies_stops_the_run_and_shows_why(
    tmp_path: Path,
    config_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = SnapshotPoller.snapshot

    def snapshot(self: SnapshotPoller):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "console-poller":
            raise RuntimeError("poller broke")
        return original(self)

    monkeypatch.setattr(SnapshotPoller, "snapshot", snapshot)
    built = config_mod.load(config_file())
    system = built.system
    system.start()
    app = ConsoleApp(local_run(system), on_failure=system.report_failure, poll_hz=20)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: system.wait(0), what="the run to stop")
            await wait_for(
                pilot,
                lambda: (
                    "console-poller thread failed"
                    in str(app.query_one(ErrorPanel).render())
                ),
                what="the error panel",
            )
            # The panel can show the error from a snapshot taken while stopping.
            await wait_for(
                pilot,
                lambda: app.status is not None and app.status.state == "stopped",
                what="the dashboard to show the stop",
            )
    finally:
        system.shutdown("test over")
        assert system.wait(30)
    assert system.failures[0].startswith("console-poller thread failed")
    assert _final_states(tmp_path / "run")
