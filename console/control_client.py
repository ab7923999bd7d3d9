"""Talk to a live run's control endpoint (see :mod:`engine.services.control_server`)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.services.control_server import PROTOCOL_VERSION

from .run_choice import NoRunError

__all__ = [
    "CONNECT_TIMEOUT",
    "ControlClient",
    "ControlError",
    "NotListeningError",
    "not_answering",
]

CONNECT_TIMEOUT = 10.0
"""Longest time a client retries while the run's listen queue is full."""
SLOW_REPLY = 3.0
"""Seconds without a reply before a client given ``on_slow`` says why it waits."""


def process_state(pid: int) -> str | None:
    """The one-letter state Linux gives process ``pid`` (R, S, D, T...), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0] if fields else None


def not_answering(pid: int, timeout: float) -> str:
    """One line on a run (process ``pid``) that has not replied yet: why, and how long we wait."""
    wait = f"waiting up to {timeout:g} s (ctrl-c gives up)"
    state = process_state(pid) if pid > 0 else None
    if state in ("T", "t"):
        return (
            f"the run (pid {pid}) is stopped (T): it was sent SIGSTOP or ctrl+z; "
            f"'kill -CONT {pid}' (or 'fg' in its terminal) resumes it; {wait}"
        )
    return (
        f"the run (pid {pid or '?'}) is not answering: it may be stopped "
        f"(SIGSTOP/ctrl+z) or busy; {wait}"
    )


class ControlError(Exception):
    """The run answered with an error, or could not be reached (one-line message)."""


class NotListeningError(ControlError, NoRunError):
    """Nothing listens on the run's socket (the run stopped, or never started)."""


class ControlClient:
    """A connection to one run's control socket.

    Args:
        socket_path: The run's control socket.
        timeout: Seconds to wait for a reply (save and pause may take a while).
        connect_timeout: Seconds to keep retrying, with backoff, while the
            run's queue of connections waiting to be accepted is full.
        on_slow: Told once, in one line (:func:`not_answering`), when a reply
            has not come within ``slow_after`` seconds: a SIGSTOPped run
            never answers, and a silent wait of ``timeout`` looks hung.
        pid: The run's process, for what ``on_slow`` is told.
        slow_after: Seconds before ``on_slow`` is told.
    """

    def __init__(
        self,
        socket_path: Path,
        timeout: float = 300.0,
        connect_timeout: float = CONNECT_TIMEOUT,
        on_slow: Callable[[str], None] | None = None,
        pid: int = 0,
        slow_after: float = SLOW_REPLY,
    ) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.on_slow = on_slow
        self.pid = pid
        self.slow_after = slow_after

    def _connect(self) -> socket.socket:
        """A connected socket; a full listen queue (EAGAIN) is retried with backoff."""
        deadline = time.monotonic() + self.connect_timeout
        delay = 0.002
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(str(self.socket_path))
                return sock
            except BlockingIOError:
                sock.close()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ControlError(
                        f"{self.socket_path}: the run is not accepting connections "
                        f"(its queue stayed full for {self.connect_timeout:g} s)"
                    ) from None
                time.sleep(min(delay, left))
                delay = min(delay * 2, 0.25)
            except BaseException:
                sock.close()
                raise

    def _read_line(self, sock: socket.socket) -> bytes:
        """The reply line (b"" if the run hung up first); tells ``on_slow`` once if it is late.

        Raises:
            TimeoutError: If no whole line came within ``timeout``.
        """
        started = time.monotonic()
        deadline = started + self.timeout
        told = self.on_slow is None
        data = bytearray()
        while b"\n" not in data:
            now = time.monotonic()
            if now >= deadline:
                raise TimeoutError
            wait = deadline - now
            if not told:
                wait = min(wait, max(0.0, started + self.slow_after - now))
            sock.settimeout(max(wait, 0.001))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if not told and time.monotonic() >= started + self.slow_after:
                    told = True
                    assert self.on_slow is not None
                    self.on_slow(not_answering(self.pid, self.timeout))
                continue
            if not chunk:
                break
            data += chunk
        return bytes(data[: data.index(b"\n") + 1]) if b"\n" in data else bytes(data)

    def request(self, op: str, **args: Any) -> Any:
        """Send one request, saying the protocol it speaks; return its ``result``.

        Every client of a run (the CLI's commands, ``attach``, ``ps``, ``run
        PROGRAM.py``) sends its requests here, so every one of them is checked
        against the run's protocol version (a run of another version refuses).

        Raises:
            NotListeningError: If nothing listens on the socket.
            ControlError: If the run replied with an error or hung up.
        """
        payload = json.dumps({"op": op, "protocol": PROTOCOL_VERSION, **args}).encode()
        payload += b"\n"
        try:
            with self._connect() as sock:
                sock.sendall(payload)
                reply = self._read_line(sock)
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotListeningError(
                f"no run is listening on {self.socket_path}"
            ) from None
        except (ConnectionResetError, BrokenPipeError):
            # The run closes its socket last thing when it stops.
            raise NotListeningError(
                f"the run on {self.socket_path} closed the connection (it stopped)"
            ) from None
        except TimeoutError:
            raise ControlError(
                f"no reply to '{op}' within {self.timeout:g} s from {self.socket_path}"
            ) from None
        except OSError as e:
            raise ControlError(f"{self.socket_path}: {e.strerror or e}") from None
        if not reply:
            raise ControlError(
                f"the run closed the connection without replying to '{op}'"
            )
        try:
            message = json.loads(reply)
        except ValueError:
            raise ControlError(f"unreadable reply to '{op}': {reply[:80]!r}") from None
        if not message.get("ok"):
            raise ControlError(str(message.get("error", "unknown error")))
        return message.get("result")
