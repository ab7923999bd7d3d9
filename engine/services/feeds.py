"""One feed per tick for every watcher of a run: built once, serialised once.

A watcher (an attached dashboard, a script polling ``feed`` over the control
socket) asks the run, a few times a second, for its status, the events since
it last asked and what changed in the curves it shows. Built per watcher, that
cost the run once per request, so eight dashboards cost eight times one.

:class:`FeedHub` serves every watcher from one *frame* per tick
(:data:`FEED_TICK`): a request finding a frame younger than the tick gets that
frame, and only a request that finds it older builds the next one. A frame
holds the status and the list of curves, each serialised to JSON once; the
run's events go into one numbered journal (not a queue per watcher), each
serialised once, and each watcher keeps only the number of the next event it
is owed, so it gets every event once, in order, whatever the tick. Curve
updates are deltas from what the watcher was last sent; one frame computes and
serialises each distinct delta once, and watchers that were sent the same
(every dashboard showing the same curve, polling in step) get the same bytes:
the feed is assembled from those pieces by joining bytes, and a whole reply
already assembled for another watcher of the same frame is reused as it is.

A watcher that falls more than its ``maxsize`` events behind, or further
behind than the journal reaches (:data:`JOURNAL_SIZE`), loses the oldest and
is told how many (``dropped``), as with a queue of its own. The journal
records only while some watcher exists, and holds at most
:data:`JOURNAL_SIZE` events whatever the number of watchers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..telemetry.events import Event, EventBus
from .curves import CurveBook, Key

FEED_TICK = 0.1
"""Seconds a frame serves before a request builds the next (at most 10 a second,
however many watchers ask; a dashboard asks 5 times a second)."""
JOURNAL_SIZE = 20_000
"""Events the journal holds for every watcher together (the largest ``maxsize``)."""

__all__ = ["FEED_TICK", "JOURNAL_SIZE", "FeedCursor", "FeedHub"]


class FeedCursor:
    """One watcher's place in the feed: the next event it is owed, what it lost,
    and what it was last sent of each curve (see :meth:`CurveBook.updates`).

    Args:
        next_event: The journal number of the first event it is owed.
        maxsize: Events kept for it at most; beyond that the oldest are lost.
    """

    __slots__ = ("curves", "dropped", "maxsize", "next_event")

    def __init__(self, next_event: int, maxsize: int) -> None:
        self.next_event = next_event
        self.maxsize = maxsize
        self.dropped = 0
        self.curves: dict[Key, Any] = {}


class _Entry:
    """A journal entry: the event and, once some feed needed it, its JSON."""

    __slots__ = ("event", "json")

    def __init__(self, event: Event) -> None:
        self.event = event
        self.json: bytes | None = None

    def encoded(self) -> bytes:
        data = self.json
        if data is None:
            # Two feeds may encode the same entry at once: the same bytes, no harm.
            data = self.json = _dumps(self.event.to_dict())
        return data


class _Frame:
    """What one tick serves: the status and curve list, and the pieces and
    replies assembled from them so far (each distinct one once)."""

    __slots__ = ("built", "curve_list", "curves", "end", "replies", "status")

    def __init__(self, built: float, end: int, status: bytes, curve_list: bytes):
        self.built = built
        self.end = end
        self.status = status
        self.curve_list = curve_list
        # (key, what the watcher was sent) -> (the update's JSON or None, what it is sent now)
        self.curves: dict[tuple[Key, Any], tuple[bytes | None, Any]] = {}
        # (first event, dropped, curve pieces) -> the whole feed
        self.replies: dict[tuple[Any, ...], bytes] = {}


class FeedHub:
    """Builds the run's feed once per tick and serves every watcher from it.

    Args:
        events: The run's event bus (the journal records from it while some
            watcher exists).
        curves: The run's learning curves.
        status: The ``status`` the feed carries, as a JSON-ready dict.
        tick: Seconds one frame serves.
        journal_size: Events the journal holds.
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        events: EventBus,
        curves: CurveBook,
        status: Callable[[], dict[str, Any]],
        tick: float = FEED_TICK,
        journal_size: int = JOURNAL_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tick = tick
        self.builds = 0
        """Frames built so far (one per tick at most, whatever the watchers)."""
        self._curves = curves
        self._status = status
        self._clock = clock
        self._size = journal_size
        self._lock = threading.Lock()  # the journal, the cursors' event numbers
        self._journal: list[_Entry | None] = []
        self._next = 0  # the number the next event gets
        self._open = 0  # cursors open: the journal records while there are some
        self._build_lock = threading.Lock()
        self._frame: _Frame | None = None
        self._remove_callback = events.add_callback(self._record)

    def _record(self, event: Event) -> None:
        """An event-bus callback, on the publishing thread: number it, keep it."""
        if not self._open:
            return
        with self._lock:
            if self._open:
                self._journal[self._next % self._size] = _Entry(event)
                self._next += 1

    def open(self, maxsize: int) -> FeedCursor:
        """A new watcher's cursor: it is owed every event from now on."""
        with self._lock:
            if not self._open:
                self._journal = [None] * self._size
            self._open += 1
            return FeedCursor(self._next, min(maxsize, self._size))

    def close(self, cursor: FeedCursor) -> None:
        """Forget a watcher; with the last one gone the journal stops recording."""
        with self._lock:
            self._open -= 1
            if not self._open:
                self._journal = []

    def shut(self) -> None:
        """Stop recording for good (the run's control socket closes)."""
        self._remove_callback()
        with self._lock:
            self._open = 0
            self._journal = []

    def feed(self, cursor: FeedCursor, wanted: Sequence[Key] = ()) -> bytes:
        """The watcher's feed as JSON: ``{"status", "events", "dropped", "curves", "metrics"}``.

        The status and the curve list are the frame's; the events are those the
        watcher is owed up to the frame's last (it is then owed the next); the
        curves are what changed since it was last sent each of ``wanted``.
        """
        frame = self._current_frame()
        with self._lock:
            start, entries = self._owed(cursor, frame.end)
            dropped = cursor.dropped
        pieces = []
        for key in wanted:
            piece, sent = self._curve(frame, key, cursor.curves.get(key))
            if sent is not None:
                cursor.curves[key] = sent
            if piece is not None:
                pieces.append(piece)
        reply_key = (start, len(entries), dropped, *pieces)
        reply = frame.replies.get(reply_key)
        if reply is None:
            reply = b"".join(
                (
                    b'{"status": ',
                    frame.status,
                    b', "events": [',
                    b", ".join(e.encoded() for e in entries),
                    b'], "dropped": ',
                    str(dropped).encode(),
                    b', "curves": [',
                    b", ".join(pieces),
                    b'], "metrics": ',
                    frame.curve_list,
                    b"}",
                )
            )
            frame.replies[reply_key] = reply
        return reply

    def _owed(self, cursor: FeedCursor, end: int) -> tuple[int, list[_Entry]]:
        """The entries ``cursor`` is owed before ``end`` (under the journal lock)."""
        start = cursor.next_event
        if start >= end or not self._open:
            # Sent up to this frame already, opened after it, or closed meanwhile.
            return start, []
        oldest = max(self._next - self._size, end - cursor.maxsize)
        if start < oldest:
            cursor.dropped += oldest - start
            start = oldest
        cursor.next_event = end
        journal, size = self._journal, self._size
        entries = [journal[n % size] for n in range(start, end)]
        return start, [e for e in entries if e is not None]

    def _curve(self, frame: _Frame, key: Key, sent: Any) -> tuple[bytes | None, Any]:
        """One curve's update for a watcher that was sent ``sent`` (once per frame)."""
        cached = frame.curves.get((key, sent))
        if cached is None:
            cursor = {} if sent is None else {key: sent}
            updates = self._curves.updates([key], cursor)
            piece = _dumps(updates[0]) if updates else None
            cached = frame.curves[(key, sent)] = (piece, cursor.get(key, sent))
        return cached

    def _current_frame(self) -> _Frame:
        frame = self._frame
        if frame is not None and self._clock() - frame.built < self.tick:
            return frame
        with self._build_lock:
            frame = self._frame
            if frame is not None and self._clock() - frame.built < self.tick:
                return frame  # another request built it while this one waited
            with self._lock:
                end = self._next
            # The status is taken after the frame's last event: it is never
            # older than an event the frame brings.
            frame = _Frame(
                self._clock(),
                end,
                _dumps(self._status()),
                _dumps([list(k) for k in self._curves.curve_keys()]),
            )
            self._frame = frame
            self.builds += 1
            return frame


def _dumps(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()
