"""The per-user registry of live runs: what ``ps`` and every command without ``--run`` read."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.services.registry import (
    RegistryError,
    live_runs,
    process_start,
    register,
    registry_dir,
)


def _register(run_dir: Path, name: str = "alpha") -> Path:
    return register(
        name=name,
        run_dir=run_dir,
        socket=run_dir / "control.sock",
        origin="python x.py",
    ).entry


def test_a_registered_run_is_listed_until_it_leaves(tmp_path: Path) -> None:
    registration = register(
        name="alpha",
        run_dir=tmp_path / "runs" / "alpha",
        socket=tmp_path / "runs" / "alpha" / "control.sock",
        origin="python train.py",
    )
    (run,) = live_runs()
    assert (run.name, run.pid, run.origin) == ("alpha", os.getpid(), "python train.py")
    assert run.run_dir == tmp_path / "runs" / "alpha"
    assert stat.S_IMODE(registry_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(registration.entry.stat().st_mode) == 0o600
    registration.remove()
    registration.remove()  # idempotent
    assert live_runs() == []


def test_a_dead_process_s_entry_is_ignored_and_removed(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(child.stdout)
    entry = _register(tmp_path / "a")
    data = json.loads(entry.read_text())
    data["pid"] = dead_pid
    entry.write_text(json.dumps(data))
    assert live_runs(clean=False) == [] and entry.exists()
    assert live_runs() == [] and not entry.exists()


def test_a_reused_pid_is_not_the_run(tmp_path: Path) -> None:
    entry = _register(tmp_path / "a")
    data = json.loads(entry.read_text())
    assert data["proc_start"] == process_start(os.getpid()) is not None
    # The same pid, started at another time: another process now has it.
    data["proc_start"] = str(int(data["proc_start"]) + 1)
    entry.write_text(json.dumps(data))
    assert live_runs() == [] and not entry.exists()


def test_unreadable_entries_are_removed_and_runs_come_oldest_first(
    tmp_path: Path,
) -> None:
    first = _register(tmp_path / "a", "alpha")
    second = _register(tmp_path / "b", "beta")
    data = json.loads(first.read_text())
    data["started"] -= 10
    first.write_text(json.dumps(data))
    junk = registry_dir() / "junk.json"
    junk.write_text("{not json")
    assert [r.name for r in live_runs()] == ["alpha", "beta"]
    assert not junk.exists() and second.exists()


def test_a_registry_others_can_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("PAMIQ_CONSOLE_REGISTRY", str(shared))
    with pytest.raises(RegistryError, match="other users can write it"):
        _register(tmp_path / "a")


def test_where_the_registry_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAMIQ_CONSOLE_REGISTRY")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "rt"))
    assert registry_dir() == tmp_path / "rt" / "pamiq-console" / "runs"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert registry_dir() == tmp_path / "state" / "pamiq-console" / "runs"
