"""End to end: `pamiq-console run --headless` in a subprocess, driven through the CLI."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console import runner as runner_mod
from console.cli import app
from engine.services.run_dir import read_run_info
from engine.state.catalogue import list_states
from engine.state.manifest import verify_state
from tests.console.helpers import ROOT, bandit_config, wait_until

ENV = {
    **os.environ,
    "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
}


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )


def start(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    config = tmp_path / "run.toml"
    if not config.exists():
        config.write_text(bandit_config(tmp_path, name="e2e"))
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", "run", str(config), "--headless", *extra],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=tmp_path,
    )


def wait_live(run_dir: Path, proc: subprocess.Popen[str]) -> None:
    def live() -> bool:
        assert proc.poll() is None, proc.communicate()
        info = read_run_info(run_dir)
        return info is not None and info.live

    wait_until(live, timeout=30, what="the run's control socket")


def test_headless_run_driven_by_the_cli(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = start(tmp_path)
    try:
        wait_live(run_dir, proc)
        status = json.loads(cli("status", "--run", run_dir, "--json").stdout)
        assert status["name"] == "e2e" and status["state"] == "active"
        assert (
            cli("pause", "--run", run_dir).stdout.strip()
            == "paused run e2e (state: paused)"
        )
        paused_steps = json.loads(cli("status", "--run", run_dir, "--json").stdout)[
            "steps"
        ]
        saved = cli("save", "--run", run_dir)
        assert saved.returncode == 0, saved.stderr
        state = Path(saved.stdout.split()[1])
        verify_state(state)
        assert (
            json.loads(cli("status", "--run", run_dir, "--json").stdout)["steps"]
            == paused_steps
        )
        loaded = cli("load", state.name, "--run", run_dir)
        assert loaded.stdout.strip() == f"loaded {state} into run e2e", loaded.stderr
        refused = cli("load", "/etc", "--run", run_dir)
        assert refused.returncode == 1 and "not a state of this run" in refused.stderr
        assert (
            cli("resume", "--run", run_dir).stdout.strip()
            == "resumed run e2e (state: active)"
        )
        wait_until(
            lambda: (
                json.loads(cli("status", "--run", run_dir, "--json").stdout)["steps"]
                > paused_steps
            ),
            what="steps after resume",
        )
        assert cli("shutdown", "--run", run_dir).returncode == 0
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "saved" in err and "loaded" in err and "system stopped" in err
    states = [i for i in list_states(run_dir / "states") if not i.problem]
    assert len(states) == 2  # the manual save and the final one
    for info in states:
        verify_state(info.path)
    assert states[-1].manifest["steps"] > paused_steps
    assert (run_dir / "metrics.jsonl").stat().st_size > 0
    info = read_run_info(run_dir)
    assert info is not None and not info.live and info.data["exit_code"] == 0
    gone = cli("status", "--run", run_dir)
    assert gone.returncode == 1 and gone.stderr.startswith("no run is listening")


def test_sigterm_stops_in_order_and_resume_continues(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = start(tmp_path)
    wait_live(run_dir, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    first = [i for i in list_states(run_dir / "states") if not i.problem]
    assert len(first) == 1
    proc = start(tmp_path, "--resume", "--max-uptime", "0.2")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"loaded {first[0].path}" in err
    states = [i for i in list_states(run_dir / "states") if not i.problem]
    assert (
        len(states) == 2 and states[-1].manifest["steps"] >= first[0].manifest["steps"]
    )


def test_failing_thread_exits_non_zero(tmp_path: Path, parts: str) -> None:
    parts_dir = (
        Path(sys.modules[parts].__file__ or "").parent
        if parts in sys.modules
        else tmp_path / "parts"
    )
    env_path = f"{parts_dir}{os.pathsep}{ENV['PYTHONPATH']}"
    config = tmp_path / "run.toml"
    trainers = f'\n[trainers.bad]\ntarget = "{parts}:ExplodingTrainer"\n'
    config.write_text(bandit_config(tmp_path, name="e2e", trainers=trainers))
    proc = subprocess.run(
        [sys.executable, "-m", "console.cli", "run", str(config), "--headless"],
        capture_output=True,
        text=True,
        env={**ENV, "PYTHONPATH": env_path},
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "error: training" in proc.stderr and "RuntimeError: boom" in proc.stderr
    # No traceback on screen: where it was raised, and the log that has it all.
    assert "Traceback (most recent call last)" not in proc.stderr
    assert "raised at " in proc.stderr and " in train (traceback in " in proc.stderr
    assert "tracebacks: " in proc.stderr
    errors = next(tmp_path.rglob("errors.log")).read_text()
    assert "RuntimeError: boom" in errors and "Traceback" in errors


@pytest.mark.parametrize("headless", [True])
def test_config_error_from_the_real_script(tmp_path: Path, headless: bool) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(bandit_config(tmp_path).replace("arms = 3", "arms = 3.5"))
    proc = cli("run", config, "--headless" if headless else "")
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"{config}: models.values.arms: expected int, got float 3.5"
    )


def test_an_error_after_the_start_is_not_said_to_be_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing the run's output fails once it runs (a full disk): the run is
    stopped in order, and the one line says it happened after the start."""

    def full(_text: str, _out: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    config = tmp_path / "run.toml"
    config.write_text(bandit_config(tmp_path, name="e2e"))
    monkeypatch.setattr(runner_mod, "say", full)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", str(config), "--headless"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error after the run started: [Errno 28] No space left on device\n"
    )
    info = read_run_info(tmp_path / "run")
    assert info is not None and info.data["exit_code"] == 0
    assert [i for i in list_states(tmp_path / "run" / "states") if not i.problem]
