"""What ``pamiq-console top`` shows: one row per live run of this user's, refreshed.

Each refresh lists the registry of live runs (:mod:`engine.services.registry`),
asks every run for its status over its control socket (in parallel, each with a
short timeout, so one stopped or busy run never holds up the others), and reads
each run's CPU time and memory from ``/proc``. Rates (steps/s comes from the
run; training runs/s and CPU %) are the change since the previous refresh.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.services.run_dir import RunInfo
from engine.telemetry.status import ActorStatus, SystemStatus

from .conditions import never_met
from .control_client import ControlClient, ControlError
from .run_choice import all_live_runs

STATUS_TIMEOUT = 1.0
"""Seconds a refresh waits for each run's status."""
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class TrainerCell:
    """One trainer of a run, as ``top`` shows it.

    Attributes:
        name: The trainer's name.
        runs_per_second: Training runs per second since the previous refresh
            (None on the first).
        trainable: Whether its data condition holds now.
        never: Why it can never train ("" if it can).
    """

    name: str
    runs_per_second: float | None
    trainable: bool
    never: str = ""


@dataclass(frozen=True)
class RunRow:
    """One live run.

    Attributes:
        key: Its run directory (absolute), which tells runs apart.
        name: The run's name.
        pid: Its process.
        origin: The program or config that started it.
        socket: Its control socket.
        state: Control state, or ``unreachable`` when it did not answer.
        uptime: Engine seconds it has run (None when unreachable).
        steps_per_second: Its recent step rate (None when unreachable).
        trainers: Each trainer's rate and trainability.
        last_save: The newest state it wrote (None before the first).
        last_save_time: When that state was written (None where unknown).
        alerts: What needs an operator's eye, most important first.
        cpu_percent: CPU the process used since the previous refresh, % of one
            core (None on the first refresh or where ``/proc`` is not readable).
        rss: Resident memory in bytes (None where unknown).
        actors: The acting workers of a scaled run.
    """

    key: str
    name: str
    pid: int
    origin: str
    socket: Path
    state: str
    uptime: float | None = None
    steps_per_second: float | None = None
    trainers: tuple[TrainerCell, ...] = ()
    last_save: str | None = None
    last_save_time: float | None = None
    alerts: tuple[str, ...] = ()
    cpu_percent: float | None = None
    rss: int | None = None
    actors: tuple[ActorStatus, ...] = field(default=())


def process_cpu_ticks(pid: int) -> int | None:
    """User plus system CPU time of process ``pid`` in clock ticks (None if unknown)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after it.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return None


def process_rss(pid: int) -> int | None:
    """Resident memory of process ``pid`` in bytes (None if unknown)."""
    try:
        pages = Path(f"/proc/{pid}/statm").read_text().split()
        return int(pages[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return None


def _alerts(status: SystemStatus) -> list[str]:
    alerts = [f"error: {e}" for e in status.errors]
    alerts.extend(status.alerts)
    for name, trainer in status.trainers.items():
        never = never_met(trainer, status.buffers, status.steps)
        if never:
            alerts.append(f"{name} can never train: {never}")
    dead = [a for a in status.actors if not a.alive]
    if dead:
        alerts.append(f"{len(dead)} of {len(status.actors)} actors not stepping")
    failed = [a for a in status.actors if a.error]
    alerts.extend(f"actor {a.actor}: {a.error}" for a in failed)
    dropped = status.telemetry_dropped
    if dropped:
        alerts.append(f"{dropped:,} metrics not written (disk full?)")
    return alerts


StatusFetcher = Callable[[RunInfo], SystemStatus]


def fetch_status(info: RunInfo) -> SystemStatus:
    """The run's status over its control socket.

    Raises:
        ControlError: If it does not answer in time, or refuses.
    """
    data = ControlClient(info.socket, timeout=STATUS_TIMEOUT).request("status")
    if not isinstance(data, Mapping):
        raise ControlError(f"status of {info.name}: unexpected reply")
    return SystemStatus.from_dict(data)


class RunsWatch:
    """Builds the rows of ``top``, remembering the previous refresh for rates.

    Args:
        list_runs: The live runs to show (the registry by default).
        fetch: How one run's status is read (over its socket by default).
        clock: Monotonic seconds (for CPU %).
    """

    def __init__(
        self,
        list_runs: Callable[[], Sequence[RunInfo]] = all_live_runs,
        fetch: StatusFetcher = fetch_status,
        clock: Callable[[], float] = _time.monotonic,
    ) -> None:
        self._list_runs = list_runs
        self._fetch = fetch
        self._clock = clock
        self._cpu: dict[int, tuple[float, int]] = {}
        self._runs: dict[str, tuple[float, dict[str, int]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="top")

    def close(self) -> None:
        """Stop the status workers."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def refresh(self) -> list[RunRow]:
        """Every live run's row, oldest run first."""
        infos = list(self._list_runs())
        results = list(self._pool.map(self._status_or_error, infos))
        now = self._clock()
        rows = [
            self._row(info, result, now)
            for info, result in zip(infos, results, strict=True)
        ]
        live = {row.pid for row in rows}
        self._cpu = {pid: v for pid, v in self._cpu.items() if pid in live}
        keys = {row.key for row in rows}
        self._runs = {k: v for k, v in self._runs.items() if k in keys}
        return rows

    def _status_or_error(self, info: RunInfo) -> SystemStatus | str:
        try:
            return self._fetch(info)
        except ControlError as e:
            return str(e)
        except (OSError, ValueError, TypeError, KeyError) as e:
            return f"unreadable status ({e})"

    def _cpu_percent(self, pid: int, now: float) -> float | None:
        ticks = process_cpu_ticks(pid)
        if ticks is None:
            return None
        before = self._cpu.get(pid)
        self._cpu[pid] = (now, ticks)
        if before is None or now <= before[0]:
            return None
        return 100.0 * (ticks - before[1]) / _CLOCK_TICKS / (now - before[0])

    def _trainers(self, key: str, status: SystemStatus) -> tuple[TrainerCell, ...]:
        runs = {name: t.runs for name, t in status.trainers.items()}
        before = self._runs.get(key)
        self._runs[key] = (status.wall_time, runs)
        cells = []
        for name, trainer in status.trainers.items():
            rate = None
            if before is not None and status.wall_time > before[0]:
                previous = before[1].get(name)
                if previous is not None and trainer.runs >= previous:
                    rate = (trainer.runs - previous) / (status.wall_time - before[0])
            cells.append(
                TrainerCell(
                    name,
                    rate,
                    trainer.condition.trainable,
                    never_met(trainer, status.buffers, status.steps),
                )
            )
        return tuple(cells)

    def _row(self, info: RunInfo, result: SystemStatus | str, now: float) -> RunRow:
        data: dict[str, Any] = info.data
        base: dict[str, Any] = {
            "key": str(info.run_dir.absolute()),
            "name": info.name,
            "pid": info.pid,
            "origin": str(data.get("origin") or data.get("config") or ""),
            "socket": info.socket,
            "cpu_percent": self._cpu_percent(info.pid, now),
            "rss": process_rss(info.pid),
        }
        if isinstance(result, str):
            return RunRow(state="unreachable", alerts=(result,), **base)
        status = result
        return RunRow(
            state=status.state,
            uptime=status.uptime,
            steps_per_second=status.steps_per_second,
            trainers=self._trainers(base["key"], status),
            last_save=status.last_save,
            last_save_time=status.last_save_time,
            alerts=tuple(_alerts(status)),
            actors=status.actors,
            **base,
        )
