"""Talk to a live run's control endpoint (see :mod:`console.control_server`)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from .rundir import RunInfo, find_runs, read_run_info

DEFAULT_RUNS_ROOT = Path("runs")


class ControlError(Exception):
    """The run answered with an error, or could not be reached (one-line message)."""


class NoRunError(ControlError):
    """No live run is listening where we looked."""


def find_live_run(
    run_dir: Path | None = None, runs_root: Path = DEFAULT_RUNS_ROOT
) -> RunInfo:
    """The run to talk to: ``run_dir`` if given, else the newest live run under ``runs_root``.

    Raises:
        NoRunError: If there is no such live run.
    """
    if run_dir is not None:
        info = read_run_info(run_dir)
        if info is None:
            raise NoRunError(f"no run is listening: {run_dir} has no run.json")
        if not info.live:
            raise NoRunError(f"no run is listening in {run_dir} (it is not running)")
        return info
    for info in find_runs(runs_root):
        if info.live:
            return info
    raise NoRunError(f"no run is listening under {runs_root.absolute()}")


class ControlClient:
    """A connection to one run's control socket.

    Args:
        socket_path: The run's control socket.
        timeout: Seconds to wait for a reply (save and pause may take a while).
    """

    def __init__(self, socket_path: Path, timeout: float = 300.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def request(self, op: str, **args: Any) -> Any:
        """Send one request; return its ``result``.

        Raises:
            NoRunError: If nothing listens on the socket.
            ControlError: If the run replied with an error or hung up.
        """
        payload = json.dumps({"op": op, **args}).encode() + b"\n"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(str(self.socket_path))
                sock.sendall(payload)
                reply = sock.makefile("rb").readline()
        except (FileNotFoundError, ConnectionRefusedError):
            raise NoRunError(f"no run is listening on {self.socket_path}") from None
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
