"""The per-user registry of live runs on this machine.

Every run that serves the console, however it was started (``launch()`` from a
program, ``System`` from Python, ``pamiq-console run CONFIG``), writes one entry
here while it is live, so ``pamiq-console ps`` and every command without
``--run`` find it from any directory. An entry is a small JSON file named after
the process and the run directory; the run removes it when it stops. A process
that died without stopping (SIGKILL, OOM, power loss) leaves its entry behind:
readers ignore it, and :func:`live_runs` removes it.

The registry is a 0700 directory of this user's: ``$PAMIQ_CONSOLE_REGISTRY`` if
set, else ``$XDG_RUNTIME_DIR/pamiq-console/runs``, else
``$XDG_STATE_HOME/pamiq-console/runs`` (``~/.local/state`` by default). It
holds nothing a run needs to resume: losing it (a reboot clears
``$XDG_RUNTIME_DIR``) only loses the list of runs that were live.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..host.owner_only import ForeignPathError, private_dir, replace_file
from ..state.store import pid_alive

REGISTRY_ENV = "PAMIQ_CONSOLE_REGISTRY"
"""Environment variable naming the registry directory (tests, several users' setups)."""
LAUNCH_ID_ENV = "PAMIQ_CONSOLE_LAUNCH_ID"
"""Set by ``pamiq-console run PROGRAM.py`` for the program: its run's entry
carries it, so the console finds the run the program starts."""


class RegistryError(Exception):
    """The registry directory cannot be used (one-line message)."""


def registry_dir() -> Path:
    """Where this user's live runs are registered."""
    explicit = os.environ.get(REGISTRY_ENV)
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "pamiq-console" / "runs"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "pamiq-console" / "runs"


def process_start(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (None where unknown).

    Told apart from the pid alone, it tells a live run from an unrelated
    process that was given the pid of a dead one.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after it.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class RegisteredRun:
    """One entry of the registry.

    Attributes:
        entry: The entry's file.
        data: What the run wrote: name, pid, run_dir, socket, started, origin, cwd.
    """

    entry: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """The run's name."""
        return str(self.data.get("name", "?"))

    @property
    def pid(self) -> int:
        """The run's process id (0 if unknown)."""
        pid = self.data.get("pid")
        return pid if isinstance(pid, int) else 0

    @property
    def run_dir(self) -> Path:
        """The run directory."""
        return Path(str(self.data.get("run_dir", "")))

    @property
    def socket(self) -> Path:
        """The run's control socket."""
        return Path(str(self.data.get("socket", "")))

    @property
    def origin(self) -> str:
        """What started the run: the program and its arguments, or the config file."""
        return str(self.data.get("origin", ""))

    @property
    def started(self) -> float:
        """Wall time the run started."""
        started = self.data.get("started")
        return float(started) if isinstance(started, int | float) else 0.0

    @property
    def live(self) -> bool:
        """Whether the process that wrote the entry is still the one running."""
        pid = self.pid
        if pid <= 0 or not pid_alive(pid):
            return False
        recorded = self.data.get("proc_start")
        return recorded is None or recorded == process_start(pid)


class Registration:
    """A run's entry in the registry, removed by :meth:`remove` when it stops."""

    def __init__(self, entry: Path) -> None:
        self.entry = entry

    def remove(self) -> None:
        """Remove the entry (idempotent)."""
        with contextlib.suppress(OSError):
            self.entry.unlink()


def _entry_name(pid: int, run_dir: Path) -> str:
    digest = hashlib.sha256(os.fsencode(run_dir.absolute())).hexdigest()[:12]
    return f"{pid}-{digest}.json"


def register(
    *, name: str, run_dir: Path, socket: Path, origin: str, **extra: Any
) -> Registration:
    """Write this process's entry for the run in ``run_dir``.

    Raises:
        RegistryError: If the registry directory cannot be made or written.
    """
    directory = registry_dir()
    pid = os.getpid()
    data = {
        "name": name,
        "pid": pid,
        "proc_start": process_start(pid),
        "run_dir": str(run_dir.absolute()),
        "socket": str(socket),
        "origin": origin,
        "cwd": str(Path.cwd()),
        "started": _time.time(),
        "launch_id": os.environ.get(LAUNCH_ID_ENV),
        **extra,
    }
    target = directory / _entry_name(pid, run_dir)
    try:
        private_dir(directory)
        # Not synced: an entry describes a live process, which a power loss ends.
        replace_file(target, json.dumps(data))
    except ForeignPathError as e:
        raise RegistryError(str(e)) from None
    except OSError as e:
        raise RegistryError(
            f"{directory}: cannot register the run: {e.strerror or e}"
        ) from None
    return Registration(target)


def _read(entry: Path) -> RegisteredRun | None:
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return RegisteredRun(entry, data) if isinstance(data, dict) else None


def live_runs(clean: bool = True) -> list[RegisteredRun]:
    """This user's live runs, oldest first.

    Args:
        clean: Remove the entries of processes that are gone.
    """
    directory = registry_dir()
    try:
        entries = sorted(directory.glob("*.json"))
    except OSError:
        return []
    live = []
    for entry in entries:
        run = _read(entry)
        if run is not None and run.live:
            live.append(run)
        elif clean and (run is None or run.pid > 0):
            # A dead process's entry, or one that cannot be read at all.
            with contextlib.suppress(OSError):
                entry.unlink()
    return sorted(live, key=lambda r: r.started)
