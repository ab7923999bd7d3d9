"""Watchers are fed from one frame per tick: built once, the same bytes for every
watcher owed the same, and every event reaches each watcher once, in order.

Real control servers on real Unix sockets, real client threads; the tick's clock
is the test's own where the test counts builds.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.services.control_server import ControlHandler, ControlServer
from engine.services.curves import CurveBook
from engine.system import System
from engine.telemetry.events import LogMessage, Metric
from tests.engine.tiny import make_system

TIMEOUT = 30.0


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Client:
    """One connection to the control socket, kept open, raw bytes back."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(str(path))
        self.lines = self.sock.makefile("rb")

    def raw(self, request: dict[str, Any]) -> bytes:
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        line = self.lines.readline()
        assert line.endswith(b"\n"), line
        return line

    def ask(self, request: dict[str, Any]) -> Any:
        reply = json.loads(self.raw(request))
        assert reply["ok"], reply
        return reply["result"]

    def close(self) -> None:
        self.lines.close()
        self.sock.close()


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    # Not started: the test alone publishes events, so what each watcher is
    # owed is known exactly.
    system, *_ = make_system(tmp_path, console=False)
    yield system


def _serve(
    system: System, tmp_path: Path, **kwargs: Any
) -> tuple[ControlHandler, ControlServer, CurveBook]:
    curves = CurveBook(64)
    system.events.add_callback(curves.record)
    handler = ControlHandler(system, curves, **kwargs)
    server = ControlServer(handler, tmp_path / "c.sock", on_failure=_never)
    server.start()
    return handler, server, curves


def _never(thread: str, exc: BaseException, tb: str) -> None:
    raise AssertionError(f"{thread} failed: {exc}\n{tb}")


def _together(clients: list[_Client], request: list[dict[str, Any]]) -> list[bytes]:
    """Each client sends its request at the same moment; their raw replies."""
    barrier = threading.Barrier(len(clients))
    replies: list[bytes | BaseException] = [b""] * len(clients)

    def one(i: int) -> None:
        try:
            barrier.wait(TIMEOUT)
            replies[i] = clients[i].raw(request[i])
        except BaseException as e:
            replies[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert all(isinstance(r, bytes) for r in replies), replies
    return [r for r in replies if isinstance(r, bytes)]


def test_n_watchers_get_the_same_bytes_of_one_feed_built_once_per_tick(
    system: System, tmp_path: Path
) -> None:
    clock = _Clock()
    handler, server, _ = _serve(system, tmp_path, clock=clock)
    clients = [_Client(server.socket_path) for _ in range(8)]
    try:
        ids = [c.ask({"op": "watch"})["watcher"] for c in clients]
        feeds = [{"op": "feed", "watcher": w, "curves": [["t", "loss"]]} for w in ids]
        for i in range(3):
            system.events.publish(LogMessage(level="info", message=f"m{i}"))
        system.events.publish(Metric(source="t", name="loss", value=0.5, step=1))

        first = _together(clients, feeds)
        assert len(set(first)) == 1  # the very same bytes for all eight
        assert handler.feeds.builds == 1
        fed = json.loads(first[0])["result"]
        assert [e.get("message") for e in fed["events"]] == ["m0", "m1", "m2", None]
        assert fed["curves"][0]["points"] == [[1.0, 0.5]]
        assert fed["dropped"] == 0 and fed["metrics"] == [["t", "loss"]]

        # Asked again within the tick: the same frame, and nothing twice.
        system.events.publish(LogMessage(level="info", message="later"))
        again = _together(clients, feeds)
        assert len(set(again)) == 1 and handler.feeds.builds == 1
        refed = json.loads(again[0])["result"]
        assert refed["events"] == [] and refed["curves"] == []
        assert refed["status"] == fed["status"]

        # The next tick: one more build for all of them, bringing what came since.
        clock.now += handler.feeds.tick
        third = _together(clients, feeds)
        assert len(set(third)) == 1 and handler.feeds.builds == 2
        assert [e["message"] for e in json.loads(third[0])["result"]["events"]] == [
            "later"
        ]
    finally:
        for c in clients:
            c.close()
        server.stop()


def test_events_reach_every_watcher_once_in_order_or_are_counted_as_lost(
    system: System, tmp_path: Path
) -> None:
    total = 3000
    handler, server, _ = _serve(system, tmp_path, feed_tick=0.005)
    # (maxsize, pause between feeds): eager, unhurried, and one that keeps 50
    # and falls behind, so it must lose some and be told how many.
    watchers = [(20_000, 0.0), (20_000, 0.0), (20_000, 0.003), (50, 0.02)]
    got: list[list[int]] = [[] for _ in watchers]
    lost = [0] * len(watchers)
    failures: list[BaseException] = []
    all_watching = threading.Barrier(len(watchers) + 1)
    published = threading.Event()

    def watch(i: int) -> None:
        maxsize, pause = watchers[i]
        client = _Client(server.socket_path)
        try:
            w = client.ask({"op": "watch", "maxsize": maxsize})["watcher"]
            all_watching.wait(TIMEOUT)
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                fed = client.ask({"op": "feed", "watcher": w})
                got[i] += [int(e["message"]) for e in fed["events"]]
                lost[i] = fed["dropped"]
                if published.is_set() and len(got[i]) + lost[i] >= total:
                    return
                published.wait(pause)
        except BaseException as e:
            failures.append(e)
        finally:
            client.close()

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(len(watchers))]
    try:
        for t in threads:
            t.start()
        all_watching.wait(TIMEOUT)
        for n in range(total):
            system.events.publish(LogMessage(level="info", message=str(n)))
        published.set()
        for t in threads:
            t.join(TIMEOUT + 5)
        assert not failures, failures
        for i, (maxsize, _) in enumerate(watchers):
            assert got[i] == sorted(set(got[i])), f"watcher {i}: out of order or twice"
            assert len(got[i]) + lost[i] == total, f"watcher {i}"
            assert got[i][-1] == total - 1
            if maxsize >= total:
                assert got[i] == list(range(total)) and lost[i] == 0
        assert lost[3] > 0
    finally:
        server.stop()


def test_a_slow_operation_holds_up_no_other_connection_and_replies_keep_order(
    system: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, server, _ = _serve(system, tmp_path)
    started, release = threading.Event(), threading.Event()

    def slow_states(_: dict[str, Any]) -> list[str]:
        started.set()
        assert release.wait(TIMEOUT)
        return ["done"]

    monkeypatch.setitem(handler._ops, "states", slow_states)
    slow, other = _Client(server.socket_path), _Client(server.socket_path)
    try:
        # Two requests in one write: the second waits for the first's reply.
        slow.sock.sendall(b'{"op": "states", "id": 1}\n{"op": "ping", "id": 2}\n')
        assert started.wait(TIMEOUT)
        assert other.ask({"op": "ping"})["protocol"]  # served meanwhile
        release.set()
        first, second = (
            json.loads(slow.lines.readline()),
            json.loads(slow.lines.readline()),
        )
        assert (first["id"], first["result"]) == (1, ["done"])
        assert second["id"] == 2 and second["ok"]
    finally:
        release.set()
        slow.close()
        other.close()
        server.stop()
