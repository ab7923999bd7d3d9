"""What an operator can do to a run, and its errors in plain words: one place for both views.

The control socket (:mod:`console.control_server`) and the dashboard
(:mod:`console.app`) do pause, resume, save, load, stop, status and settings through
:class:`RunControl`; :class:`LocalRun` is it for a system in this process. Each
operation returns a JSON-ready dict (what the socket sends back) and raises
:class:`OperationError` with a one-line message when it cannot be done, whatever
the engine raised. :func:`describe` turns a result into the line an operator
reads, the same in the CLI and the dashboard.

A view that talks to a run only through :class:`RunControl` can be pointed at a
run in another process (over its socket) without changing. It watches the run
through a :class:`Watch`: each :meth:`Watch.poll` brings a :class:`Poll`, the
status with the events since the previous poll, how many were lost, and what
changed in the learning curves the view shows (one request over a socket).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..runtime.control import PauseTimeoutError, SystemStoppedError
from ..state.catalogue import list_states
from ..state.persistence import StateError
from ..telemetry.events import Event
from ..telemetry.status import SystemStatus
from ..tunables import TunableError, format_value
from . import state_choice
from .curves import CurveBook, Key

if TYPE_CHECKING:
    from .served import ServedSystem

MAX_PAUSE_TIMEOUT = 3600.0


class OperationError(Exception):
    """An operation that could not be done (one-line message, without the op's name:
    views say ``"{op} failed: {message}"``).

    Args:
        op: The operation.
        message: What went wrong, in words.
        logged: The engine already put it in the run's event log.
    """

    def __init__(self, op: str, message: str, logged: bool = False) -> None:
        super().__init__(message)
        self.op = op
        self.logged = logged


def state_summary(
    path: Path, manifest: dict[str, Any], problem: str = "", seq: int | None = None
) -> dict[str, Any]:
    """The manifest data shown for a state (by ``states``, the socket and the picker).

    ``seq`` is its number among its directory's own states (None: foreign).
    """
    size = sum(int(f.get("size", 0)) for f in manifest.get("files", {}).values())
    return {
        "name": path.name,
        "path": str(path),
        "created": manifest.get("created"),
        "created_unix": manifest.get("created_unix"),
        "uptime": manifest.get("uptime"),
        "steps": manifest.get("steps"),
        "size": size,
        "components": manifest.get("components", []),
        "problem": problem,
        "seq": seq,
    }


def summaries(states_dir: Path) -> list[dict[str, Any]]:
    """:func:`state_summary` of every state in ``states_dir``, oldest first."""
    return [
        state_summary(i.path, i.manifest, i.problem, i.seq)
        for i in list_states(states_dir)
    ]


class EventFeed(Protocol):
    """The run's events as a view reads them (an engine ``Subscription`` is one)."""

    @property
    def dropped(self) -> int:
        """Events lost so far because the feed was full."""
        ...

    def drain(self) -> list[Event]:
        """Every event received since the last drain, oldest first."""
        ...

    def close(self) -> None:
        """Stop receiving."""
        ...


@dataclass(frozen=True)
class Poll:
    """What one poll of a :class:`Watch` brings: everything a view redraws from.

    Attributes:
        status: The run's status now.
        events: The events since the previous poll, oldest first.
        dropped: Events this watch has lost so far (its queue was full).
        curves: Updates of the curves asked for (see :meth:`CurveBook.updates`).
        metrics: Every curve the run keeps, in the order they first reported.
    """

    status: SystemStatus
    events: list[Event]
    dropped: int = 0
    curves: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[Key] = field(default_factory=list)


class Watch(Protocol):
    """A view's subscription to a run: status, events and curves in one poll."""

    @property
    def plots(self) -> tuple[Key, ...]:
        """The curves the run's config asks to show first."""
        ...

    def poll(self, curves: Sequence[Key] = ()) -> Poll:
        """The status, the events since the last poll, and what changed in ``curves``."""
        ...

    def close(self) -> None:
        """Stop watching."""
        ...


class LocalWatch:
    """A :class:`Watch` of a system in this process.

    Args:
        system: The system.
        subscription: Its events (taken before it started, to show its first ones).
        curves: The run's learning curves.
    """

    def __init__(
        self, system: ServedSystem, subscription: EventFeed, curves: CurveBook
    ) -> None:
        self._system = system
        self._subscription = subscription
        self._book = curves
        self._cursor: dict[Key, tuple[int, int, int]] = {}

    @property
    def plots(self) -> tuple[Key, ...]:
        """The curves the run's config asks to show first."""
        return self._book.plots

    def poll(self, curves: Sequence[Key] = ()) -> Poll:
        """The status, the events since the last poll, and what changed in ``curves``."""
        events = self._subscription.drain()
        return Poll(
            self._system.status(),
            events,
            self._subscription.dropped,
            self._book.updates(curves, self._cursor),
            self._book.curve_keys(),
        )

    def close(self) -> None:
        """Unsubscribe."""
        self._subscription.close()


class RunControl(Protocol):
    """A run as the operator's views see it, wherever it runs."""

    @property
    def name(self) -> str:
        """The run's name."""
        ...

    @property
    def states_dir(self) -> Path:
        """The run's states directory."""
        ...

    @property
    def ended(self) -> str | None:
        """How the run ended (``stopped``, ``failed: ...``, ``killed: ...``); None while it runs."""
        ...

    def status(self) -> SystemStatus:
        """A status snapshot."""
        ...

    def pause(self, timeout: object = None) -> dict[str, Any]:
        """Pause; returns once every thread paused."""
        ...

    def resume(self) -> dict[str, Any]:
        """Resume a paused run."""
        ...

    def save(self) -> dict[str, Any]:
        """Save the state now."""
        ...

    def load(self, state: object) -> dict[str, Any]:
        """Load a state of the run (a name, a path in its states dir, or ``latest``)."""
        ...

    def states(self) -> list[dict[str, Any]]:
        """The run's saved states, oldest first (see :func:`state_summary`)."""
        ...

    def shutdown(self, reason: str) -> dict[str, Any]:
        """Stop in order (the run saves a final state); returns at once."""
        ...

    def settings(self) -> list[dict[str, Any]]:
        """The run's tunable settings (see :meth:`engine.runtime.settings.Settings.describe`)."""
        ...

    def set_setting(self, name: str, value: object) -> dict[str, Any]:
        """Change a setting from its owner's next step; ``name``, ``old``, ``new``, ``owner``."""
        ...

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Wait until the run has stopped; whether it did within ``timeout``."""
        ...

    def watch(self, maxsize: int, subscription: EventFeed | None = None) -> Watch:
        """A new watch of the run (at most ``maxsize`` events waiting).

        ``subscription``: events taken already (a system in this process only).
        """
        ...


class LocalRun:
    """:class:`RunControl` for a system in this process.

    Args:
        system: The system.
        curves: The run's learning curves (its services keep them).
    """

    def __init__(self, system: ServedSystem, curves: CurveBook) -> None:
        self.system = system
        self.curves = curves

    @property
    def name(self) -> str:
        """The run's name."""
        return self.system.name

    @property
    def states_dir(self) -> Path:
        """The run's states directory."""
        return Path(self.system.store.states_dir)

    @property
    def ended(self) -> str | None:
        """How the run ended, once it has stopped."""
        status = self.system.status()
        if status.state != "stopped":
            return None
        return f"failed: {status.errors[0]}" if status.errors else "stopped"

    def status(self) -> SystemStatus:
        """A status snapshot."""
        return self.system.status()

    def pause(self, timeout: object = None) -> dict[str, Any]:
        """Pause; returns once every thread paused (within ``timeout`` seconds).

        Raises:
            OperationError: For a bad timeout, a stopped system or a pause timeout.
        """
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= MAX_PAUSE_TIMEOUT
        ):
            raise OperationError(
                "pause",
                f"'timeout' must be a number of seconds in (0, {MAX_PAUSE_TIMEOUT:g}]",
            )
        with _mapped("pause"):
            self.system.pause(timeout)
        return {"state": self.system.state.value}

    def resume(self) -> dict[str, Any]:
        """Resume a paused run."""
        with _mapped("resume"):
            self.system.resume()
        return {"state": self.system.state.value}

    def save(self) -> dict[str, Any]:
        """Save now: the new state and the old ones retention deleted."""
        with _mapped("save"):
            path, removed = self.system.save_state_report()
        return {
            "path": str(path),
            "name": path.name,
            "removed": [str(p) for p in removed],
        }

    def load(self, state: object) -> dict[str, Any]:
        """Load a state of this run (verified first; a refused one changes nothing)."""
        try:
            path = state_choice.in_run(
                state, self.states_dir, self.system.newest_verified_state
            )
        except state_choice.StateChoiceError as e:
            raise OperationError("load", str(e)) from None
        with _mapped("load", logged=(StateError,)):
            self.system.load_state(path)
        return {"path": str(path), "name": path.name}

    def states(self) -> list[dict[str, Any]]:
        """The run's saved states, oldest first."""
        return summaries(self.states_dir)

    def shutdown(self, reason: str) -> dict[str, Any]:
        """Stop in order (final save); returns at once."""
        self.system.shutdown(reason)
        return {"state": self.system.state.value}

    def settings(self) -> list[dict[str, Any]]:
        """The run's tunable settings: name, type, bounds, value..."""
        return self.system.settings.describe()

    def set_setting(self, name: str, value: object) -> dict[str, Any]:
        """Change a setting from its owner's next step.

        Raises:
            OperationError: Naming the setting and what it takes, or the
                system is stopping.
        """
        with _mapped("set"):
            return self.system.set_setting(name, value)

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Wait until the system has stopped."""
        return self.system.wait(timeout)

    def watch(self, maxsize: int, subscription: EventFeed | None = None) -> LocalWatch:
        """A new watch of the system (``subscription``: its events, if taken already)."""
        if subscription is None:
            subscription = self.system.events.subscribe(maxsize=maxsize)
        return LocalWatch(self.system, subscription, self.curves)


def local_run(system: ServedSystem) -> LocalRun:
    """:class:`LocalRun` of ``system`` with the curves its services keep (a
    system without services gets a book of its own, recording from now on)."""
    if system.services is not None:
        return LocalRun(system, system.services.curves)
    curves = CurveBook()
    system.events.add_callback(curves.record)
    return LocalRun(system, curves)


@contextlib.contextmanager
def _mapped(op: str, logged: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Turn what the engine raises into :class:`OperationError` (one line each).

    ``logged``: exception types the engine has already reported as events.
    """
    try:
        yield
    except OperationError:
        raise
    except (StateError, SystemStoppedError, PauseTimeoutError, TunableError) as e:
        # Plain words already.
        raise OperationError(op, str(e), logged=isinstance(e, logged)) from None
    except Exception as e:  # an operation must never take a view down
        raise OperationError(
            op, f"{type(e).__name__}: {e}", logged=isinstance(e, logged)
        ) from None


def describe(op: str, result: Any, run: str | None = None) -> list[str]:
    """The lines an operator reads for an operation's result.

    Args:
        op: The operation.
        result: What it returned (or what the socket sent back).
        run: The run's name, named in the first line when given (the CLI
            can reach any of several runs; the dashboard shows one).
    """
    if op == "save":
        lines = [f"saved {result['path']}" + (f" (run {run})" if run else "")]
        lines += [f"removed {p} (keep_last)" for p in result.get("removed", ())]
        return lines
    if op == "load":
        return [f"loaded {result['path']}" + (f" into run {run}" if run else "")]
    if op == "set":
        owner = result.get("owner")
        when = (
            "the agent's next step"
            if owner == "agent"
            else f"trainer {owner}'s next run"
        )
        return [
            f"{result['name']}: {format_value(result['old'])} -> {format_value(result['new'])} "
            f"from {when}" + (f" (run {run})" if run else "")
        ]
    verb = {"pause": "paused", "resume": "resumed", "shutdown": "stopping"}[op]
    return [f"{verb}" + (f" run {run}" if run else "") + f" (state: {result['state']})"]
