"""The Textual messages the dashboard's threads post to it.

* :class:`Snapshot`: the :class:`~console.poller.SnapshotPoller` thread's poll of
  the run (status, events, curve updates), applied to every panel in one batch.
* :class:`PollerFailed`: that thread died; the app polls the status by itself.
* :class:`OpFinished` / :class:`RunStopped`: the ``@work(thread=True)`` workers
  that pause, resume, save, load and stop report back.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from engine.services.curves import Key
from engine.telemetry.events import Event
from engine.telemetry.status import SystemStatus


class Snapshot(Message):
    """A status snapshot, the events since the previous one, and curve updates.

    Args:
        status: The system's status.
        events: Events published since the last snapshot, oldest first.
        dropped: Events lost (since the last snapshot) because the queue was full.
        curves: Updates of the learning curve shown (:meth:`CurveBook.updates`).
        metrics: Every curve the run keeps (None: not known with this snapshot).
    """

    def __init__(
        self,
        status: SystemStatus,
        events: list[Event],
        dropped: int = 0,
        curves: list[dict[str, Any]] | None = None,
        metrics: list[Key] | None = None,
    ) -> None:
        super().__init__()
        self.status = status
        self.events = events
        self.dropped = dropped
        self.curves = curves or []
        self.metrics = metrics


class OpFinished(Message):
    """A worker finished an operation.

    Args:
        op: ``pause``, ``resume``, ``save`` or ``load``.
        ok: Whether it worked.
        detail: What happened (a path, or the error).
        logged: The engine already put the failure in the event log.
    """

    def __init__(self, op: str, ok: bool, detail: str, logged: bool = False) -> None:
        super().__init__()
        self.op = op
        self.ok = ok
        self.detail = detail
        self.logged = logged


class RunStopped(Message):
    """The system stopped after the console asked it to (final state saved)."""


class PollerFailed(Message):
    """The snapshot poller died (the failure went to the system, which stops)."""
