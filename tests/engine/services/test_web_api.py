"""PAMIQ-Core 0.6.0's web API served from a real system, with real threads.

Every wait is on an event, a condition or a poll with a deadline. The tests
marked ``pamiq_core`` drive the server with PAMIQ-Core 0.6.0's own client and
REPL, from its cached virtualenv (``benchmarks/procs.py``; created once, which
needs PyPI).
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import LaunchConfig, SystemState
from engine.launch_config import is_loopback
from engine.services.web_api import STATUS_CODES, WebApiError, WebApiServer
from engine.telemetry.events import (
    EventBus,
    LogMessage,
    StateSaved,
    SystemStateChanged,
)
from tests.engine.tiny import LongTrainer, make_system, newest_state

WAIT = 10.0
CLIENT_TIMEOUT = 60.0
# A run serves the console (a run directory under ./runs) unless told not to;
# these tests serve the web API alone.
NO_CONSOLE: dict[str, Any] = (
    {"console": False}
    if "console" in {f.name for f in dataclasses.fields(LaunchConfig)}
    else {}
)


# -- helpers -------------------------------------------------------------------------


class Reply:
    def __init__(self, code: int, headers: Any, body: bytes) -> None:
        self.code = code
        self.headers = headers
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def call(server: WebApiServer, method: str, path: str) -> Reply:
    """One request with urllib; an HTTP error status is a reply, not an exception."""
    host, port = server.address
    request = urllib.request.Request(f"http://{host}:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as e:
        with e:
            return Reply(e.code, e.headers, e.read())


def raw_call(server: WebApiServer, method: str, target: str) -> Reply:
    """One request with http.client: the target is sent as is, redirects are not followed."""
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=WAIT)
    try:
        conn.request(method, target)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def status_of(server: WebApiServer) -> int:
    reply = call(server, "GET", "/api/status")
    assert reply.code == 200
    return reply.json["status"]


def wait_until(what: str, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


class Watcher:
    """Keeps the system's notices, saves and state changes (a subscription drops
    its oldest events when the tiny system's thousands a second overflow it)."""

    KINDS = (LogMessage, StateSaved, SystemStateChanged)

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Any] = []
        self._cond = threading.Condition()
        bus.add_callback(self._keep)

    def _keep(self, event: Any) -> None:
        if isinstance(event, self.KINDS):
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = WAIT) -> Any:
        """The first event so far that matches, waiting up to ``timeout`` for one."""
        with self._cond:
            found = self._cond.wait_for(
                lambda: next((e for e in self.events if predicate(e)), None), timeout
            )
        if found is None:
            pytest.fail(f"no matching event within {timeout} s")
        return found

    def snapshot(self) -> list[Any]:
        with self._cond:
            return list(self.events)


def is_log(text: str, level: str | None = None) -> Callable[[Any], bool]:
    return lambda e: (
        isinstance(e, LogMessage)
        and text in e.message
        and (level is None or e.level == level)
    )


def serve(system: Any, **kwargs: Any) -> WebApiServer:
    server = WebApiServer(system, ("127.0.0.1", 0), **kwargs)
    server.start()
    return server


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Any]:
    system, *_ = make_system(tmp_path, **NO_CONSOLE)
    system.start()
    yield system
    system.shutdown()
    assert system.wait(WAIT), "system did not stop"


@pytest.fixture
def api(system: Any) -> Iterator[WebApiServer]:
    server = serve(system)
    yield server
    server.stop()


class Held:
    """Replaces ``system.save_state`` with one that blocks until released."""

    def __init__(self, system: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        save = system.save_state

        def held_save() -> Path:
            self.entered.set()
            assert self.release.wait(WAIT)
            return save()

        monkeypatch.setattr(system, "save_state", held_save)


# -- the endpoints -------------------------------------------------------------------


def test_status_values_are_pamiq_cores() -> None:
    # SystemStatus(Enum) with auto(): ACTIVE, PAUSING, PAUSED, RESUMING, SHUTTING_DOWN, OFFLINE.
    assert STATUS_CODES == {
        SystemState.ACTIVE: 1,
        SystemState.PAUSING: 2,
        SystemState.PAUSED: 3,
        SystemState.RESUMING: 4,
        SystemState.STOPPING: 5,
        SystemState.STOPPED: 5,
    }


def test_status_is_json_with_the_integer(api: WebApiServer) -> None:
    reply = call(api, "GET", "/api/status")
    assert reply.code == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.body == b'{"status":1}'  # Starlette's compact JSON


def test_commands_take_effect(system: Any, api: WebApiServer, tmp_path: Path) -> None:
    watched = Watcher(system.events)
    reply = call(api, "POST", "/api/pause")
    assert (reply.code, reply.body) == (200, b'{"result":"ok"}')
    wait_until("paused", lambda: status_of(api) == 3)
    assert system.state is SystemState.PAUSED

    assert call(api, "POST", "/api/resume").json == {"result": "ok"}
    wait_until("active", lambda: status_of(api) == 1)

    assert call(api, "POST", "/api/save-state").json == {"result": "ok"}
    saved = watched.wait_for(lambda e: isinstance(e, StateSaved))
    assert Path(saved.path) == newest_state(tmp_path / "states")
    assert system.state is SystemState.ACTIVE  # resumed after the save

    assert call(api, "POST", "/api/shutdown").json == {"result": "ok"}
    assert system.wait(WAIT)
    assert status_of(api) == 5
    watched.wait_for(is_log("stopping: web API shutdown request"))
    assert system.failures == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/api"),
        ("GET", "/api/"),
        ("POST", "/api/nope"),
        ("PUT", "/status"),
        ("GET", "/api/status/x"),
        ("GET", "/API/status"),
    ],
)
def test_an_unknown_path_is_404(api: WebApiServer, method: str, path: str) -> None:
    reply = call(api, method, path)
    assert (reply.code, reply.json) == (404, {"error": "Invalid API endpoint"})
    assert reply.headers["Content-Type"] == "application/json"


def test_a_double_slash_is_not_folded(api: WebApiServer) -> None:
    # BaseHTTPRequestHandler folds "//x" into "/x"; Starlette does not.
    assert raw_call(api, "GET", "//api/status").code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/status"),
        ("DELETE", "/api/status"),
        ("GET", "/api/pause"),
        ("GET", "/api/save-state"),
        ("PUT", "/api/shutdown"),
        ("OPTIONS", "/api/resume"),
        ("post", "/api/pause"),  # methods are case-sensitive
    ],
)
def test_a_wrong_method_is_405(api: WebApiServer, method: str, path: str) -> None:
    reply = raw_call(api, method, path)
    assert (reply.code, reply.json) == (405, {"error": "Invalid API method"})
    assert "Allow" not in reply.headers  # Starlette's handler drops it


def test_head_is_get_without_a_body(api: WebApiServer) -> None:
    reply = raw_call(api, "HEAD", "/api/status")
    assert reply.code == 200
    assert reply.body == b""
    assert reply.headers["Content-Length"] == "12"
    assert raw_call(api, "HEAD", "/api/pause").code == 405
    missing = raw_call(api, "HEAD", "/nope")
    assert (missing.code, missing.body) == (404, b"")


def test_a_request_body_is_ignored(system: Any, api: WebApiServer) -> None:
    host, port = api.address
    request = urllib.request.Request(
        f"http://{host}:{port}/api/pause", data=b'{"x": 1}' * 1000, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        assert (response.status, response.read()) == (200, b'{"result":"ok"}')
    wait_until("paused", lambda: system.state is SystemState.PAUSED)


def test_query_strings_and_escapes_are_as_starlette_has_them(
    api: WebApiServer,
) -> None:
    assert call(api, "GET", "/api/status?verbose=1").json == {"status": 1}
    assert call(api, "GET", "/api/stat%75s").json == {"status": 1}
    reply = raw_call(api, "POST", "/api/save-state/?x=1")
    host, port = api.address
    assert reply.code == 307
    assert reply.headers["Location"] == f"http://{host}:{port}/api/save-state?x=1"


@pytest.mark.parametrize("queue_size", [1, 3])
def test_a_full_queue_answers_503(
    system: Any, monkeypatch: pytest.MonkeyPatch, queue_size: int
) -> None:
    held = Held(system, monkeypatch)
    api = serve(system, queue_size=queue_size)
    watched = Watcher(system.events)
    try:
        assert call(api, "POST", "/api/save-state").code == 200
        assert held.entered.wait(WAIT)  # the worker took it: the queue is empty
        for _ in range(queue_size):
            assert call(api, "POST", "/api/pause").code == 200
        for endpoint in ("/api/resume", "/api/shutdown"):
            reply = call(api, "POST", endpoint)
            assert reply.code == 503
            assert reply.json == {"error": "Command queue is full, try again later"}
        watched.wait_for(is_log("command queue is full", "warning"))
        held.release.set()
        wait_until("paused", lambda: system.state is SystemState.PAUSED)
    finally:
        held.release.set()
        api.stop()


# -- failures ------------------------------------------------------------------------


def test_a_pause_timeout_is_a_warning(tmp_path: Path) -> None:
    class Stubborn(LongTrainer):
        def train(self) -> None:
            self.inside.set()
            self.finish.wait(WAIT)  # never calls pause_point()

    trainer = Stubborn()
    system, *_ = make_system(
        tmp_path, trainer=trainer, timeout_for_all_threads_pause=0.1, **NO_CONSOLE
    )
    watched = Watcher(system.events)
    system.start()
    api = serve(system)
    try:
        assert trainer.inside.wait(WAIT)
        assert call(api, "POST", "/api/pause").code == 200
        warning = watched.wait_for(is_log("web API: pause failed", "warning"))
        assert "training thread" in warning.message
        assert status_of(api) == 2  # pausing, until the trainer gets there
        trainer.finish.set()
        wait_until("paused", lambda: status_of(api) == 3)
        assert call(api, "POST", "/api/resume").code == 200
        wait_until("active", lambda: status_of(api) == 1)
        assert system.failures == []
    finally:
        trainer.finish.set()
        api.stop()
        system.shutdown()
        assert system.wait(WAIT)


def test_commands_to_a_stopped_system_are_warnings(
    system: Any, api: WebApiServer
) -> None:
    watched = Watcher(system.events)
    system.shutdown()
    assert system.wait(WAIT)
    for endpoint in ("pause", "save-state"):
        assert call(api, "POST", f"/api/{endpoint}").code == 200
        watched.wait_for(is_log(f"web API: {endpoint} failed", "warning"))
    assert status_of(api) == 5
    assert system.failures == []


class _BrokenSystem:
    """Answers nothing but its events; reading its state raises."""

    def __init__(self) -> None:
        self.events = EventBus()
        self.failed: list[str] = []

    @property
    def state(self) -> SystemState:
        raise RuntimeError("no state today")

    def report_failure(self, thread: str, exc: BaseException, tb: str = "") -> None:
        self.failed.append(thread)


def test_an_error_while_answering_is_500_and_nothing_else() -> None:
    broken = _BrokenSystem()
    watched = Watcher(broken.events)
    api = serve(broken)
    try:
        for _ in range(2):
            reply = call(api, "GET", "/api/status")
            assert (reply.code, reply.json) == (500, {"error": "Internal server error"})
        warning = watched.wait_for(is_log("no state today", "warning"))
        assert warning.message.startswith("web API: GET /api/status failed")
        assert call(api, "GET", "/nope").code == 404  # still serving
        assert broken.failed == []
    finally:
        api.stop()


# -- binding and stopping ---------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "", "192.168.1.10", "example.com", "::"])
def test_a_non_loopback_host_is_refused(system: Any, host: str) -> None:
    server = WebApiServer(system, (host, 8391))
    with pytest.raises(WebApiError) as info:
        server.start()
    message = str(info.value)
    assert message == (
        f"web_api_address ({host!r}, 8391): the web API is unauthenticated; serve "
        "it on a loopback host, or set LaunchConfig.web_api_allow_remote=True to "
        "expose it"
    )
    assert "\n" not in message
    server.stop()


def test_allow_remote_skips_the_loopback_check(system: Any) -> None:
    # 192.0.2.1 is TEST-NET-1: never this machine's, so the bind fails and
    # nothing is exposed; what fails is the bind, not the check.
    server = WebApiServer(system, ("192.0.2.1", 0), allow_remote=True)
    with pytest.raises(WebApiError) as info:
        server.start()
    assert str(info.value).startswith("web_api_address ('192.0.2.1', 0): ")
    assert "unauthenticated" not in str(info.value)


def test_loopback_means_localhost_127_0_0_0_8_and_ipv6_1() -> None:
    for host in ("localhost", "127.0.0.1", "127.255.0.9", "::1"):
        assert is_loopback(host), host
    for host in ("", "0.0.0.0", "::", "10.0.0.1", "localhost.example.com", "128.0.0.1"):
        assert not is_loopback(host), host


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_loopback_hosts_are_served(system: Any, host: str) -> None:
    server = WebApiServer(system, (host, 0))
    server.start()
    try:
        assert server.address[0] == host
        assert server.address[1] != 0
        assert status_of(server) == 1
    finally:
        server.stop()


def test_ipv6_loopback_is_served(system: Any) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    server = WebApiServer(system, ("::1", 0))
    try:
        server.start()
    except WebApiError as e:
        pytest.skip(f"::1 cannot be bound here: {e}")
    try:
        assert server.describe() == (
            f"PAMIQ-Core web API (unauthenticated) on http://[::1]:{server.address[1]}/api"
        )
        assert raw_call(server, "GET", "/api/status").json == {"status": 1}
    finally:
        server.stop()


def test_an_occupied_port_is_refused(system: Any, api: WebApiServer) -> None:
    port = api.address[1]
    second = WebApiServer(system, ("127.0.0.1", port))
    with pytest.raises(WebApiError) as info:
        second.start()
    assert (
        str(info.value)
        == f"web_api_address ('127.0.0.1', {port}): address already in use"
    )
    assert status_of(api) == 1  # the first one is untouched


def test_describe_names_the_bound_port(api: WebApiServer) -> None:
    port = api.address[1]
    assert api.describe() == (
        f"PAMIQ-Core web API (unauthenticated) on http://127.0.0.1:{port}/api"
    )


def test_stop_is_idempotent_and_frees_the_port(system: Any) -> None:
    server = serve(system)
    port = server.address[1]
    threads = list(server._threads)
    assert all(t.daemon and t.is_alive() for t in threads)
    server.stop()
    server.stop()
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(urllib.error.URLError):
        call(server, "GET", "/api/status")
    again = WebApiServer(system, ("127.0.0.1", port))
    again.start()
    try:
        assert status_of(again) == 1
    finally:
        again.stop()
    WebApiServer(system, ("127.0.0.1", 0)).stop()  # never started: nothing to do


def test_stop_from_the_command_worker_itself(system: Any) -> None:
    # What a system does that stops its services when it is told to shut down.
    server = serve(system)
    stopped = threading.Event()

    def on_event(event: Any) -> None:
        if is_log("stopping: web API shutdown request")(event):
            server.stop()
            stopped.set()

    remove = system.events.add_callback(on_event)
    try:
        assert call(server, "POST", "/api/shutdown").code == 200
        assert stopped.wait(WAIT)
        assert system.wait(WAIT)
        wait_until(
            "the worker to exit", lambda: not any(t.is_alive() for t in server._threads)
        )
    finally:
        remove()
        server.stop()


# -- curl ----------------------------------------------------------------------------


def test_curl_pauses_and_reads_the_status(system: Any, api: WebApiServer) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    host, port = api.address
    base = f"http://{host}:{port}/api"

    def run(*args: str) -> str:
        return subprocess.run(
            [curl, "-s", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=WAIT,
        ).stdout

    assert run("-X", "POST", f"{base}/pause") == '{"result":"ok"}'
    seen: list[str] = []

    def paused() -> bool:
        seen.append(run(f"{base}/status"))
        return seen[-1] == '{"status":3}'

    wait_until("paused", paused)
    # Active until the worker takes the command, then pausing, then paused.
    assert set(seen) <= {'{"status":1}', '{"status":2}', '{"status":3}'}
    assert system.state is SystemState.PAUSED


# -- PAMIQ-Core 0.6.0's own client and REPL ----------------------------------------------


@pytest.fixture(scope="module")
def pamiq_core_python() -> str:
    from benchmarks import procs

    python, reason = procs.reference_python()
    if python is None:
        pytest.skip(f"PAMIQ-Core 0.6.0's virtualenv: {reason}")
    return python


CLIENT_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from pamiq_core.console.system_status import SystemStatus
from pamiq_core.console.web_api import WebApiClient

host, port, states = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
client = WebApiClient(host, port)
seen = {}

def wait_for(what, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.005)

seen["initial"] = client.get_status().name
seen["pause"] = client.pause()
wait_for("PAUSED", lambda: client.get_status() is SystemStatus.PAUSED)
seen["resume"] = client.resume()
wait_for("ACTIVE", lambda: client.get_status() is SystemStatus.ACTIVE)
seen["save_state"] = client.save_state()
# Once a state is being written the worker has taken the command: the queue is empty.
wait_for("a state", lambda: any(p.is_dir() for p in states.iterdir()))
seen["shutdown"] = client.shutdown()
wait_for("SHUTTING_DOWN", lambda: client.get_status() is SystemStatus.SHUTTING_DOWN)
client.close()
print(json.dumps(seen))
"""


@pytest.mark.pamiq_core
@pytest.mark.timeout(900)
def test_pamiq_cores_web_api_client(
    pamiq_core_python: str, system: Any, api: WebApiServer, tmp_path: Path
) -> None:
    watched = Watcher(system.events)
    host, port = api.address
    out = subprocess.run(
        [
            pamiq_core_python,
            "-c",
            CLIENT_SCRIPT,
            host,
            str(port),
            str(tmp_path / "states"),
        ],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == {
        "initial": "ACTIVE",
        "pause": "ok",
        "resume": "ok",
        "save_state": "ok",
        "shutdown": "ok",
    }
    assert system.wait(WAIT)
    events = watched.snapshot()
    states = [e.state for e in events if isinstance(e, SystemStateChanged)]
    assert states[:4] == ["pausing", "paused", "resuming", "active"]
    assert states[-2:] == ["stopping", "stopped"]
    saves = [e for e in events if isinstance(e, StateSaved)]
    assert len(saves) == 2  # the client's and the final one
    assert any(is_log("stopping: web API shutdown request")(e) for e in events)
    assert system.failures == []


@pytest.mark.pamiq_core
@pytest.mark.timeout(900)
def test_pamiq_cores_repl_with_piped_commands(
    pamiq_core_python: str, system: Any, tmp_path: Path
) -> None:
    # Commands sent back to back: the queue holds them all.
    api = serve(system, queue_size=8)
    watched = Watcher(system.events)
    host, port = api.address
    try:
        out = subprocess.run(
            [repl(pamiq_core_python), "--host", host, "--port", str(port)],
            input="pause\nresume\nsave\nq\n",
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        lines = [line.strip() for line in out.stdout.splitlines()]
        assert lines.count("ok") == 3, out.stdout
        assert "Failed" not in out.stdout
        for what in ("paused", "resumed"):
            watched.wait_for(is_log(what))
        watched.wait_for(lambda e: isinstance(e, StateSaved))
        assert system.state is SystemState.ACTIVE
    finally:
        api.stop()


def repl(python: str) -> str:
    return str(Path(python).parent / "pamiq-console")


@pytest.mark.pamiq_core
@pytest.mark.timeout(900)
def test_pamiq_cores_repl_shuts_the_system_down(
    pamiq_core_python: str, system: Any, api: WebApiServer, tmp_path: Path
) -> None:
    # Its shutdown asks for confirmation with input(): that needs a terminal.
    host, port = api.address
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [repl(pamiq_core_python), "--host", host, "--port", str(port)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "dumb"},
        cwd=tmp_path,
    )
    os.close(slave)
    screen = bytearray()

    def expect(text: bytes) -> None:
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while text not in screen:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([master], [], [], max(0.0, left))
            if not ready:
                pytest.fail(
                    f"no {text!r} from pamiq-console; it showed {bytes(screen)!r}"
                )
            try:
                screen.extend(os.read(master, 4096))
            except OSError:
                pytest.fail(f"pamiq-console ended; it showed {bytes(screen)!r}")

    try:
        expect(b"pamiq-console (active) > ")
        os.write(master, b"shutdown\r")
        expect(b"Confirm AMI system shutdown? (y/[N]): ")
        os.write(master, b"y\r")
        assert proc.wait(CLIENT_TIMEOUT) == 0
        assert system.wait(WAIT)
        assert status_of(api) == 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
