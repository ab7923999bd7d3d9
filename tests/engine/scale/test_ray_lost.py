"""A scaled run whose own Ray dies (its raylet or GCS killed) stops in order, saves, and leaves nothing behind.

Each case runs ``minimal_ray.toml`` headless in a process of its own, with a
Ray of its own (not the session's: its raylet is killed), about 15-25 s on
the 2-core test machine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.state.manifest import verify_state
from tests.engine.scale.conftest import ROOT

pytest.importorskip("ray")
pytestmark = pytest.mark.ray

SAMPLE = ROOT / "sample_configs" / "minimal_ray.toml"


def _stat(pid: int) -> tuple[str, int, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """Running descendants of ``root``: pid to start time."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (stat := _stat(int(name))) and stat[0] != "Z":
            children.setdefault(stat[1], []).append(int(name))
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            stat = _stat(pid)
            if stat is not None:
                found[pid] = stat[2]
                todo.append(pid)
    return found


def _running(pid: int, start: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in "ZXx" and stat[2] == start


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class _Lines:
    """A process's output, read on a thread; waits for a line that holds a text."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> str:
        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        with self._changed:
            if not self._changed.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(
                    f"no {text!r} within {timeout} s:\n" + "\n".join(self.lines[-40:])
                )
            line = found()
            assert line is not None
            return line

    def join(self) -> str:
        self._thread.join(10)
        return "\n".join(self.lines)


@pytest.mark.parametrize(
    ("victim", "name"), [("raylet", "raylet"), ("gcs_server", "GCS")]
)
def test_a_run_whose_ray_dies_saves_its_state_reports_and_leaves_no_process(
    tmp_path: Path, victim: str, name: str
) -> None:
    # A Ray of its own: not the test session's (RAY_ADDRESS would join it).
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    run = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "run", str(SAMPLE), "--headless"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = _Lines(run.stdout)
    try:
        # Learning, and publishing weights (a ray.put each sync: the call
        # that ended the process at once when the raylet was gone).
        out.wait_for("synced to v", timeout=90)
        ray_processes = _descendants(run.pid)
        (target,) = [p for p in ray_processes if _comm(p) == victim]
        os.kill(target, signal.SIGKILL)
        rc = run.wait(60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
    text = out.join()
    assert rc == 1, text

    lost = f"Ray was lost: the {name} (pid {target}) died"
    assert (
        f"error        inference: inference thread failed: RayLostError: {lost}" in text
    )
    after = text[text.index(lost) :]
    assert "system stopping" in after
    saved = re.findall(r" saved (/\S+\.state) in ", after)
    assert len(saved) == 1, text
    verify_state(Path(saved[0]))

    run_dir = tmp_path / "runs" / "minimal_ray"
    record = json.loads((run_dir / "run.json").read_text())
    assert record["stopped"] is not None and record["exit_code"] == 1
    assert f"RayLostError: {lost}" in (run_dir / "errors.log").read_text()

    left = [
        f"{pid} {_comm(pid)}"
        for pid, start in ray_processes.items()
        if _running(pid, start)
    ]
    assert left == [], text
