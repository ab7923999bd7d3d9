"""Error replies of the control socket are one line, whatever the client sent (issue 23 C)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from engine.services.control_server import ControlHandler, one_line
from tests.engine.tiny import make_system

# What a client may put in a name: line breaks of every kind, a terminal's
# escape sequence, a right-to-left override, a lone surrogate.
NASTY = "a\nb\r\nc\u2028d\u0085e\x1b[31mf\u202eg\ud800h\ti"


@pytest.fixture
def handler(tmp_path: Path):
    system, *_ = make_system(tmp_path, console=False)
    handler = ControlHandler(system, _curves())
    try:
        yield handler
    finally:
        handler.close()


def _curves() -> Any:
    from engine.services.curves import CurveBook

    return CurveBook(10)


def single_line(text: str) -> bool:
    return len(text.splitlines()) == 1 and text.isprintable()


NAMES = [
    "a\nb.state",
    "a\r\nb",
    "../x\ny",
    "\x1b[2J\x1b[31mred",
    "a\u2028b\u0085c",
    "\u202eetats.x",
]


@pytest.mark.parametrize(
    "request_",
    [
        *({"op": "load", "state": name} for name in NAMES),
        {"op": "load", "state": NASTY},
        {"op": "ping", "protocol": NASTY},
        {"op": "events", "kinds": [NASTY]},
        # Already quoted with repr() before; kept one line since.
        {"op": NASTY},
        {"op": "feed", "watcher": NASTY},
        {"op": "unwatch", "watcher": NASTY},
    ],
    ids=lambda r: f"{r.get('op')!a}-{r.get('state', '')!a}"[:30],
)
def test_an_error_reply_is_one_line(handler, request_: dict[str, Any]) -> None:
    reply = handler.handle(request_)
    assert reply["ok"] is False
    assert single_line(reply["error"]), reply["error"]
    line = handler.handle_line(json.dumps({**request_, "id": 7}))
    assert line["id"] == 7 and line["error"] == reply["error"]


def test_what_the_client_sent_is_still_recognisable(handler) -> None:
    reply = handler.handle({"op": "load", "state": "two\nlines.state"})
    assert reply["error"].startswith("two\\nlines.state: ")


def test_one_line_escapes_only_what_is_not_printable() -> None:
    assert one_line("no such state: a b.state") == "no such state: a b.state"
    assert one_line("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert one_line("\x1b[0m\x7f\x85") == "\\x1b[0m\\x7f\\x85"
    assert one_line("\u2028\u202e\ud800\U000e0001") == (
        "\\u2028\\u202e\\ud800\\U000e0001"
    )
    assert one_line("état ✓ 状态") == "état ✓ 状态"


def test_the_socket_answers_a_name_with_a_newline_in_one_line(tmp_path: Path) -> None:
    system, *_ = make_system(tmp_path, run_dir=tmp_path / "run")
    system.start()
    try:
        services = system.services
        assert services is not None and services.socket_path is not None
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(10)
            client.connect(str(services.socket_path))
            request = {"op": "load", "state": "x\ny.state"}
            client.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = client.recv(65536)
                assert chunk
                data += chunk
        reply = json.loads(data)
        assert reply["ok"] is False
        assert single_line(reply["error"]) and "x\\ny.state" in reply["error"]
    finally:
        system.shutdown()
        assert system.wait(10)
