"""The control endpoint: protocol, permissions, path limits, and robustness."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from console.control_client import ControlClient, ControlError
from console.run_choice import NoRunError, find_live_run
from engine.services.control_server import (
    IDLE_TIMEOUT,
    PROTOCOL_VERSION,
    ControlHandler,
    ControlServer,
)
from engine.services.run_dir import SUN_PATH_MAX, RunDir, read_run_info, socket_path_for
from engine.telemetry.events import Metric
from tests.console.helpers import wait_until


def raw_exchange(path: Path, payload: bytes) -> list[dict[str, Any]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return [json.loads(line) for line in data.splitlines()]


def test_socket_and_run_dir_are_owner_only(live_run: Any) -> None:
    sock = live_run.run_dir.socket_path
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(live_run.run_dir.path.stat().st_mode) == 0o700
    info = read_run_info(live_run.run_dir.path)
    assert info is not None and info.live and info.pid == os.getpid()
    assert info.socket == sock


def test_operations_round_trip(live_run: Any) -> None:
    client = ControlClient(live_run.run_dir.socket_path)
    assert client.request("ping")["pid"] == os.getpid()
    status = client.request("status")
    assert status["name"] == "tiny" and status["run"]["pid"] == os.getpid()
    assert client.request("pause")["state"] == "paused"
    saved = client.request("save")
    assert Path(saved["path"]).is_dir()
    assert [s["name"] for s in client.request("states")] == [saved["name"]]
    assert client.request("load", state=saved["name"])["name"] == saved["name"]
    assert client.request("load", state="latest")["name"] == saved["name"]
    assert client.request("resume")["state"] == "active"
    kinds = {e["kind"] for e in client.request("events", limit=100)}
    assert {"saved", "loaded", "state"} <= kinds
    assert client.request("shutdown")["state"] in ("stopping", "stopped")
    assert live_run.system.wait(timeout=30)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"not json\n", "malformed request: not JSON"),
        (b"[1, 2]\n", "malformed request: expected a JSON object"),
        (b'{"op": 3}\n', "malformed request: missing 'op'"),
        (b'{"op": "explode"}\n', "unknown op 'explode'"),
        (b'{"op": "load"}\n', "'state' must be a state name or path"),
        (b'{"op": "load", "state": "../../etc"}\n', "not a state of this run"),
        (b'{"op": "load", "state": "/etc"}\n', "not a state of this run"),
        (b'{"op": "load", "state": "nope.state"}\n', "no such state"),
        (b'{"op": "events", "limit": "x"}\n', "'limit' must be a non-negative integer"),
        (b'{"op": "pause", "timeout": -1}\n', "'timeout' must be a number of seconds"),
        (b"\xff\xfe\n", "malformed request"),
        (b"[" * 50_000 + b"\n", "malformed request: not JSON"),
        (
            b'{"op": "pause", "timeout": 1e400}\n',
            "'timeout' must be a number of seconds",
        ),
    ],
)
def test_malformed_requests_get_errors_and_the_run_survives(
    live_run: Any, payload: bytes, error: str
) -> None:
    replies = raw_exchange(
        live_run.run_dir.socket_path, payload + b'{"op": "ping", "id": 7}\n'
    )
    assert replies[0]["ok"] is False and error in replies[0]["error"]
    assert replies[1] == {
        "ok": True,
        "result": {
            "pid": os.getpid(),
            "idle_timeout": IDLE_TIMEOUT,
            "protocol": PROTOCOL_VERSION,
        },
        "id": 7,
    }
    assert live_run.system.state.value == "active"


def test_load_refuses_a_state_outside_the_states_dir(
    live_run: Any, tmp_path: Path
) -> None:
    client = ControlClient(live_run.run_dir.socket_path)
    saved = Path(client.request("save")["path"])
    outside = tmp_path / "elsewhere" / saved.name
    shutil.copytree(saved, outside)
    with pytest.raises(ControlError, match="not a state of this run"):
        client.request("load", state=str(outside))
    sneaky = saved.parent / "sneaky.state"
    sneaky.symlink_to(outside)  # a link inside pointing outside is refused too
    with pytest.raises(ControlError, match="not a state of this run"):
        client.request("load", state="sneaky.state")
    # ...and "latest" never picks it, however new the link is.
    loaded = client.request("load", state="latest")
    assert Path(loaded["path"]).resolve().parent == saved.parent.resolve()
    assert "sneaky" not in loaded["path"]


def test_latest_skips_states_that_do_not_verify(live_run: Any) -> None:
    client = ControlClient(live_run.run_dir.socket_path)
    good = client.request("save")
    bad = Path(client.request("save")["path"])
    manifest = json.loads((bad / "manifest.json").read_text())
    victim = bad / next(iter(manifest["files"]))
    victim.write_bytes(victim.read_bytes() + b"!")  # truncated or corrupt: both refused
    assert client.request("load", state="latest")["name"] == good["name"]
    with pytest.raises(ControlError, match="corrupt|truncated"):
        client.request("load", state=bad.name)


def test_a_flood_of_metrics_keeps_the_last_save_and_kinds_filter(
    live_run: Any,
) -> None:
    client = ControlClient(live_run.run_dir.socket_path)
    saved = client.request("save")
    for i in range(2_000):
        live_run.system.events.publish(
            Metric(source="agent", name="x", value=float(i), step=i)
        )
    only_saves = client.request("events", limit=10, kinds=["saved"])
    assert [e["path"] for e in only_saves][-1] == saved["path"]
    assert {e["kind"] for e in only_saves} == {"saved"}
    metrics = client.request("events", limit=10_000, kinds=["metric"])
    assert len(metrics) == 500  # the history is per kind
    assert 1999.0 in [m["value"] for m in metrics if m["source"] == "agent"]
    with pytest.raises(ControlError, match="'kinds' must be a list"):
        client.request("events", kinds="saved")
    with pytest.raises(ControlError, match="unknown event kind.*saves.*known:.*saved"):
        client.request("events", kinds=["saves"])


def test_oversized_request_is_refused(live_run: Any) -> None:
    replies = raw_exchange(live_run.run_dir.socket_path, b"x" * 70_000)
    assert replies == [{"ok": False, "error": "request too long"}]
    assert ControlClient(live_run.run_dir.socket_path).request("ping")


def test_long_run_dir_gets_a_short_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    path = socket_path_for(deep)
    assert len(os.fsencode(path)) <= SUN_PATH_MAX
    assert path.parent != deep
    run_dir = RunDir(deep)
    run_dir.acquire(name="deep")
    try:
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        info = read_run_info(deep)
        assert info is not None and info.socket == path
    finally:
        run_dir.release(0)


def test_no_run_is_reported_plainly(tmp_path: Path) -> None:
    with pytest.raises(NoRunError, match="no run is listening"):
        find_live_run(None, tmp_path / "runs")
    with pytest.raises(NoRunError, match="no run is listening"):
        find_live_run(tmp_path)
    with pytest.raises(NoRunError, match="no run is listening"):
        ControlClient(tmp_path / "absent.sock").request("status")


def test_a_stopped_run_is_not_live(live_run: Any) -> None:
    run_dir = live_run.run_dir.path
    live_run.stop_and_wait()
    wait_until(lambda: not live_run.run_dir.socket_path.exists(), what="socket removed")
    info = read_run_info(run_dir)
    assert info is not None and not info.live and info.data["exit_code"] == 0


# -- many clients at once, and idle ones --------------------------------------------


def test_200_clients_at_once_are_all_answered(live_run: Any) -> None:
    clients = 200
    barrier = threading.Barrier(clients)
    answers: list[Any] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        client = ControlClient(live_run.run_dir.socket_path, timeout=60)
        barrier.wait(30)  # released together
        try:
            reply = client.request("status")
        except ControlError as e:
            with lock:
                failures.append(str(e))
            return
        with lock:
            answers.append(reply)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert failures == []
    assert len(answers) == clients and all(a["name"] == "tiny" for a in answers)


def test_idle_connections_are_closed_after_the_idle_timeout(live_run: Any) -> None:
    handler = ControlHandler(live_run.system, live_run.services.curves)
    path = live_run.run_dir.path / "idle.sock"
    # Long enough to open them all and ask once while they are open on a busy
    # machine (waiting for all 50 handler threads at once raced a 0.3 s timeout).
    server = ControlServer(handler, path, idle_timeout=1.0)
    server.start()
    idle: list[socket.socket] = []
    try:
        for _ in range(50):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10)
            sock.connect(str(path))
            idle.append(sock)
        # Other clients are served while they are open.
        assert ControlClient(path).request("ping")["idle_timeout"] == 1.0
        # Every idle connection is closed by the run: the client reads EOF.
        for sock in idle:
            assert sock.recv(1) == b""
        wait_until(lambda: server.connections == 0, what="connections closed")
    finally:
        for sock in idle:
            sock.close()
        server.stop()
