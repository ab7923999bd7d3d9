"""The 2-actor sample (``minimal_ray.toml``) as a user runs it: the dashboard in a real terminal.

``test_real_terminal.py`` drives every other sample twice (dashboard and
headless); this one gets a single run instead, because each start of a local
Ray costs 5-15 s on the 2-core test machine, and that run joins the test
session's Ray (``RAY_ADDRESS``, as ``address = "auto"`` joins a cluster's)
instead of starting one. The one run covers what Ray changes: the actors panel and ``status --json`` with the actors, pausing every
actor, an actor killed mid-run coming back, save and load with the actors'
states, Ray's own output kept off the screen, and SIGTERM stopping the run in
order with a final save.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.state.manifest import verify_state
from tests.console.helpers import ROOT
from tests.console.test_real_terminal import (
    PAUSED_TOAST,
    SCRIPT,
    Tmux,
    _cli,
    _saved,
    _wait,
)

pytest.importorskip("ray")
pytestmark = [
    pytest.mark.ray,
    pytest.mark.skipif(
        not SCRIPT.exists(), reason="needs the installed pamiq-console script"
    ),
]

SAMPLE = ROOT / "sample_configs" / "minimal_ray.toml"


def _status(cwd: Path, run_dir: Path) -> dict:
    reply = _cli(cwd, "status", "--run", run_dir, "--json")
    assert reply.returncode == 0, reply.stderr
    return json.loads(reply.stdout)


def _pane_pid(tmux: Tmux) -> int:
    shown = subprocess.run(
        [*tmux.base, "display-message", "-p", "-t", tmux.name, "#{pane_pid}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(shown.stdout.strip())


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    session = Tmux(tmp_path / "tmux.sock", (120, 40))
    try:
        yield session
    finally:
        session.kill()


def test_the_two_actor_sample_in_a_real_terminal(
    tmp_path: Path, terminal: Tmux, ray_session: Any
) -> None:
    tmux = terminal
    run_dir = tmp_path / "runs" / "minimal_ray"
    address = ray_session.get_runtime_context().gcs_address
    # exec: the pane's process is pamiq-console itself, for the SIGTERM below.
    tmux.start(
        f"RAY_ADDRESS={address} exec {SCRIPT} run {SAMPLE} --resume", cwd=tmp_path
    )
    tmux.wait_for("actors 2/2 up", timeout=120)
    tmux.wait_for("running")

    def status() -> dict:
        return _status(tmp_path, run_dir)

    _wait(lambda: status()["steps"] > 0, 30, "the actors' steps to reach the learner")
    now = status()
    assert now["step_source"] == "actors"
    assert [a["actor"] for a in now["actors"]] == [0, 1]
    assert all(a["alive"] and a["pid"] > 0 for a in now["actors"])

    # An actor killed mid-run is restarted and says so in the event log.
    os.kill(now["actors"][0]["pid"], signal.SIGKILL)
    tmux.wait_for("actor 0 died", timeout=60)
    tmux.wait_for("actor 0 restarted", timeout=120)
    _wait(
        lambda: (
            status()["actors"][0]["restarts"] == 1 and status()["actors"][0]["alive"]
        ),
        30,
        "the restarted actor in the status",
    )

    tmux.keys("p")
    tmux.wait_for("all paused")
    tmux.wait_for(" PAUSED ")
    tmux.wait_for(PAUSED_TOAST)  # else the p below may find the dashboard busy
    saved = _cli(tmp_path, "save", "--run", run_dir)
    assert saved.returncode == 0, saved.stderr
    state = Path(saved.stdout.splitlines()[0].split()[1])
    verify_state(state)
    assert sorted(p.name for p in (state / "interaction" / "actors").iterdir()) == [
        "0.tar",
        "1.tar",
    ]
    loaded = _cli(tmp_path, "load", state.name, "--run", run_dir)
    assert loaded.returncode == 0, loaded.stderr
    tmux.keys("p")
    tmux.wait_for(" ACTIVE ")

    # Nothing but the dashboard on the screen: no Ray log line drew over it.
    screen = tmux.screen()
    for noise in ("(raylet)", "(pid=", "INFO", "WARNING", "Traceback", "ray."):
        assert noise not in screen, screen

    before = len(_saved(run_dir))
    os.kill(_pane_pid(tmux), signal.SIGTERM)
    _wait(
        lambda: (
            subprocess.run(
                [*tmux.base, "has-session", "-t", tmux.name], capture_output=True
            ).returncode
            != 0
        ),
        90,
        "pamiq-console to stop after SIGTERM",
    )
    info = json.loads((run_dir / "run.json").read_text())
    assert info["exit_code"] == 0
    assert len(_saved(run_dir)) > before, "no final save"
