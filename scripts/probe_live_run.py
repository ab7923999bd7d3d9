"""Send bad input to a live run's control socket and print what happened.

Usage::

    .venv/bin/python scripts/probe_live_run.py --run runs/minimal [--clients 200]

Only the local Unix socket named by ``<run>/run.json`` is contacted, and only
by this user. Every probe is bounded in time and count (a connection waits at
most ``--timeout`` seconds; the idle probe waits at most the run's idle
timeout plus a margin, or ``--max-idle-wait``). The run is left as it was:
nothing here pauses, saves, loads or stops it. The last probe checks that the
run is still stepping. Exit code 0 if every probe got the expected outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.control_client import (  # noqa: E402
    ControlClient,
    ControlError,
    RunChoiceError,
    find_live_run,
)

MAX_REQUEST_BYTES = 64 * 1024


@dataclass
class Outcome:
    """One probe's result."""

    probe: str
    outcome: str
    ok: bool


def connect(sock_path: Path, timeout: float) -> socket.socket:
    """A connected socket; a full listen queue is retried (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(str(sock_path))
            return sock
        except BlockingIOError:
            sock.close()
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        except BaseException:
            sock.close()
            raise


def exchange(sock_path: Path, payload: bytes, timeout: float) -> list[Any]:
    """Send ``payload`` on one connection, half-close, and read every reply line."""
    with connect(sock_path, timeout) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    replies = []
    for line in data.splitlines():
        try:
            replies.append(json.loads(line))
        except ValueError:
            replies.append({"unparsable": line[:80].decode(errors="replace")})
    return replies


def one_line_error(replies: list[Any]) -> tuple[str, bool]:
    """Describe replies that should be exactly one ``{"ok": false}`` line."""
    if len(replies) != 1 or not isinstance(replies[0], dict):
        return f"{len(replies)} replies: {str(replies)[:100]}", False
    reply = replies[0]
    if reply.get("ok") is not False or not isinstance(reply.get("error"), str):
        return f"unexpected reply {str(reply)[:100]}", False
    error = reply["error"]
    return f"error: {error[:90]}", "\n" not in error and "Traceback" not in error


def proc_counts(pid: int) -> tuple[int, int] | None:
    """Open fds and threads of ``pid`` (None where /proc cannot tell)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None


class Prober:
    """Runs the probes against one live run."""

    def __init__(
        self,
        run_dir: Path,
        clients: int,
        idle: int,
        timeout: float,
        max_idle_wait: float,
    ) -> None:
        self.info = find_live_run(run_dir)
        self.socket = self.info.socket
        self.pid = self.info.pid
        self.clients = clients
        self.idle = idle
        self.timeout = timeout
        self.max_idle_wait = max_idle_wait
        self.client = ControlClient(self.socket, timeout=timeout)
        self.results: list[Outcome] = []

    def record(self, probe: str, run: Callable[[], tuple[str, bool]]) -> None:
        try:
            outcome, ok = run()
        except Exception as e:  # a probe that breaks is an outcome too
            outcome, ok = f"probe raised {type(e).__name__}: {e}", False
        self.results.append(Outcome(probe, outcome, ok))

    def bad_line(self, probe: str, payload: bytes) -> None:
        self.record(
            probe, lambda: one_line_error(exchange(self.socket, payload, self.timeout))
        )

    def run_all(self) -> list[Outcome]:
        steps_before = self.client.request("status")["steps"]
        self.record("ping", lambda: (f"pid {self.client.request('ping')['pid']}", True))
        self.bad_line("not JSON", b"{op: status\n")
        self.bad_line("JSON, not an object", b"[1, 2, 3]\n")
        self.bad_line("no 'op'", b'{"id": 1}\n')
        self.bad_line("unknown op", b'{"op": "format_disk"}\n')
        self.bad_line("op not a string", b'{"op": ["status"]}\n')
        self.bad_line("invalid UTF-8", b'{"op": "\xff\xfe"}\n')
        self.bad_line("NUL bytes", b"\x00\x00\x00\n")
        self.bad_line("nesting 20000 deep", b"[" * 20_000 + b"]" * 20_000 + b"\n")
        self.bad_line("pause timeout a string", b'{"op": "pause", "timeout": "soon"}\n')
        self.bad_line("pause timeout 1e9", b'{"op": "pause", "timeout": 1e9}\n')
        self.bad_line("events limit -1", b'{"op": "events", "limit": -1}\n')
        self.bad_line("events kinds a string", b'{"op": "events", "kinds": "log"}\n')
        self.bad_line("events unknown kind", b'{"op": "events", "kinds": ["nope"]}\n')
        self.bad_line("load state a number", b'{"op": "load", "state": 5}\n')
        self.bad_line("load ../ outside", b'{"op": "load", "state": "../../.."}\n')
        self.bad_line("load /etc", b'{"op": "load", "state": "/etc"}\n')
        self.bad_line("load missing name", b'{"op": "load", "state": "nope.state"}\n')
        self.bad_line(
            "line over 64 KiB",
            b'{"op": "status", "pad": "' + b"x" * MAX_REQUEST_BYTES + b'"}\n',
        )
        self.record("half a line, then hang up", self._half_line)
        self.record("many requests on one connection", self._pipelined)
        self.record(f"{self.clients} clients at once", self._concurrent)
        self.record(f"{self.idle} idle connections", self._idle)
        self.record("run still stepping", lambda: self._stepping(steps_before))
        return self.results

    def _half_line(self) -> tuple[str, bool]:
        with connect(self.socket, self.timeout) as sock:
            sock.sendall(b'{"op": "sta')
        pid = self.client.request("ping")["pid"]
        return f"connection dropped; run answers ping (pid {pid})", True

    def _pipelined(self) -> tuple[str, bool]:
        count = 500
        payload = b"".join(b'{"op": "ping", "id": %d}\n' % i for i in range(count))
        replies = exchange(self.socket, payload, self.timeout)
        ids = [r.get("id") for r in replies if isinstance(r, dict) and r.get("ok")]
        ok = ids == list(range(count))
        return f"{len(ids)}/{count} answered in order", ok

    def _concurrent(self) -> tuple[str, bool]:
        barrier = threading.Barrier(self.clients)
        failures: list[str] = []
        answered = 0
        lock = threading.Lock()

        def one() -> None:
            nonlocal answered
            client = ControlClient(self.socket, timeout=self.timeout)
            try:
                barrier.wait(self.timeout)
                client.request("status")
            except (ControlError, threading.BrokenBarrierError) as e:
                with lock:
                    failures.append(str(e))
                return
            with lock:
                answered += 1

        threads = [
            threading.Thread(target=one, daemon=True) for _ in range(self.clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.timeout + 5)
        took = time.monotonic() - started
        outcome = f"{answered}/{self.clients} answered in {took:.1f} s"
        if failures:
            outcome += f"; {len(failures)} failed, e.g. {failures[0][:60]}"
        return outcome, answered == self.clients

    def _idle(self) -> tuple[str, bool]:
        before = proc_counts(self.pid)
        idle_timeout = self.client.request("ping").get("idle_timeout")
        sockets = []
        try:
            for _ in range(self.idle):
                sockets.append(connect(self.socket, self.timeout))
            # The run must answer others while idle connections are open.
            try:
                self.client.request("ping")
                others = "others answered"
            except ControlError as e:
                others = f"another client refused ({str(e)[-40:]})"
            time.sleep(0.5)
            held = proc_counts(self.pid)
            wait = min(self.max_idle_wait, (idle_timeout or self.max_idle_wait) + 5)
            deadline = time.monotonic() + wait
            after = proc_counts(self.pid)
            while time.monotonic() < deadline:
                after = proc_counts(self.pid)
                if before and after and after[1] <= before[1] + 2:
                    break
                time.sleep(0.5)
            closed = 0
            for sock in sockets:
                try:
                    sock.settimeout(0.2)
                    if sock.recv(1) == b"":
                        closed += 1
                except OSError:
                    pass
        finally:
            for sock in sockets:
                sock.close()

        def fmt(c: tuple[int, int] | None) -> str:
            return "?" if c is None else f"fds {c[0]}, threads {c[1]}"

        outcome = (
            f"before {fmt(before)}; held {fmt(held)}; after {wait:.0f} s {fmt(after)}; "
            f"{closed}/{self.idle} closed by the run; {others}"
            + (
                f" (idle timeout {idle_timeout:g} s)"
                if idle_timeout
                else " (no idle timeout)"
            )
        )
        return outcome, closed == self.idle and others == "others answered"

    def _stepping(self, steps_before: int) -> tuple[str, bool]:
        first = self.client.request("status")
        time.sleep(1.0)
        second = self.client.request("status")
        ok = (
            second["steps"] > first["steps"] > steps_before
            or second["state"] != "active"
        )
        return f"state {second['state']}, steps {steps_before} -> {second['steps']}", ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run", type=Path, required=True, help="the live run's directory"
    )
    parser.add_argument(
        "--clients", type=int, default=200, help="concurrent clients (max 1000)"
    )
    parser.add_argument(
        "--idle", type=int, default=200, help="idle connections (max 1000)"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per connection"
    )
    parser.add_argument(
        "--max-idle-wait",
        type=float,
        default=90.0,
        help="longest wait for idle connections to close",
    )
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args()
    args.clients = max(1, min(args.clients, 1000))
    args.idle = max(1, min(args.idle, 1000))
    try:
        prober = Prober(
            args.run, args.clients, args.idle, args.timeout, args.max_idle_wait
        )
    except (ControlError, RunChoiceError) as e:
        print(f"probe_live_run: {e}", file=sys.stderr)
        return 1
    results = prober.run_all()
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=1))
    else:
        width = max(len(r.probe) for r in results)
        for r in results:
            print(f"{'ok  ' if r.ok else 'FAIL'} {r.probe:<{width}}  {r.outcome}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
