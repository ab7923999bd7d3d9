"""Run directories: where a live run keeps its control socket, ``run.json`` and metrics.

Layout of ``runs/<name>/`` (mode 0700)::

    run.json        pid, name, config, states_dir, socket, started/stopped times
    run.lock        held (flock) while the run is live
    control.sock    the control endpoint (0600), unless the path is too long
    metrics.jsonl   one JSON object per metric (trainers' and the agent's)
    errors.log      full tracebacks of failures
    tensorboard/    TensorBoard scalars (with the tensorboard extra)
    states/         saved states (the default states directory)

A run directory another user could have written is refused, not made private:
they could have planted links or files in it (see :mod:`engine.host.owner_only`).
Every file the run keeps there must be a regular file of this user's, opened
without following links. ``run.json`` is replaced durably (synced, renamed into
place, directory synced), so a power loss never leaves it empty or torn.

A Unix socket path must fit in ``sun_path`` (108 bytes on Linux, including the
terminating NUL). When ``<run_dir>/control.sock`` is longer than that, the
socket lives in a private 0700 directory under ``$XDG_RUNTIME_DIR`` (or
``/tmp/pamiq-console-<uid>``) and ``run.json`` points to it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
import tempfile
import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..host.owner_only import (
    ForeignPathError,
    check_entry,
    open_owned,
    private_dir,
    write_durably,
)
from ..state.store import pid_alive
from ..telemetry.metrics_log import METRICS_FILE, TENSORBOARD_DIR

RUN_INFO = "run.json"
SOCKET_NAME = "control.sock"
METRICS = METRICS_FILE
LOCK = "run.lock"
ERRORS = "errors.log"
TENSORBOARD = TENSORBOARD_DIR
SUN_PATH_MAX = 107  # 108 bytes including the NUL
_STOP_ROOM = 128
"""Spaces that end ``run.json`` while the run is live (JSON ignores them): room
for the stop time and exit code, so that on a full disk, where no new file can
be written, the stop is still recorded by overwriting the file in place."""

# What a run keeps in its directory, and what each must be.
_ENTRIES = (
    (RUN_INFO, "a file"),
    (LOCK, "a file"),
    (METRICS, "a file"),
    (ERRORS, "a file"),
    (SOCKET_NAME, ""),
    (TENSORBOARD, "a directory"),
)


class RunDirError(Exception):
    """The run directory cannot be used (one-line message).

    Attributes:
        in_use: Whether another live process holds it.
    """

    def __init__(self, message: str, in_use: bool = False) -> None:
        super().__init__(message)
        self.in_use = in_use


def _private_dir(path: Path) -> Path:
    """Create (or check) a directory only we may enter."""
    try:
        return private_dir(path)
    except ForeignPathError as e:
        raise RunDirError(str(e)) from None
    except (FileExistsError, NotADirectoryError):
        raise RunDirError(f"{path}: not a directory") from None


def _check_parent(path: Path) -> None:
    """Refuse a parent in which every user may rename or replace ``path``."""
    try:
        info = path.parent.stat()
    except OSError:
        return  # created below, by us
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        raise RunDirError(
            f"{path.parent}: every user can write it and it lacks the sticky bit, "
            f"so another user could replace {path.name}: chmod o-w {path.parent} "
            "(or +t), or use another runs_dir"
        )


def socket_path_for(run_dir: Path) -> Path:
    """The control socket path for ``run_dir`` (a short fallback if it would be too long)."""
    path = run_dir.absolute() / SOCKET_NAME
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        return path
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    short_dir = Path(base) / f"pamiq-console-{os.getuid()}"
    digest = hashlib.sha256(os.fsencode(run_dir.absolute())).hexdigest()[:16]
    return short_dir / f"{digest}.sock"


@dataclass(frozen=True)
class RunInfo:
    """What ``run.json`` says about a run.

    Attributes:
        run_dir: The run directory.
        data: The parsed ``run.json``.
    """

    run_dir: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """The run's name (its directory's name if ``run.json`` does not say)."""
        return str(self.data.get("name") or self.run_dir.name)

    @property
    def pid(self) -> int:
        """The run's process id (0 if unknown)."""
        return int(self.data.get("pid", 0))

    @property
    def socket(self) -> Path:
        """The control socket."""
        return Path(self.data.get("socket") or self.run_dir / SOCKET_NAME)

    @property
    def states_dir(self) -> Path | None:
        """The run's states directory."""
        value = self.data.get("states_dir")
        return Path(value) if value else None

    @property
    def live(self) -> bool:
        """Whether the process is alive, has not said it stopped, and its socket exists."""
        return (
            self.data.get("stopped") is None
            and self.pid > 0
            and pid_alive(self.pid)
            and self.socket.exists()
        )

    @property
    def ended_without_stopping(self) -> bool:
        """Whether its process is gone and never said it stopped (SIGKILL, an
        OOM kill, power loss)."""
        return (
            self.data.get("stopped") is None
            and self.pid > 0
            and self.pid != os.getpid()
            and not pid_alive(self.pid)
        )

    @property
    def last_seen(self) -> float:
        """The last time the run wrote to its directory (``run.json``, metrics, errors)."""
        seen = float(self.data.get("started") or 0.0)
        for name in (RUN_INFO, METRICS, ERRORS):
            with contextlib.suppress(OSError):
                seen = max(seen, (self.run_dir / name).stat().st_mtime)
        return seen

    def unclean_end(self) -> str:
        """One line: how a run that ended without stopping ended (see
        :attr:`ended_without_stopping`)."""
        seen = _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(self.last_seen))
        return (
            f"the previous run (pid {self.pid}) ended without stopping, "
            f"last seen at {seen}"
        )


def read_run_info(run_dir: Path) -> RunInfo | None:
    """Read ``run_dir/run.json`` (None if missing or unreadable)."""
    try:
        data = json.loads((run_dir / RUN_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return RunInfo(run_dir, data) if isinstance(data, dict) else None


def find_runs(runs_root: Path) -> list[RunInfo]:
    """Every run directory under ``runs_root`` with a ``run.json``, newest start first."""
    if not runs_root.is_dir():
        return []
    infos = []
    for child in runs_root.iterdir():
        if child.is_dir():
            info = read_run_info(child)
            if info is not None:
                infos.append(info)
    return sorted(infos, key=lambda i: float(i.data.get("started", 0)), reverse=True)


class RunDir:
    """A live run's directory, owned by this process while it runs.

    Args:
        path: The run directory (created 0700 if needed).
    """

    def __init__(self, path: Path) -> None:
        self.path = path.absolute()
        self.socket_path = socket_path_for(self.path)
        self.previous: RunInfo | None = None
        """What ``run.json`` said before this run claimed the directory."""
        self._data: dict[str, Any] = {}
        self._lock_fd: int | None = None

    def acquire(self, **info: Any) -> None:
        """Claim the directory for this process and write ``run.json``.

        Raises:
            RunDirError: If another live process owns it or it cannot be made private.
        """
        try:
            _check_parent(self.path)
            _private_dir(self.path)
            # Only we can write it now; what was there before must be ours too.
            for name, what in _ENTRIES:
                check_entry(self.path / name, what)
            # An exclusive lock held for the whole run closes the window in which
            # two processes could both see the directory as free.
            self._lock_fd = open_owned(self.path / LOCK, os.O_CREAT | os.O_RDWR)
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._lock_fd)
                self._lock_fd = None
                raise RunDirError(
                    f"{self.path}: another process is running this run; stop it "
                    "first or give this run another name (run --name NAME)",
                    in_use=True,
                ) from None
            existing = self.previous = read_run_info(self.path)
            if existing is not None and existing.live and existing.pid != os.getpid():
                self._unlock()
                raise RunDirError(
                    f"{self.path}: run already live (pid {existing.pid}); stop it "
                    "first or give this run another name (run --name NAME)",
                    in_use=True,
                )
            if self.socket_path.parent != self.path:
                _private_dir(self.socket_path.parent)
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
        except ForeignPathError as e:
            self._unlock()
            raise RunDirError(str(e)) from None
        except RunDirError:
            self._unlock()
            raise
        except OSError as e:
            self._unlock()
            raise RunDirError(f"{self.path}: {e.strerror or e}") from None
        self._data = {
            "pid": os.getpid(),
            "started": _time.time(),
            "stopped": None,
            "socket": str(self.socket_path),
            **{k: str(v) if isinstance(v, Path) else v for k, v in info.items()},
        }
        try:
            self._write()
        except OSError as e:
            self._unlock()
            raise RunDirError(f"{self.path / RUN_INFO}: {e.strerror or e}") from None

    def release(self, exit_code: int) -> None:
        """Record that the run stopped and remove the socket; never raises.

        On a full disk (no room for a new ``run.json``) the stop is written
        over the old file in place, in the room it kept for it.
        """
        with contextlib.suppress(OSError):
            self.socket_path.unlink()
        self._data.update(stopped=_time.time(), exit_code=exit_code)
        try:
            self._write()
        except OSError:
            with contextlib.suppress(OSError):
                self._write_in_place()
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the lock
            self._lock_fd = None

    @property
    def errors_path(self) -> Path:
        """Where errors are written with their full tracebacks."""
        return self.path / ERRORS

    def _write(self) -> None:
        """Replace ``run.json`` durably (a power loss leaves the old or the new one)."""
        text = json.dumps(self._data, indent=1)
        if self._data.get("stopped") is None:
            text += " " * _STOP_ROOM
        write_durably(self.path / RUN_INFO, text + "\n")

    def _write_in_place(self) -> None:
        """Overwrite ``run.json`` within its size: the one write a full disk allows.

        Raises:
            OSError: If it does not fit or cannot be written.
        """
        text = json.dumps(self._data, indent=1).encode()
        fd = open_owned(self.path / RUN_INFO, os.O_WRONLY)
        try:
            size = os.fstat(fd).st_size
            if len(text) >= size:
                raise OSError(errno.ENOSPC, "run.json has no room for the stop")
            os.pwrite(fd, text.ljust(size - 1) + b"\n", 0)
            os.fsync(fd)
        finally:
            os.close(fd)
