"""First-in, first-out buffers."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Generic, TypeVar

from typing_extensions import override

from ...state import serialization
from ...state.persistence import Commit
from ..buffer import DataBuffer, draw
from .keyed_buffer import KeyedBuffer

T = TypeVar("T")


class SequentialBuffer(DataBuffer[T, list[T]], Generic[T]):
    """Keeps the newest ``max_size`` items in insertion order.

    Items live in a ring (a list and the position of the oldest item), so
    :meth:`sample` reads any item in O(1); a deque, which it used to be, reads
    its middle in O(n).

    Args:
        max_size: Maximum number of items.
    """

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        super().__init__(max_size)
        self._max_size = max_size
        self._items: list[T] = []
        self._oldest = 0

    @property
    def max_size(self) -> int:
        """Maximum number of items."""
        return self._max_size

    @override
    def add(self, data: T) -> None:
        items = self._items
        if len(items) < self._max_size:
            items.append(data)
        else:
            items[self._oldest] = data
            self._oldest = (self._oldest + 1) % self._max_size

    @override
    def get_data(self) -> list[T]:
        """The items, oldest first (a new list)."""
        oldest = self._oldest
        return self._items[oldest:] + self._items[:oldest]

    @override
    def sample(self, k: int, rng: random.Random) -> list[T]:
        """``k`` items drawn uniformly with replacement, in O(k) (no copy of the buffer)."""
        return draw(self._items, k, rng)

    @override
    def __len__(self) -> int:
        return len(self._items)

    @override
    def save_state(self, path: Path) -> None:
        """Write the items to ``<path>.json`` / ``<path>.bin`` (no pickle)."""
        serialization.dump(self.get_data(), path)

    @override
    def load_state(self, path: Path) -> None:
        """Read items written by :meth:`save_state` (keeping the newest ``max_size``)."""
        self.prepare_load(path)()

    @override
    def prepare_load(self, path: Path) -> Commit:
        """Read the items (see :meth:`load_state`); the commit swaps them in."""
        items = serialization.load(path)
        if not isinstance(items, list):
            raise ValueError(f"{path.name}: expected a list of items")
        kept = items[-self._max_size :]

        def commit() -> None:
            self._items = kept
            self._oldest = 0

        return commit


class DictSequentialBuffer(KeyedBuffer[T]):
    """A :class:`SequentialBuffer` of dicts that returns one list per key.

    Args:
        keys: The keys every item must have, exactly.
        max_size: Maximum number of items.
    """

    def __init__(self, keys: Iterable[str], max_size: int) -> None:
        super().__init__(keys, SequentialBuffer[dict[str, T]](max_size))
