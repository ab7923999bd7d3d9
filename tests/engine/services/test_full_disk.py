"""A full disk under the run directory never stops the run (issue 23 B).

Metrics that cannot be written are dropped and counted, with one warning when
that starts and one when writing works again; ``errors.log`` and ``run.json``
never raise; the final save (states elsewhere) works and ``run.json`` says the
run stopped. Once with the metrics file's writes failing at the system call
(``/dev/full``), once on a real full file system (a small tmpfs in a user and
mount namespace of its own, where the machine allows one).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import engine.host.owner_only as owner_only
import engine.services.run_dir as run_dir_module
import engine.telemetry.metrics_log as metrics_log
from engine.services.run_dir import read_run_info
from engine.state.catalogue import list_states
from engine.telemetry.events import ErrorOccurred, LogMessage, Metric
from tests.engine.telemetry.metrics_lines import read_metrics
from tests.engine.tiny import make_system

WAIT = 10.0
ROOT = Path(__file__).resolve().parents[3]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def metric_warnings(events: list[Any]) -> list[str]:
    return [
        e.message
        for e in events
        if isinstance(e, LogMessage) and e.message.startswith("metrics:")
    ]


def point(fd: int, target: str | Path) -> None:
    new = os.open(target, os.O_WRONLY | os.O_APPEND)
    os.dup2(new, fd)
    os.close(new)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_metrics_that_cannot_be_written_never_stop_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[int] = []

    def full_metrics(path: Path) -> int:
        fd = owner_only.append_owned(path)
        point(fd, "/dev/full")  # every write: ENOSPC
        opened.append(fd)
        return fd

    monkeypatch.setattr(metrics_log, "append_owned", full_metrics)
    real_init = metrics_log.MetricsLog.__init__

    def flushing_often(self: Any, *args: Any, **kwds: Any) -> None:
        real_init(self, *args, **{**kwds, "flush_interval": 0.05})

    monkeypatch.setattr(metrics_log.MetricsLog, "__init__", flushing_often)
    run = tmp_path / "run"
    system, agent, *_ = make_system(tmp_path, run_dir=run)
    seen: list[Any] = []
    system.events.add_callback(seen.append)
    stop_metrics = threading.Event()

    def report_metrics() -> None:
        step = 0
        while not stop_metrics.is_set():
            system.events.publish(
                Metric(source="agent", name="x", value=1.0, step=step)
            )
            step += 1
            time.sleep(0.001)

    system.start()
    reporter = threading.Thread(target=report_metrics)
    reporter.start()
    try:
        wait_for(lambda: len(metric_warnings(seen)) == 1, "the warning")
        assert "No space left on device" in metric_warnings(seen)[0]
        # The agent keeps stepping, the run stays active.
        steps = system.status().steps
        wait_for(lambda: system.status().steps > steps + 10, "more steps")
        assert system.status().state == "active" and not system.failures

        point(opened[0], run / "metrics.jsonl")  # room again
        wait_for(lambda: len(metric_warnings(seen)) == 2, "writing again")
        assert "again" in metric_warnings(seen)[1]
        wait_for(lambda: read_metrics(run), "lines written")

        # Full again to the end: run.json cannot be replaced either.
        point(opened[0], "/dev/full")
        real_open_owned = owner_only.open_owned

        def no_new_files(path: Path, flags: int, mode: int = 0o600) -> int:
            if flags & os.O_EXCL:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            return real_open_owned(path, flags, mode)

        monkeypatch.setattr(owner_only, "open_owned", no_new_files)
        monkeypatch.setattr(run_dir_module, "open_owned", no_new_files)
        wait_for(lambda: len(metric_warnings(seen)) == 3, "the second warning")
        metrics = system.services.metrics
        assert metrics is not None and metrics.unwritten > 0
    finally:
        stop_metrics.set()
        reporter.join()
        system.shutdown("test over")
        assert system.wait(WAIT)
    assert system.failures == []
    assert not any(isinstance(e, ErrorOccurred) for e in seen)
    # The final save worked (states are elsewhere), and run.json says it stopped.
    final = system.status().last_save
    assert final is not None
    assert [i.path for i in list_states(tmp_path / "states")][-1] == Path(final)
    info = read_run_info(run)
    assert info is not None
    assert info.data["stopped"] is not None and info.data["exit_code"] == 0
    assert not (run / "errors.log").exists()


def test_errors_log_on_a_full_disk_does_not_raise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system, *_ = make_system(tmp_path, run_dir=tmp_path / "run")
    services = system.services
    assert services is not None
    services.open()
    try:

        def full(path: Path) -> int:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

        import engine.services.run_services as run_services

        monkeypatch.setattr(run_services, "append_owned", full)
        services._log_error(ErrorOccurred(thread="t", message="m", traceback="tb"))
    finally:
        services.close(exit_code=0)
    info = read_run_info(tmp_path / "run")
    assert info is not None and info.data["exit_code"] == 0


def test_run_json_records_the_stop_in_place_when_no_new_file_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_dir_module.RunDir(tmp_path / "run")
    run.acquire(name="a")
    size = (tmp_path / "run" / "run.json").stat().st_size

    def full(path: Path, flags: int, mode: int = 0o600) -> int:
        if flags & os.O_CREAT:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open_owned(path, flags, mode)

    real_open_owned = owner_only.open_owned
    monkeypatch.setattr(owner_only, "open_owned", full)
    monkeypatch.setattr(run_dir_module, "open_owned", full)
    run.release(exit_code=3)  # never raises
    info = read_run_info(tmp_path / "run")
    assert info is not None and info.data["exit_code"] == 3
    assert info.data["stopped"] is not None and not info.live
    assert (tmp_path / "run" / "run.json").stat().st_size == size
    assert [p.name for p in (tmp_path / "run").iterdir() if p.name != "run.lock"] == [
        "run.json"
    ]


_FULL_DISK_RUN = textwrap.dedent(
    """
    import json, os, sys, threading, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    import engine.telemetry.metrics_log as metrics_log
    from engine.services.run_dir import read_run_info
    from engine.telemetry.events import LogMessage, Metric
    from tests.engine.tiny import make_system

    run, states = Path(sys.argv[1]), Path(sys.argv[2])
    # Flush (and retry) every 50 ms instead of every second: a shorter test.
    real_init = metrics_log.MetricsLog.__init__
    metrics_log.MetricsLog.__init__ = lambda self, *args, **kwds: real_init(
        self, *args, **{**kwds, "flush_interval": 0.05}
    )
    system, agent, *_ = make_system(
        states.parent, run_dir=run, states_dir=states, durable_saves=True
    )
    warnings = []
    system.events.add_callback(
        lambda e: isinstance(e, LogMessage) and e.message.startswith("metrics:")
        and warnings.append(e.message)
    )
    done = threading.Event()

    def report():
        step = 0
        while not done.is_set():
            system.events.publish(Metric(source="agent", name="x", value=1.0, step=step))
            step += 1
            time.sleep(0.002)

    def wait(condition, what):
        deadline = time.monotonic() + 20
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}: {warnings}")
            time.sleep(0.01)

    def fill():
        try:
            with open(run / "filler", "ab") as f:
                while True:
                    f.write(b"x" * 4096)
                    f.flush()
        except OSError:
            pass

    system.start()
    fill()
    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    wait(lambda: len(warnings) == 1, "dropping")
    steps = system.status().steps
    wait(lambda: system.status().steps > steps + 10, "steps while full")
    (run / "filler").unlink()
    wait(lambda: len(warnings) == 2, "writing again")
    fill()
    wait(lambda: len(warnings) == 3, "dropping again")
    done.set()
    reporter.join()
    system.shutdown()
    assert system.wait(20)
    info = read_run_info(run)
    print(json.dumps({
        "failures": system.failures,
        "last_save": system.status().last_save,
        "warnings": warnings,
        "run_json": None if info is None else info.data,
        "errors_log": (run / "errors.log").exists(),
    }))
    """
)


def _tmpfs_namespace_available() -> bool:
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return False
    with tempfile.TemporaryDirectory() as where:
        probe = subprocess.run(
            ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {where}"],
            capture_output=True,
            timeout=30,
        )
    return probe.returncode == 0


@pytest.mark.skipif(
    not _tmpfs_namespace_available(),
    reason="needs unshare -rm and a tmpfs mount (user namespaces)",
)
def test_a_real_full_file_system_under_the_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    states = tmp_path / "states"
    script = tmp_path / "full_disk_run.py"
    script.write_text(_FULL_DISK_RUN)
    command = (
        f"mount -t tmpfs -o size=1m,mode=0700 tmpfs {run} && "
        f"exec {sys.executable} {script} {run} {states} {ROOT}"
    )
    out = subprocess.run(
        ["unshare", "-rm", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PAMIQ_CONSOLE_REGISTRY": str(tmp_path / "registry")},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["failures"] == []
    assert result["last_save"] is not None and Path(result["last_save"]).is_dir()
    warnings = result["warnings"]
    assert len(warnings) == 3
    assert "No space left on device" in warnings[0] and "again" in warnings[1]
    # Stopped on a full disk: run.json still says so (written in place).
    run_json = result["run_json"]
    assert run_json is not None
    assert run_json["stopped"] is not None and run_json["exit_code"] == 0
    assert not result["errors_log"]
