"""The thread that polls a run for the dashboard.

A :class:`SnapshotPoller` (not an engine thread) polls the run's
:class:`~engine.services.operations.Watch` several times a second (one request
over a socket: the status, the events since the last poll and the learning curve
shown), then posts one :class:`~console.messages.Snapshot` message to the app.
The engine only appends events to a bounded queue, so the UI can never slow it.

One snapshot is in flight at most: the poller polls again only once the app
has taken the last one (:meth:`SnapshotPoller.taken`), so a UI thread held
up (by the GIL of a busy run in its process, say) is never handed a backlog
to draw one after another; the events wait in the watch and come with the
next poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from textual.app import App

from engine.services.curves import Key
from engine.services.operations import EventFeed, OperationError, RunControl, Watch
from engine.thread.supervision import SupervisedThread

from .messages import PollerFailed, Snapshot

DEFAULT_POLL_HZ = 5.0
POLLER_QUEUE = 20_000

FailureHandler = Callable[[str, BaseException, str], None]
"""Told of a thread's failure: its name, the exception and the traceback (the
signature of :meth:`engine.System.report_failure`)."""


class SnapshotPoller(SupervisedThread):
    """Posts a :class:`Snapshot` to the app ``hz`` times a second.

    If it fails, the failure is reported to the system like any thread's (the
    run stops in order) and the app is told with :class:`PollerFailed`, so it
    can keep showing the status by itself.

    Args:
        run: The run to watch.
        app: Where to post.
        hz: Snapshots per second.
        subscription: Events to show (default: a new subscription). Pass one
            taken before the system started to show its first events too.
        on_failure: Told if the poller fails (the system's ``report_failure``
            when the run is in this process, so that it stops in order).
        curves: The learning curves to bring with each snapshot (asked each time).
    """

    def __init__(
        self,
        run: RunControl,
        app: App[Any],
        hz: float = DEFAULT_POLL_HZ,
        subscription: EventFeed | None = None,
        on_failure: FailureHandler | None = None,
        curves: Callable[[], Sequence[Key]] = tuple,
    ) -> None:
        super().__init__("console-poller", self._post_until_stopped, self._failed)
        self._run = run
        self._app = app
        self._period = 1.0 / hz
        self._halt = threading.Event()
        self._report = on_failure
        self._curves = curves
        self.watch: Watch = run.watch(POLLER_QUEUE, subscription)
        self._dropped_seen = 0
        self._taken = threading.Event()
        self._taken.set()

    def snapshot(self) -> Snapshot:
        """Take one snapshot now."""
        poll = self.watch.poll(self._curves())
        dropped = max(0, poll.dropped - self._dropped_seen)
        self._dropped_seen = poll.dropped
        return Snapshot(poll.status, poll.events, dropped, poll.curves, poll.metrics)

    def taken(self) -> None:
        """The app has taken the last snapshot posted: the next may come."""
        self._taken.set()

    def _wait_taken(self) -> bool:
        """Until the app took the last snapshot; False once stopped."""
        while not self._taken.wait(self._period):
            if self._halt.is_set():
                return False
        return not self._halt.is_set()

    def _post_until_stopped(self) -> None:
        while not self._halt.wait(self._period) and self._wait_taken():
            try:
                snapshot = self.snapshot()
            except OperationError:
                # A run over a socket that did not answer in time: the next
                # snapshot brings the news.
                continue
            self._taken.clear()
            self._app.post_message(snapshot)

    def _failed(self, thread: str, exc: BaseException, tb: str) -> None:
        self.watch.close()
        if self._report is not None:
            self._report(thread, exc, tb)
        self._app.post_message(PollerFailed())

    def stop(self) -> None:
        """Stop posting and unsubscribe."""
        self._halt.set()
        self.watch.close()
