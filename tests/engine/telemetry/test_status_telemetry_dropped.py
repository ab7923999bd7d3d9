"""Metrics dropped on a full disk are counted in the status, everywhere it is read (issue 23 item 3).

The run goes on when ``metrics.jsonl`` cannot be written; the operator
learns of it from ``status``: ``telemetry_dropped`` in the snapshot, over
the socket and in an attached dashboard's feed, and an alert line.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import engine.host.owner_only as owner_only
import engine.telemetry.metrics_log as metrics_log
from console.control_client import ControlClient
from console.remote_run import RemoteRun
from console.render import status_renderable
from engine.telemetry.events import Metric
from engine.telemetry.status import SystemStatus
from tests.engine.tiny import make_system

WAIT = 10.0


def _wait_for(condition: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def _text(status: SystemStatus | dict[str, Any]) -> str:
    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(status_renderable(status, width=200))
    return console.export_text()


def test_the_count_round_trips_and_an_older_reply_reads_as_none_dropped() -> None:
    status = SystemStatus(
        name="probe", state="active", uptime=1.0, time_scale=1.0, steps=3,
        steps_per_second=1.0, wall_time=1_700_000_000.0, telemetry_dropped=1234,
    )  # fmt: skip
    data = json.loads(json.dumps(status.to_dict()))
    assert data["telemetry_dropped"] == 1234
    assert SystemStatus.from_dict(data) == status
    del data["telemetry_dropped"]  # a run of an older build
    assert SystemStatus.from_dict(data).telemetry_dropped == 0
    assert "alert: 1,234 metrics not written (disk full?); the run goes on" in _text(
        status
    )
    assert "alert:" not in _text(SystemStatus.from_dict(data))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_shows_in_status_over_the_socket_and_in_the_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_metrics(path: Path) -> int:
        fd = owner_only.append_owned(path)
        full = os.open("/dev/full", os.O_WRONLY | os.O_APPEND)
        os.dup2(full, fd)  # every write: ENOSPC
        os.close(full)
        return fd

    monkeypatch.setattr(metrics_log, "append_owned", full_metrics)
    real_init = metrics_log.MetricsLog.__init__

    def flushing_often(self: Any, *args: Any, **kwds: Any) -> None:
        real_init(self, *args, **{**kwds, "flush_interval": 0.05})

    monkeypatch.setattr(metrics_log.MetricsLog, "__init__", flushing_often)
    system, *_ = make_system(tmp_path, run_dir=tmp_path / "run")
    system.start()
    try:
        assert system.status().telemetry_dropped == 0
        for step in range(20):
            system.events.publish(
                Metric(source="agent", name="x", value=1.0, step=step)
            )
        _wait_for(lambda: system.status().telemetry_dropped >= 20, "drops counted")
        assert system.status().state == "active"

        assert system.services is not None and system.services.socket_path is not None
        reply = ControlClient(system.services.socket_path).request("status")
        assert reply["telemetry_dropped"] >= 20
        assert "metrics not written (disk full?)" in _text(reply)
        remote = RemoteRun(system.services.socket_path, read_only=True)
        watch = remote.watch(100)
        try:
            assert watch.poll().status.telemetry_dropped >= 20
        finally:
            watch.close()
    finally:
        system.shutdown("test over")
        assert system.wait(WAIT)
    assert system.failures == []
