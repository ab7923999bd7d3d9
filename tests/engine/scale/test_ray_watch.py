"""RayWatch on stand-in processes: a lost raylet or GCS is noticed at once, and what was left is killed.

Real Ray is in test_ray_lost.py; these need no Ray: a "raylet" is a Python
process with children shaped like Ray's (an agent, and a worker that keeps
its raylet's pid in ``RAY_RAYLET_PID`` and has a child of its own).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.scale.ray_watch import RayWatch

# The "raylet": starts an agent and a worker (which starts a child), prints
# their pids, then waits to be killed.
_RAYLET = r"""
import os, subprocess, sys
sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
worker_code = (
    "import subprocess, sys, time; "
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "print(c.pid, flush=True); time.sleep(600)"
)
agent = subprocess.Popen(sleep)
env = dict(os.environ, RAY_RAYLET_PID=str(os.getpid()))
worker = subprocess.Popen([sys.executable, "-c", worker_code], env=env,
                          stdout=subprocess.PIPE, text=True, start_new_session=True)
grandchild = worker.stdout.readline().strip()
print(agent.pid, worker.pid, grandchild, flush=True)
sys.stdin.read()
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in "ZXx"


def _wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    """The pids still running once all ended or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if _running(p)]
        if not left:
            return []
        time.sleep(0.02)
    return [p for p in pids if _running(p)]


class _Lost:
    """Records each on_lost call; ``event`` is set by the first."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reasons: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, why: str) -> None:
        with self._lock:
            self.reasons.append(why)
        self.event.set()


@pytest.fixture
def raylet() -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _RAYLET],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    children = [int(p) for p in proc.stdout.readline().split()]
    assert len(children) == 3
    yield proc, children
    for pid in [proc.pid, *children]:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)
    proc.wait(10)


def test_a_killed_raylet_is_noticed_at_once_and_everything_of_its_ray_is_killed(
    raylet: tuple[subprocess.Popen[str], list[int]],
) -> None:
    proc, children = raylet
    lost = _Lost()
    watch = RayWatch([("raylet", proc.pid)], lost, owned=[proc.pid], period=5.0)
    watch.start()
    try:
        assert watch.check() is None
        killed_at = time.monotonic()
        proc.kill()
        # The period is 5 s: only the pidfd can wake the watch this early.
        assert lost.event.wait(2.0)
        assert time.monotonic() - killed_at < 2.0
        assert lost.reasons == [f"the raylet (pid {proc.pid}) died"]
        assert watch.check() == watch.lost == lost.reasons[0]
        # The agent and the worker's child were reparented when the raylet
        # died; the watch knew them from before, and the worker by its mark.
        assert _wait_gone(children) == []
    finally:
        watch.close()


def test_every_thread_that_checks_sees_the_loss_but_it_is_reported_once(
    raylet: tuple[subprocess.Popen[str], list[int]],
) -> None:
    proc, _ = raylet
    lost = _Lost()
    watch = RayWatch([("raylet", proc.pid)], lost)  # not started: checks only
    proc.kill()
    proc.wait(10)
    seen: list[str | None] = []
    go = threading.Barrier(8)

    def check() -> None:
        go.wait(5)
        seen.append(watch.check())

    threads = [threading.Thread(target=check) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    watch.close()
    assert seen == [f"the raylet (pid {proc.pid}) died"] * 8
    assert len(lost.reasons) == 1


def test_a_joined_ray_is_never_killed(
    raylet: tuple[subprocess.Popen[str], list[int]],
) -> None:
    proc, children = raylet
    lost = _Lost()
    watch = RayWatch([("raylet", proc.pid)], lost, period=0.05)  # owned: none
    watch.start()
    try:
        proc.kill()
        assert lost.event.wait(5)
        assert watch.kill_leftovers() == 0
        assert all(_running(p) for p in children)
    finally:
        watch.close()


def test_a_gcs_elsewhere_is_lost_once_it_has_not_answered_for_the_grace() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5.0)
    port = server.getsockname()[1]
    lost = _Lost()
    watch = RayWatch(
        [], lost, gcs_probe=("127.0.0.1", port), period=0.05, gcs_grace=0.3
    )
    watch.start()
    try:
        # Answered probes for longer than the grace: not lost.
        started = time.monotonic()
        answered = 0
        while time.monotonic() - started < 0.6:
            server.accept()[0].close()
            answered += 1
        assert answered >= 5
        assert watch.lost is None and not lost.event.is_set()
        server.close()
        assert lost.event.wait(5)
        assert lost.reasons == [
            f"the GCS at 127.0.0.1:{port} has not answered for 0.3 s"
        ]
    finally:
        server.close()
        watch.close()


def test_a_closed_watch_says_nothing_of_a_ray_shut_down_on_purpose(
    raylet: tuple[subprocess.Popen[str], list[int]],
) -> None:
    proc, children = raylet
    lost = _Lost()
    watch = RayWatch([("GCS", proc.pid)], lost, owned=[proc.pid], period=0.05)
    watch.start()
    watch.close()
    proc.kill()
    proc.wait(10)
    assert watch.check() is None
    assert not lost.event.is_set()
    assert all(_running(p) for p in children)
