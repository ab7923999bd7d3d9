"""A run in another process, reached over its control socket: what ``attach`` shows.

:class:`RemoteRun` is :class:`~engine.services.operations.RunControl` over
:class:`~console.control_client.ControlClient`; its :meth:`RemoteRun.watch`
gives a :class:`RemoteWatch`, a watcher with its own bounded queue in the run
(the ``watch`` and ``feed`` operations): one request per poll brings the
status, the events since the last poll and the curves asked for, and a watcher
that stops reading loses its oldest events, and is told how many, without
holding the run.

The run does not depend on its watchers: each request is its own connection,
and a watcher nobody feeds is dropped by the run after a while.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.services.control_server import PROTOCOL_VERSION, WATCHER_QUEUE
from engine.services.curves import Key
from engine.services.operations import EventFeed, OperationError, Poll
from engine.services.run_dir import read_run_info
from engine.state.store import pid_alive
from engine.telemetry.events import EVENT_KINDS, Event, event_from_dict
from engine.telemetry.status import SystemStatus

from .control_client import ControlClient, ControlError, NotListeningError
from .eventlog import ROUTINE_KINDS

OPERATIONS = ("pause", "resume", "save", "load", "shutdown", "set")
"""What ``--read-only`` refuses."""
LOOK_TIMEOUT = 5.0
"""Seconds to wait for a reply that only looks (status, states, events): a run
that stopped answering (SIGSTOPped, swapping) must not freeze the dashboard."""
HISTORY = 50
"""Recent events a new watcher is shown first (the last save, load, error...;
not the routine syncs and training runs)."""


class RunEndedError(OperationError):
    """The run's socket no longer answers: it has ended."""


class AttachError(Exception):
    """A run that cannot be attached to (one-line message)."""


def check_socket_path(socket_path: Path) -> None:
    """Refuse a socket whose directory others can write (they could replace it).

    Raises:
        AttachError: If the directory is writable by its group or others, or
            is not owned by this user, or the socket is missing.
    """
    directory = socket_path.absolute().parent
    try:
        info = directory.stat()
    except OSError as e:
        raise AttachError(f"{directory}: {e.strerror or e}") from None
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise AttachError(
            f"refusing {socket_path}: its directory {directory} is writable by "
            f"others (mode {stat.S_IMODE(info.st_mode):04o}); put the socket in "
            "a directory only you can write (chmod 700)"
        )
    if info.st_uid != os.getuid():
        raise AttachError(
            f"refusing {socket_path}: its directory {directory} belongs to "
            f"another user (uid {info.st_uid})"
        )
    if not socket_path.exists():
        raise AttachError(f"no run is listening on {socket_path} (no such socket)")


class RemoteWatch:
    """A watcher of a remote run (:class:`~engine.services.operations.Watch`): one ``feed``
    request per poll brings the status, the events and the curves.

    Args:
        run: The run.
        maxsize: Events the run keeps for this watcher between polls.
    """

    def __init__(self, run: RemoteRun, maxsize: int) -> None:
        self._run = run
        self._client = run.look_client
        self._maxsize = min(maxsize, WATCHER_QUEUE)
        self._lock = threading.Lock()
        self._watcher: str | None = None
        self._plots: tuple[Key, ...] = ()
        self._lost = 0  # dropped by watchers the run expired
        self._dropped = 0
        self._watch()
        # What happened before we watched, so the log does not start empty;
        # fetched after watching, so nothing falls between the two.
        self._history: list[dict[str, Any]] | None = self._recent()

    def _recent(self) -> list[dict[str, Any]]:
        """The run's last events an operator must notice (not its routine ones)."""
        kinds = sorted(EVENT_KINDS - ROUTINE_KINDS - {"metric", "trainability"})
        try:
            return list(self._client.request("events", limit=HISTORY, kinds=kinds))
        except NotListeningError:
            raise
        except ControlError:
            # A run of another build that lacks one of our kinds: take them all.
            return list(self._client.request("events", limit=HISTORY))

    def _watch(self) -> None:
        reply = self._client.request("watch", maxsize=self._maxsize)
        self._watcher = str(reply["watcher"])
        self._plots = tuple(
            (str(k[0]), str(k[1])) for k in reply.get("plots", ()) if len(k) == 2
        )

    @property
    def plots(self) -> tuple[Key, ...]:
        """The curves the run's config asks to show first."""
        return self._plots

    @property
    def dropped(self) -> int:
        """Events the run dropped for this watcher because its queue was full."""
        return self._dropped + self._lost

    def poll(self, curves: Sequence[Key] = ()) -> Poll:
        """The status, the events since the last poll, and what changed in ``curves``.

        Once the run is gone: its last status (as stopped) and no events.

        Raises:
            OperationError: If the run did not answer in time (the next poll
                tries again).
        """
        with self._lock:
            if self._watcher is None:
                try:  # the run is back (restarted under the same socket)?
                    self._watch()
                except ControlError:
                    return Poll(self._run.status(), [], self.dropped)
            try:
                reply = self._client.request(
                    "feed",
                    watcher=self._watcher,
                    curves=[list(k) for k in curves],
                )
            except NotListeningError:
                self._watcher = None
                return Poll(self._run.status(), [], self.dropped)
            except ControlError as e:
                if "no watcher" not in str(e):
                    raise OperationError("feed", str(e)) from None
                # The run expired us (we were away too long): watch again.
                self._lost += self._dropped
                self._dropped = 0
                self._watch()
                return Poll(self._run.status(), [], self.dropped)
            self._dropped = int(reply.get("dropped", 0))
            fed: list[dict[str, Any]] = list(reply.get("events", ()))
            if self._history is not None:
                seen = {json.dumps(d, sort_keys=True) for d in self._history}
                fed = self._history + [
                    d for d in fed if json.dumps(d, sort_keys=True) not in seen
                ]
                self._history = None
            events = (event_from_dict(d) for d in fed)
            return Poll(
                self._run.remember(reply["status"]),
                [e for e in events if e is not None],
                self.dropped,
                list(reply.get("curves", ())),
                [(str(k[0]), str(k[1])) for k in reply.get("metrics", ())],
            )

    def drain(self) -> list[Event]:
        """The events since the last poll (none once the run is gone)."""
        return self.poll().events

    def close(self) -> None:
        """Tell the run to drop this watcher (if it is still there)."""
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            with contextlib.suppress(ControlError):  # gone already: nothing to drop
                self._client.request("unwatch", watcher=watcher)


class RemoteRun:
    """:class:`~engine.services.operations.RunControl` of a run over its control socket.

    Args:
        socket_path: The run's control socket.
        read_only: Refuse every operation (look, never touch).
        timeout: Seconds to wait for a reply.

    Raises:
        AttachError: If the run does not answer, or speaks another protocol.
    """

    def __init__(
        self, socket_path: Path, read_only: bool = False, timeout: float = 300.0
    ) -> None:
        self.socket_path = socket_path
        self.read_only = read_only
        self.client = ControlClient(socket_path, timeout=timeout)
        self.look_client = ControlClient(socket_path, timeout=LOOK_TIMEOUT)
        try:
            ping = self.look_client.request("ping")
        except ControlError as e:
            raise AttachError(str(e)) from None
        protocol = ping.get("protocol") if isinstance(ping, dict) else None
        if protocol != PROTOCOL_VERSION:
            said = (
                "does not say its protocol"
                if protocol is None
                else (f"speaks control protocol {protocol}")
            )
            raise AttachError(
                f"the run on {socket_path} {said}; this pamiq-console speaks "
                f"protocol {PROTOCOL_VERSION}: use the same pamiq-console version "
                "for both"
            )
        self.pid = int(ping.get("pid", 0))
        self._last: SystemStatus | None = None
        self._provisional = False
        self.ended: str | None = None
        """How the run ended, once it did (None while it runs); see ``RunControl``."""
        status = self._request("status")
        self._info: dict[str, Any] = status["run"]
        self.remember(status)

    @property
    def name(self) -> str:
        """The run's name."""
        return str(self._info.get("name") or self.socket_path.parent.name)

    @property
    def states_dir(self) -> Path:
        """The run's states directory."""
        return Path(self._info["states_dir"])

    def _request(self, op: str, **args: Any) -> Any:
        if self.read_only and op in OPERATIONS:
            raise OperationError(op, "attached read-only: no operations")
        try:
            client = self.client if op in OPERATIONS else self.look_client
            return client.request(op, **args)
        except NotListeningError:
            self._gone()
            raise RunEndedError(op, f"the run has ended ({self.ended})") from None
        except ControlError as e:
            raise OperationError(op, str(e)) from None

    def remember(self, result: dict[str, Any]) -> SystemStatus:
        """Take a status the run sent (a ``status`` or ``feed`` reply's) as the latest."""
        status = SystemStatus.from_dict(result)
        if self.ended is not None and status.state != "stopped":
            # It answers again and runs: a new run under the same run directory.
            self.ended = None
            self._provisional = False
            self._info = dict(result.get("run", self._info))
            self.pid = int(self._info.get("pid", self.pid))
        self._last = status
        if status.state == "stopped" and self.ended is None:
            self.ended = _how_it_ended(status, "stopped")
        return status

    def _gone(self) -> None:
        """The socket stopped answering: say how the run ended, from what we know.

        ``run.json`` (when its run directory is on this machine) says whether it
        stopped in order; it is written just after the socket goes, so a verdict
        that only says the socket went away is looked at again on the next call.
        """
        if self.ended is not None and not self._provisional:
            return
        self._provisional = False
        last = self._last
        info = (
            read_run_info(Path(self._info["run_dir"]))
            if "run_dir" in self._info
            else None
        )
        recorded = info is not None and info.pid == self.pid
        if recorded and info is not None and info.data.get("stopped") is not None:
            code = info.data.get("exit_code")
            if last is not None and last.errors:
                self.ended = _how_it_ended(last, "stopped")
            else:
                self.ended = (
                    "stopped" if code in (0, None) else f"failed (exit code {code})"
                )
        elif last is not None and last.errors:
            self.ended = _how_it_ended(last, "stopped")
        elif last is not None and last.state == "stopped":
            self.ended = "stopped"
        elif self.pid and not pid_alive(self.pid):
            state = last.state if last is not None else "running"
            self.ended = (
                f"killed: process {self.pid} ended while {state}, without "
                "stopping in order"
            )
        else:
            state = last.state if last is not None else "running"
            self.ended = f"its control socket went away while it was {state}"
            self._provisional = True

    def status(self) -> SystemStatus:
        """A status snapshot; once the run is gone, the last one, as stopped."""
        try:
            return self.remember(self._request("status"))
        except RunEndedError:
            if self._last is None:
                raise
            if self._last.state != "stopped":
                self._last = dataclasses.replace(self._last, state="stopped")
            return self._last

    def pause(self, timeout: object = None) -> dict[str, Any]:
        """Pause the run."""
        args = {} if timeout is None else {"timeout": timeout}
        return dict(self._request("pause", **args))

    def resume(self) -> dict[str, Any]:
        """Resume the run."""
        return dict(self._request("resume"))

    def save(self) -> dict[str, Any]:
        """Save the run's state now."""
        return dict(self._request("save"))

    def load(self, state: object) -> dict[str, Any]:
        """Load a state of the run."""
        return dict(self._request("load", state=state))

    def states(self) -> list[dict[str, Any]]:
        """The run's saved states, oldest first."""
        return list(self._request("states"))

    def shutdown(self, reason: str) -> dict[str, Any]:
        """Stop the run in order (it saves a final state)."""
        return dict(self._request("shutdown"))

    def settings(self) -> list[dict[str, Any]]:
        """The run's tunable settings."""
        return list(self._request("settings"))

    def set_setting(self, name: str, value: object) -> dict[str, Any]:
        """Change a setting of the run from its owner's next step."""
        return dict(self._request("set", name=name, value=value))

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Wait until the run has stopped (or its socket went away)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = threading.Event()  # never set: a wait that cannot be woken early
        while self.status().state != "stopped":
            if deadline is not None and time.monotonic() >= deadline:
                return False
            pause.wait(0.1)
        return True

    def watch(self, maxsize: int, subscription: EventFeed | None = None) -> RemoteWatch:
        """A new watcher of the run (``subscription`` is for runs in this process)."""
        return RemoteWatch(self, maxsize)


def _how_it_ended(status: SystemStatus, verb: str) -> str:
    return f"failed: {status.errors[0]}" if status.errors else verb
