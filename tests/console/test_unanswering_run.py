"""A run that does not answer (SIGSTOPped, or busy): the client says why it waits, and ctrl-c gives up.

A stopped process never answers its socket, yet the kernel accepts the
connection and the request: without a word the CLI would wait 300 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.control_client import ControlClient, ControlError
from tests.console.helpers import ROOT


class _SlowServer:
    """Accepts one request at a time and replies only once ``reply`` is set."""

    def __init__(self, path: Path) -> None:
        self.reply = threading.Event()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._sock.accept()
        with conn:
            conn.makefile("rb").readline()
            # A client that gave up has closed its end: nothing to reply to.
            if self.reply.wait(30):
                with contextlib.suppress(OSError):
                    conn.sendall(b'{"ok": true, "result": 42}\n')

    def close(self) -> None:
        self.reply.set()
        self._thread.join(10)
        self._sock.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, _SlowServer]]:
    path = tmp_path / "control.sock"
    slow = _SlowServer(path)
    yield path, slow
    slow.close()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process to stand for the run's (stopped or not, as the test makes it)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield proc
    proc.kill()
    proc.send_signal(signal.SIGCONT)
    proc.wait(10)


def _ask_in_thread(client: ControlClient) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(client.request("status")))
    thread.start()
    return thread, result


def _waiting_for_state(pid: int, state: str) -> None:
    deadline = threading.Event()
    for _ in range(1000):
        text = Path(f"/proc/{pid}/stat").read_text()
        if text.rsplit(")", 1)[1].split()[0] == state:
            return
        deadline.wait(0.01)
    raise AssertionError(f"process {pid} never reached state {state}")


def test_a_stopped_run_is_said_to_be_stopped_and_the_reply_still_counts(
    server: tuple[Path, _SlowServer], sleeper: subprocess.Popen[bytes]
) -> None:
    path, slow = server
    sleeper.send_signal(signal.SIGSTOP)
    _waiting_for_state(sleeper.pid, "T")
    told: list[str] = []
    said = threading.Event()

    def on_slow(line: str) -> None:
        told.append(line)
        said.set()

    client = ControlClient(
        path, timeout=30, on_slow=on_slow, pid=sleeper.pid, slow_after=0.2
    )
    thread, result = _ask_in_thread(client)
    assert said.wait(10)
    pid = sleeper.pid
    assert told == [
        f"the run (pid {pid}) is stopped (T): it was sent SIGSTOP or ctrl+z; "
        f"'kill -CONT {pid}' (or 'fg' in its terminal) resumes it; waiting up to "
        "30 s (ctrl-c gives up)"
    ]
    slow.reply.set()  # the run is continued and answers: the wait was worth it
    thread.join(10)
    assert result == [42] and len(told) == 1


def test_a_run_that_is_only_slow_is_said_to_be_not_answering(
    server: tuple[Path, _SlowServer], sleeper: subprocess.Popen[bytes]
) -> None:
    path, slow = server
    said = threading.Event()
    told: list[str] = []
    client = ControlClient(
        path,
        timeout=30,
        on_slow=lambda line: (told.append(line), said.set()),
        pid=sleeper.pid,
        slow_after=0.2,
    )
    thread, result = _ask_in_thread(client)
    assert said.wait(10)
    assert told == [
        f"the run (pid {sleeper.pid}) is not answering: it may be stopped "
        "(SIGSTOP/ctrl+z) or busy; waiting up to 30 s (ctrl-c gives up)"
    ]
    slow.reply.set()
    thread.join(10)
    assert result == [42]


def test_the_timeout_still_ends_the_wait(server: tuple[Path, _SlowServer]) -> None:
    path, _ = server
    told: list[str] = []
    client = ControlClient(path, timeout=0.5, on_slow=told.append, slow_after=0.1)
    with pytest.raises(ControlError, match=r"^no reply to 'status' within 0.5 s from "):
        client.request("status")
    assert len(told) == 1


def test_a_prompt_reply_says_nothing(server: tuple[Path, _SlowServer]) -> None:
    path, slow = server
    slow.reply.set()
    told: list[str] = []
    client = ControlClient(path, timeout=30, on_slow=told.append, slow_after=10)
    assert client.request("status") == 42
    assert told == []


def test_the_cli_says_a_run_is_stopped_and_ctrl_c_gives_up_in_one_line(
    tmp_path: Path,
) -> None:
    config = tmp_path / "minimal.toml"
    config.write_text((ROOT / "sample_configs" / "minimal.toml").read_text())
    cli = [sys.executable, "-m", "console.cli"]
    env = {**os.environ, "COLUMNS": "200"}
    run = subprocess.Popen(
        [*cli, "run", str(config), "--headless"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stderr is not None
        for line in run.stderr:  # the run says where it lives once it is live
            if line.startswith("run 'minimal'"):
                break
        else:
            pytest.fail("the run never started")
        run_dir = tmp_path / "runs" / "minimal"
        assert json.loads((run_dir / "run.json").read_text())["pid"] == run.pid
        run.send_signal(signal.SIGSTOP)
        _waiting_for_state(run.pid, "T")
        status = subprocess.Popen(
            [*cli, "status", "--run", str(run_dir)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert status.stderr is not None
        notice = status.stderr.readline()
        assert notice.startswith(f"the run (pid {run.pid}) is stopped (T): ")
        assert "waiting up to 300 s (ctrl-c gives up)" in notice
        status.send_signal(signal.SIGINT)
        rest = status.stderr.read()
        assert status.wait(10) == 1
        assert rest == (
            f"status: gave up waiting for the run (pid {run.pid}) to answer\n"
        )
    finally:
        run.send_signal(signal.SIGCONT)
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(30)
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait(10)
