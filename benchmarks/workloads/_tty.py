"""Real terminals for the dashboard figures: a program's screen goes to a pseudo-terminal.

A dashboard driven by ``App.run_test()`` renders but writes nothing; one on a
terminal also encodes every frame and writes it. These helpers give a
dashboard a terminal of a fixed size (a pty whose output is read and thrown
away, as a terminal emulator would read it), so the figures measure what a
user's ``pamiq-console run`` or ``attach`` costs:

* :func:`run_in_terminal`: run a function in a forked child whose stdin,
  stdout and stderr are a pty (an in-process dashboard), and return what it
  returned (JSON, through a pipe).
* :class:`Terminal`: start a command on a pty (an attached dashboard) and
  read its output; :func:`cpu_seconds` reads any process's CPU time from
  ``/proc/PID/stat``.

Fork before importing torch or starting threads: the child is a copy of the
caller at the moment of the fork.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import termios
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

COLUMNS, ROWS = 160, 48
"""The terminal every dashboard of the figures gets (a maximised window on a laptop)."""
TERMINAL_ENV = {"TERM": "xterm-256color", "COLORTERM": "truecolor"}
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def _child_terminal(columns: int, rows: int) -> None:
    _set_size(1, columns, rows)
    os.environ.update(TERMINAL_ENV)


def _drain(fd: int) -> int:
    """Read ``fd`` until the other side closes it; the bytes read."""
    total = 0
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            return total
        if not chunk:
            return total
        total += len(chunk)


def run_in_terminal(
    target: Callable[[], dict[str, Any]], columns: int = COLUMNS, rows: int = ROWS
) -> dict[str, Any]:
    """``target()`` in a child process on a terminal of ``columns`` x ``rows``.

    Returns:
        Its result, with ``terminal_bytes`` (what it wrote to the terminal).

    Raises:
        RuntimeError: If ``target`` raised (with its traceback) or the child
            returned nothing (its wait status).
    """
    read_end, write_end = os.pipe()
    pid, master = pty.fork()
    if pid == 0:  # the child: stdin, stdout and stderr are the terminal
        os.close(read_end)
        try:
            _child_terminal(columns, rows)
            result = target()
        except BaseException:
            result = {"error": traceback.format_exc()}
        try:
            with os.fdopen(write_end, "w") as out:
                json.dump(result, out)
        finally:
            os._exit(0)
    os.close(write_end)
    written = _drain(master)
    os.close(master)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as results:
        text = results.read()
    if not text:
        raise RuntimeError(
            f"the child on the terminal returned nothing (wait status {status})"
        )
    result = json.loads(text)
    if "error" in result:
        raise RuntimeError(f"the child on the terminal failed:\n{result['error']}")
    return {**result, "terminal_bytes": written}


class Terminal:
    """``argv`` on a terminal of its own; :meth:`pump` reads what it writes.

    Args:
        argv: The command (run with :func:`os.execvp`).
        columns: The terminal's width.
        rows: Its height.
    """

    def __init__(
        self, argv: Sequence[str], columns: int = COLUMNS, rows: int = ROWS
    ) -> None:
        pid, fd = pty.fork()
        if pid == 0:
            try:
                _child_terminal(columns, rows)
                os.execvp(argv[0], list(argv))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.written = 0
        self.open = True

    def pump(self) -> None:
        """Read what is there (call when :func:`select` says it is readable)."""
        try:
            chunk = os.read(self.fd, 1 << 16)
        except OSError:
            chunk = b""
        if chunk:
            self.written += len(chunk)
        else:
            self.open = False

    def type(self, keys: bytes) -> None:
        """Send keys, as a user typing them."""
        if self.open:
            os.write(self.fd, keys)

    def close(self, keys: bytes = b"q", timeout: float = 10.0) -> int | None:
        """Type ``keys`` (the dashboard's way out), read until it exits, then
        kill it if it has not within ``timeout``; its exit code (None: killed)."""
        self.type(keys)
        deadline = time.monotonic() + timeout
        code: int | None = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                break
            if not self.open:
                time.sleep(0.05)  # the terminal is closed; the process is ending
            elif select.select([self.fd], [], [], 0.1)[0]:
                self.pump()
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.open = False
        return code


def pump_all(terminals: Sequence[Terminal], timeout: float) -> None:
    """Read whatever any of ``terminals`` wrote, waiting up to ``timeout`` seconds."""
    open_ = [t for t in terminals if t.open]
    if not open_:
        time.sleep(timeout)
        return
    ready, _, _ = select.select([t.fd for t in open_], [], [], timeout)
    for terminal in open_:
        if terminal.fd in ready:
            terminal.pump()
