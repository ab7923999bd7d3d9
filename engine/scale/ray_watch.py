"""Noticing that Ray itself is gone, before Ray ends the learner's process.

When the raylet that serves the learner dies, the next call that touches
its object store (a ``ray.put`` of weights, a ``ray.get`` of a large batch)
ends the process at once from Ray's C++ code (``connection.cc``: "The
connection to the plasma store is failed. Terminate the process"), and with
nothing in flight the same happens about 15 s later, once the GCS marks the
node dead. When the GCS dies, the driver's GCS client gives up after
``gcs_rpc_server_reconnect_timeout_s`` (60 s) and ends the process too.
Neither can be caught in Python, so the learner must notice first and stop
calling Ray.

:class:`RayWatch` watches the processes a run depends on (the raylet and,
when it is on this machine, the GCS) through pidfds, so a death wakes it at
once, and probes a GCS elsewhere over TCP. :meth:`RayWatch.check` is cheap
enough to call before every Ray call. Once Ray is lost it calls ``on_lost``
once, and for a Ray the run started it kills every process of that Ray
(the ones ``ray.init`` started, their descendants, and the workers of its
raylet), so none is left behind. This module does not import Ray.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .actor_runner import ActorFailedError

_PERIOD = 1.0
_GCS_GRACE = 15.0
_PROBE_TIMEOUT = 2.0
# Ray's process types a run cannot go on without, and the names the operator reads.
_OWNED_ROOTS = {"raylet": "raylet", "gcs_server": "GCS"}


class RayLostError(ActorFailedError):
    """Ray's own processes are gone: no actor can be reached any more."""


@dataclass(frozen=True)
class _Proc:
    """A process, told apart from a later one with the same pid by its start time."""

    pid: int
    start: int


def _stat(pid: int) -> tuple[str, int, int] | None:
    """``(state, ppid, start time)`` of a process, or None if there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[19])


def _proc(pid: int) -> _Proc | None:
    stat = _stat(pid)
    return None if stat is None else _Proc(pid, stat[2])


def _alive(proc: _Proc) -> bool:
    """Whether the process still runs (a zombie has ended: only its entry is left)."""
    stat = _stat(proc.pid)
    return stat is not None and stat[0] not in "ZXx" and stat[2] == proc.start


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _descendants(roots: Iterable[int]) -> set[_Proc]:
    """The running descendants of ``roots`` (not the roots themselves)."""
    children: dict[int, list[_Proc]] = {}
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None and stat[0] not in "ZXx":
            children.setdefault(stat[1], []).append(_Proc(pid, stat[2]))
    found: set[_Proc] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child.pid)
    return found


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _workers_of(raylet: int) -> set[_Proc]:
    """Ray workers started by the raylet ``raylet`` (they keep its pid in their environment)."""
    mark = f"RAY_RAYLET_PID={raylet}".encode()
    found = set()
    for pid in _pids():
        if mark in _read(f"/proc/{pid}/environ").split(b"\0"):
            proc = _proc(pid)
            if proc is not None:
                found.add(proc)
    return found


def _find_local(argument: str, program: str = "") -> int | None:
    """The pid of a process of this machine that has ``argument`` (and runs ``program``)."""
    wanted = argument.encode()
    for pid in _pids():
        args = _read(f"/proc/{pid}/cmdline").split(b"\0")
        if wanted in args and args[0].endswith(program.encode()):
            return pid
    return None


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` ends (None: not on this kernel)."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:
        return None


class RayWatch:
    """Watches Ray's processes for a learner; says once when Ray is lost.

    Args:
        watched: ``(name, pid)`` of the processes the run cannot go on
            without (e.g. ``("raylet", 1234)``).
        on_lost: Called once, with a one-line reason, when Ray is lost (on
            whichever thread noticed first).
        owned: Pids of the processes this run started (``ray.init``'s); when
            given, every process of that Ray is killed once it is lost.
        gcs_probe: ``(host, port)`` of a GCS on another machine, probed over
            TCP each ``period``.
        period: Seconds between probes and between looks for new descendants.
        gcs_grace: Seconds a probed GCS may go unanswered before it is lost
            (Ray ends the driver after 60).
    """

    def __init__(
        self,
        watched: Sequence[tuple[str, int]],
        on_lost: Callable[[str], None],
        owned: Sequence[int] = (),
        gcs_probe: tuple[str, int] | None = None,
        period: float = _PERIOD,
        gcs_grace: float = _GCS_GRACE,
    ) -> None:
        self._on_lost = on_lost
        self._period = period
        self._gcs_grace = gcs_grace
        self._gcs_probe = gcs_probe
        self._watched: list[tuple[str, _Proc, int | None]] = []
        for name, pid in watched:
            proc = _proc(pid)
            if proc is None:
                proc = _Proc(pid, -1)  # already gone: check() says so
            self._watched.append((name, proc, _pidfd(pid)))
        self._raylets = [
            proc.pid for name, proc, _ in self._watched if name == "raylet"
        ]
        self._owned = [p for p in (_proc(pid) for pid in owned) if p is not None]
        self._known: set[_Proc] = set()
        self._lock = threading.Lock()
        self._lost: str | None = None
        self._closed = False
        self._gcs_answered = time.monotonic()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None

    @classmethod
    def of_ray(
        cls, ray: Any, owned: bool, on_lost: Callable[[str], None]
    ) -> RayWatch | None:
        """A watch of the Ray this process is connected to (None: nothing to watch).

        Args:
            ray: The ``ray`` module, initialised.
            owned: Whether this process started that Ray (``ray.init``
                without an address): its processes are then killed once lost.
            on_lost: See :class:`RayWatch`.
        """
        worker = ray._private.worker
        if owned:
            node = worker._global_node
            processes = getattr(node, "all_processes", None) or {}
            pids = {
                kind: [info.process.pid for info in infos]
                for kind, infos in processes.items()
            }
            watched = [
                (name, pid)
                for kind, name in _OWNED_ROOTS.items()
                for pid in pids.get(kind, [])
            ]
            every = [pid for group in pids.values() for pid in group]
            return cls(watched, on_lost, owned=every)
        node = getattr(worker.global_worker, "node", None)
        if node is None:  # Ray Client (ray://): nothing of Ray runs here
            return None
        watched = []
        raylet_socket = getattr(node, "raylet_socket_name", None)
        raylet = _find_local(f"--raylet_socket_name={raylet_socket}")
        if raylet is not None:
            watched.append(("raylet", raylet))
        probe = None
        # The GCS listens on a port it chose: found by its session, when here.
        session = getattr(node, "session_name", None)
        gcs = _find_local(f"--session-name={session}", "gcs_server")
        host, _, port = str(getattr(node, "gcs_address", "") or "").rpartition(":")
        if gcs is not None:
            watched.append(("GCS", gcs))
        elif port.isdigit():
            probe = (host, int(port))
        if not watched and probe is None:
            return None
        return cls(watched, on_lost, gcs_probe=probe)

    @property
    def lost(self) -> str | None:
        """Why Ray is lost, or None while it is not."""
        return self._lost

    def start(self) -> None:
        """Start watching on a thread of its own."""
        self._refresh()
        self._thread = threading.Thread(
            target=self._watch, name="ray-watch", daemon=True
        )
        self._thread.start()

    def check(self) -> str | None:
        """Look now (a few microseconds); return why Ray is lost, or None.

        After :meth:`close` it only says what it knew: a Ray shut down on
        purpose is no loss.
        """
        if self._lost is not None or self._closed:
            return self._lost
        for name, proc, fd in self._watched:
            try:
                ended = (
                    bool(select.select([fd], [], [], 0)[0])
                    if fd is not None
                    else not _alive(proc)
                )
            except (OSError, ValueError):  # closed by close() meanwhile
                ended = not _alive(proc)
            if ended:
                self._declare(f"the {name} (pid {proc.pid}) died")
                break
        return self._lost

    def kill_leftovers(self) -> int:
        """Kill every process of the Ray this run started (nothing for a joined one).

        Returns:
            How many processes were killed.
        """
        if not self._owned:
            return 0
        with self._lock:
            procs = set(self._known) | set(self._owned)
        procs |= _descendants(p.pid for p in procs)
        for raylet in self._raylets:
            procs |= _workers_of(raylet)
        killed = 0
        for proc in procs:
            if proc.pid != os.getpid() and _alive(proc):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                    killed += 1
        return killed

    def close(self) -> None:
        """Stop watching (kills nothing); a loss known before stays known."""
        self._closed = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(_PROBE_TIMEOUT + self._period)
        watched, self._watched = (
            self._watched,
            [(name, proc, None) for name, proc, _ in self._watched],
        )
        for _, _, fd in watched:
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- the watching thread ----------------------------------------------------------

    def _declare(self, why: str) -> None:
        with self._lock:
            if self._lost is not None or self._closed:
                return
            self._lost = why
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")  # the watching thread kills what is left
        self._on_lost(why)

    def _watch(self) -> None:
        fds = [fd for _, _, fd in self._watched if fd is not None] + [self._wake_r]
        while not self._closed:
            with contextlib.suppress(OSError, ValueError):
                select.select(fds, [], [], self._period)
            if self._closed:
                return
            if self.check() is None:
                self._probe_gcs()
            if self._lost is not None:
                self.kill_leftovers()
                return
            self._refresh()

    def _refresh(self) -> None:
        """Remember the running descendants of Ray's processes (they outlive a dead parent)."""
        if not self._owned:
            return
        found = _descendants(p.pid for p in self._owned)
        with self._lock:
            self._known = {p for p in self._known if _alive(p)} | found

    def _probe_gcs(self) -> None:
        if self._gcs_probe is None:
            return
        now = time.monotonic()
        try:
            with socket.create_connection(self._gcs_probe, timeout=_PROBE_TIMEOUT):
                self._gcs_answered = now
        except OSError:
            if now - self._gcs_answered >= self._gcs_grace:
                host, port = self._gcs_probe
                self._declare(
                    f"the GCS at {host}:{port} has not answered for {self._gcs_grace:g} s"
                )
