"""Collector/user hand-off between the inference and training threads.

The agent calls :meth:`DataCollector.collect` on the inference thread: an
append under a short lock. The trainer calls :meth:`DataUser.update` on the
training thread: it swaps the pending queue out in O(1) and feeds the items to
the buffer. Every collected item gets a sequence number, so "new data since the
last training" is a subtraction that can never miss an item collected while a
trainer was checking its condition.

A trainer can bound how far collection runs ahead of its training
(:meth:`DataUser.limit_collection`, e.g. a replay ratio): past the limit,
``collect()`` on the engine's inference thread waits, as a pause point, until
the trainer raises the limit.

A buffer that marks episode ends (one with an ``ends_episode(item)`` method,
e.g. :class:`~engine.data.EpisodeBuffer`) has its complete episodes counted the
same way, at collection time, so a trainer waiting for new episodes can be
woken by the item that ends the last one it needs.
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
from typing_extensions import override

from .. import time
from ..state.persistence import Commit, PersistentStateMixin, prepare_component_load
from ..thread import worker_binding
from .buffer import DataBuffer

T = TypeVar("T")
R = TypeVar("R")


class DataCollector(Generic[T]):
    """Inference-side end of a buffer: collects items for the training thread.

    Args:
        max_queue_size: Bound on items pending between updates (None: unbounded).
        ends_episode: Whether an item is the last step of an episode; when given,
            complete episodes are counted (None: items are not episodic).
    """

    def __init__(
        self,
        max_queue_size: int | None = None,
        ends_episode: Callable[[T], bool] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: deque[tuple[T, float]] = deque(maxlen=max_queue_size)
        self._max_queue_size = max_queue_size
        self._seq = 0
        self._wake_at = math.inf
        self._wake: Callable[[], None] | None = None
        self._ends_episode = ends_episode
        self._episodes = 0
        self._wake_at_episode = math.inf
        # collect() waits while _seq >= _limit (see DataUser.limit_collection).
        self._limit: float = math.inf
        self._room = threading.Event()
        self._waiting = False

    def collect(self, data: T) -> None:
        """Hand one item to the training side (thread-safe, O(1)).

        On an engine worker thread it first waits, if a trainer has limited
        collection and the limit is reached, until the limit is raised; a pause
        or stop request is served meanwhile (see :meth:`DataUser.limit_collection`).
        """
        if self._seq >= self._limit:
            self._wait_for_room()
        # Outside the lock: the predicate only reads the item.
        ends = self._ends_episode is not None and self._ends_episode(data)
        with self._lock:
            self._queue.append((data, time.time()))
            self._seq += 1
            if ends:
                self._episodes += 1
                if self._episodes >= self._wake_at_episode:
                    self._wake_at_episode = math.inf
                    if self._wake is not None:
                        self._wake()
            if self._seq >= self._wake_at:
                self._wake_at = math.inf
                if self._wake is not None:
                    self._wake()

    def _wait_for_room(self) -> None:
        worker = worker_binding.current_worker()
        if worker is None:
            # Plain code (a test, a script) is never made to wait: nothing
            # there would serve a pause or stop while it waited.
            return
        try:
            while True:
                with self._lock:
                    if self._seq < self._limit:
                        return
                    self._room.clear()
                    self._waiting = True
                if worker.wait_for(self._room):
                    worker.pause_point()
        finally:
            self._waiting = False

    def _set_limit(self, total: int | None) -> None:
        with self._lock:
            self._limit = math.inf if total is None else total
            if self._seq < self._limit:
                self._room.set()

    @property
    def waiting(self) -> bool:
        """Whether ``collect()`` is waiting for the training side to raise its limit."""
        return self._waiting

    @property
    def limited(self) -> bool:
        """Whether a trainer limits collection (see :meth:`DataUser.limit_collection`)."""
        return self._limit != math.inf

    @property
    def collected_total(self) -> int:
        """Sequence number of the newest item: how many were ever collected."""
        return self._seq

    @property
    def episodes_total(self) -> int | None:
        """How many complete episodes were ever collected (None: items are not episodic)."""
        return self._episodes if self._ends_episode is not None else None

    @property
    def pending(self) -> int:
        """How many items wait for the next update."""
        return len(self._queue)

    def _take(self) -> tuple[deque[tuple[T, float]], int]:
        """Swap out everything pending; return it with the newest item's sequence number."""
        with self._lock:
            taken = self._queue
            self._queue = deque(maxlen=self._max_queue_size)
            return taken, self._seq

    def set_wake(self, wake: Callable[[], None] | None) -> None:
        """Call ``wake`` (from the collecting thread) when a requested item arrives.

        The engine's training thread sets this once when it is wired; it then
        sleeps until :meth:`request_wake` or :meth:`request_episode_wake` fires.
        """
        self._wake = wake

    def request_wake(self, at_seq: int) -> bool:
        """Arrange a wake-up when item ``at_seq`` arrives; True if it already has."""
        with self._lock:
            if self._seq >= at_seq:
                return True
            if self._max_queue_size is not None:
                # Wake before the bounded pending queue starts dropping items.
                room = self._max_queue_size - len(self._queue)
                at_seq = min(at_seq, self._seq + max(1, room))
            self._wake_at = min(self._wake_at, at_seq)
            return False

    def request_episode_wake(self, at_episode: int) -> bool:
        """Arrange a wake-up when episode ``at_episode`` ends; True if it already has."""
        with self._lock:
            if self._episodes >= at_episode:
                return True
            if self._max_queue_size is not None:
                # Waiting for episodes must not let the pending queue overflow either.
                room = self._max_queue_size - len(self._queue)
                self._wake_at = min(self._wake_at, self._seq + max(1, room))
            self._wake_at_episode = min(self._wake_at_episode, at_episode)
            return False

    def _reset_sequence(self, seq: int) -> None:
        with self._lock:
            self._seq = seq
            # A limit counted in the old sequence is void; its trainer sets a new one.
            self._limit = math.inf
            self._room.set()

    def _reset_episodes(self, episodes: int) -> None:
        with self._lock:
            self._episodes = episodes


def _int_or_none(value: object) -> int | None:
    # A test double such as engine.testing.create_mock_buffer() answers with
    # mocks where a buffer would give a number: treat those as "not known".
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class DataUser(PersistentStateMixin, Generic[R]):
    """Training-side end of a buffer.

    Args:
        buffer: The buffer that stores the data.
    """

    def __init__(self, buffer: DataBuffer[Any, R]) -> None:
        self._buffer = buffer
        self._timestamps: deque[float] = deque(maxlen=self._timestamp_bound(buffer))
        ends_episode = getattr(buffer, "ends_episode", None)
        self._collector = DataCollector[Any](
            _int_or_none(buffer.max_queue_size),
            ends_episode if callable(ends_episode) else None,
        )
        self._visible_total = 0
        self._random = random.Random()

    @staticmethod
    def _timestamp_bound(buffer: DataBuffer[Any, Any]) -> int | None:
        bound = _int_or_none(buffer.capacity)
        return bound if bound is not None else _int_or_none(buffer.max_queue_size)

    @property
    def buffer(self) -> DataBuffer[Any, R]:
        """The underlying buffer."""
        return self._buffer

    @property
    def collector(self) -> DataCollector[Any]:
        """The matching inference-side collector."""
        return self._collector

    def update(self) -> None:
        """Move everything collected so far into the buffer."""
        taken, newest = self._collector._take()
        add = self._buffer.add
        stamps = self._timestamps
        for data, stamp in taken:
            add(data)
            stamps.append(stamp)
        self._visible_total = newest

    @property
    def visible_total(self) -> int:
        """Sequence number of the newest item moved into the buffer.

        Everything up to it can be read from the buffer; later items are still
        pending. A trainer's "new data" is what was collected after the newest
        item its previous run could see.
        """
        return self._visible_total

    def get_data(self) -> R:
        """Update, then return the buffer's data (the built-in buffers return a copy)."""
        self.update()
        return self._buffer.get_data()

    def sample(self, k: int, rng: random.Random | None = None) -> R:
        """Update, then draw ``k`` items uniformly with replacement, shaped like :meth:`get_data`.

        For replay: the built-in buffers draw in O(k), without the copy of the
        whole buffer that :meth:`get_data` makes (see ``DataBuffer.sample``).

        Args:
            k: How many items to draw.
            rng: The generator to draw with; seed one for reproducible runs
                (None: this data user's own, unseeded).

        Raises:
            ValueError: If the buffer is empty and ``k > 0``.
        """
        self.update()
        return self._buffer.sample(k, self._random if rng is None else rng)

    def limit_collection(self, total: int | None) -> None:
        """Let the agent collect items only up to number ``total``, or lift the limit (None).

        While :attr:`collected_total` has reached ``total``, the collector's
        ``collect()`` waits on the engine's inference thread until the limit is
        raised or lifted; the wait is a pause point, so pause, save and shutdown
        are served meanwhile. Elsewhere (plain code) collection never waits.
        A trainer uses it to keep a replay ratio: the agent acts only as far
        ahead of training as the trainer allows. Only one trainer should limit
        a buffer, and it must allow every item it waits for before it trains
        again, or the two threads wait for each other. A loaded state lifts
        the limit until the trainer sets it again.

        Args:
            total: The highest :attr:`collected_total` allowed; None: no limit.
        """
        self._collector._set_limit(total)

    @property
    def collection_limit(self) -> int | None:
        """The limit set by :meth:`limit_collection` (None: none)."""
        limit = self._collector._limit
        return None if limit == math.inf else int(limit)

    def count_data_added_since(self, timestamp: float) -> int:
        """Count items in the buffer collected after ``timestamp`` (engine time).

        Kept for PAMIQ-Core compatibility; trainers count by sequence number.
        """
        count = 0
        for stamp in reversed(self._timestamps):
            if stamp <= timestamp:
                break
            count += 1
        return count

    @property
    def collected_total(self) -> int:
        """How many items were ever collected (including pending ones)."""
        return self._collector.collected_total

    @property
    def episodes_total(self) -> int | None:
        """Complete episodes ever collected, pending ones included (None: not episodic)."""
        return self._collector.episodes_total

    def size_including_pending(self) -> int:
        """Buffer size as it will be after the next update (capped at capacity)."""
        size = len(self._buffer) + self._collector.pending
        capacity = _int_or_none(self._buffer.capacity)
        return min(size, capacity) if capacity is not None else size

    def __len__(self) -> int:
        return len(self._buffer)

    @override
    def save_state(self, path: Path) -> None:
        """Save the buffer, timestamps and sequence counter under ``path/``."""
        self.update()
        path.mkdir()
        self._buffer.save_state(path / "buffer")
        np.save(path / "timestamps.npy", np.asarray(self._timestamps, dtype=np.float64))
        (path / "user.json").write_text(
            json.dumps({"collected_total": self._visible_total})
        )

    @override
    def load_state(self, path: Path) -> None:
        """Load what :meth:`save_state` wrote; items pending now are discarded."""
        commit = self.prepare_load(path)
        if commit is not None:
            commit()
            return
        self._buffer.load_state(path / "buffer")
        self._install(*self._read_counters(path))

    @override
    def prepare_load(self, path: Path) -> Commit | None:
        """Read a state ahead (see :meth:`load_state`) if the buffer can do so too."""
        commit_buffer = prepare_component_load(self._buffer, path / "buffer")
        if commit_buffer is None:
            return None
        counters = self._read_counters(path)

        def commit() -> None:
            commit_buffer()
            self._install(*counters)

        return commit

    def _read_counters(self, path: Path) -> tuple[deque[float], int]:
        stamps = np.load(path / "timestamps.npy", allow_pickle=False)
        meta = json.loads((path / "user.json").read_text())
        timestamps = deque(stamps.tolist(), maxlen=self._timestamps.maxlen)
        return timestamps, int(meta["collected_total"])

    def _install(self, timestamps: deque[float], collected_total: int) -> None:
        self._timestamps = timestamps
        self._collector._take()
        self._collector._reset_sequence(collected_total)
        self._visible_total = collected_total
        if self._collector.episodes_total is not None:
            # Saved after an update, so the buffer's count was the collector's.
            self._collector._reset_episodes(
                int(getattr(self._buffer, "episodes_total", 0))
            )
