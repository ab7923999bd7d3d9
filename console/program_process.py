"""A user's program as a child process, and the run its ``launch()`` starts.

The program is started as its users start it (``python PROGRAM.py ARGS``), in
the current directory, in a session of its own (so a closed terminal does not
hang it up, and a dashboard that detaches leaves it running). Its stdout and
stderr go to a file (unbuffered), first ``.program-<id>.log`` beside the run
directories and, once its ``launch()`` has started the run, ``program.log`` in
the run directory (a previous one becomes ``program.log.1``). The run is
found in the registry of live runs by the id the console gives the program in
``$PAMIQ_CONSOLE_LAUNCH_ID`` (the engine writes it into its entry).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path

from engine.host.owner_only import private_dir
from engine.services.registry import LAUNCH_ID_ENV, RegisteredRun, live_runs
from engine.services.run_services import default_runs_dir

from .control_client import ControlClient, ControlError

LOG_NAME = "program.log"
POLL = 0.05
"""Seconds between looks for the program's run (and its exit) while it starts."""


class ProgramNeverLaunchedError(Exception):
    """The program exited before its ``launch()`` started a run (one-line message).

    Attributes:
        code: The program's exit code.
    """

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class ProgramRun:
    """A program started by the console, and the run its ``launch()`` starts.

    Args:
        program: The program's file (or the config a background console runs).
        args: Its arguments.
        stdin: Its standard input (None: ours; the dashboard gives it none).
        command: The command to run, if not ``python PROGRAM ARGS``.
        log_name: The name its output file takes in the run directory.
    """

    def __init__(
        self,
        program: Path,
        args: list[str],
        stdin: int | None = subprocess.DEVNULL,
        command: list[str] | None = None,
        log_name: str = LOG_NAME,
    ) -> None:
        self.program = program
        self.args = list(args)
        self.command = command or [sys.executable, str(program), *self.args]
        self.log_name = log_name
        self.launch_id = uuid.uuid4().hex
        runs_root = default_runs_dir()
        private_dir(runs_root.absolute())
        self.log_path = (runs_root / f".program-{self.launch_id[:12]}.log").absolute()
        self.run: RegisteredRun | None = None
        self._stdin = stdin
        self.proc: subprocess.Popen[bytes] | None = None
        self._stop_requested = False

    @property
    def pid(self) -> int:
        """The program's process id."""
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        """Start the program.

        Raises:
            OSError: If it cannot be started (no Python, unreadable file).
        """
        env = dict(os.environ)
        env[LAUNCH_ID_ENV] = self.launch_id
        env["PYTHONUNBUFFERED"] = "1"  # its output reaches the panel line by line
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = subprocess.Popen(
                self.command,
                stdin=self._stdin,
                stdout=fd,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(fd)

    def exit_code(self) -> int | None:
        """The program's exit code once it has exited (a signal N gives 128 + N)."""
        assert self.proc is not None
        code = self.proc.poll()
        if code is None:
            return None
        return 128 - code if code < 0 else code

    def wait_for_run(
        self, cancelled: Callable[[], bool] = lambda: False
    ) -> RegisteredRun | None:
        """Wait until the program's ``launch()`` has started its run.

        Returns:
            Its registry entry, or None if ``cancelled()`` turned true first or
            the program exited after it was asked to stop.

        Raises:
            ProgramNeverLaunchedError: If the program exited first, unasked.
        """
        pause = threading.Event()
        while not cancelled():
            if self._find_run() is not None:
                assert self.run is not None
                self._move_log(self.run.run_dir)
                return self.run
            code = self.exit_code()
            if code is not None:
                if self._stop_requested:
                    return None  # it stopped as asked, maybe before we saw its run
                raise ProgramNeverLaunchedError(self._never_launched(code), code)
            pause.wait(POLL)
        return None

    def _find_run(self) -> RegisteredRun | None:
        if self.run is None:
            found = [
                r for r in live_runs() if r.data.get("launch_id") == self.launch_id
            ]
            self.run = found[0] if found else None
        return self.run

    def _never_launched(self, code: int) -> str:
        last = " | ".join(line.strip() for line in self.tail(3)) or "(no output)"
        return (
            f"{self.program} exited with code {code} before it called launch(), "
            f"so there is no run to show; its last output: {last} "
            f"(all of it in {self.log_path})"
        )

    def _move_log(self, run_dir: Path) -> None:
        """Keep the output in the run directory (the program writes on through its fd)."""
        target = run_dir / self.log_name
        with contextlib.suppress(OSError):
            if target.exists():
                target.replace(run_dir / f"{self.log_name}.1")
        try:
            self.log_path.replace(target)
        except OSError:
            return  # another file system: it stays where it is, and we say where
        self.log_path = target

    def tail(self, lines: int) -> list[str]:
        """The program's last ``lines`` lines of output."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64 * 1024))
                text = f.read().decode(errors="replace")
        except OSError:
            return []
        return list(deque(text.splitlines(), maxlen=lines))

    def request_stop(self) -> None:
        """Stop the program's run in order (final save); before its run started,
        interrupt the program as Ctrl-C would."""
        self._stop_requested = True
        if self._find_run() is not None:
            assert self.run is not None
            try:
                ControlClient(self.run.socket, timeout=10).request("shutdown")
                return
            except ControlError:
                pass  # gone already, or not answering: interrupt it instead
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the program to exit; its exit code (None on a timeout)."""
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_code()


class OutputFollower:
    """Reads what a program writes to its log as it grows (from a given offset)."""

    def __init__(self, program: ProgramRun) -> None:
        self._program = program
        self._offset = 0
        self._path = program.log_path
        self._partial = b""

    def read_lines(self) -> list[str]:
        """Complete lines written since the last call."""
        path = self._program.log_path
        if path != self._path:
            self._path = path  # renamed into the run directory: same file
        try:
            with path.open("rb") as f:
                f.seek(self._offset)
                data = f.read(1 << 20)
        except OSError:
            return []
        self._offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        return [line.decode(errors="replace") for line in complete]
