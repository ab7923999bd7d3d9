"""First-in, first-out buffers."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

from typing_extensions import override

from ... import serialization
from ..buffer import DataBuffer

T = TypeVar("T")


class SequentialBuffer(DataBuffer[T, list[T]], Generic[T]):
    """Keeps the newest ``max_size`` items in insertion order.

    Args:
        max_size: Maximum number of items.
    """

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        super().__init__(max_size)
        self._max_size = max_size
        self._queue: deque[T] = deque(maxlen=max_size)

    @property
    def max_size(self) -> int:
        """Maximum number of items."""
        return self._max_size

    @override
    def add(self, data: T) -> None:
        self._queue.append(data)

    @override
    def get_data(self) -> list[T]:
        return list(self._queue)

    @override
    def __len__(self) -> int:
        return len(self._queue)

    @override
    def save_state(self, path: Path) -> None:
        """Write the items to ``<path>.json`` / ``<path>.bin`` (no pickle)."""
        serialization.dump(list(self._queue), path)

    @override
    def load_state(self, path: Path) -> None:
        """Read items written by :meth:`save_state` (keeping the newest ``max_size``)."""
        items = serialization.load(path)
        if not isinstance(items, list):
            raise ValueError(f"{path.name}: expected a list of items")
        self._queue = deque(items, maxlen=self._max_size)


class DictSequentialBuffer(DataBuffer[Mapping[str, T], dict[str, list[T]]], Generic[T]):
    """A :class:`SequentialBuffer` of dicts that returns one list per key.

    Args:
        keys: The keys every item must have, exactly.
        max_size: Maximum number of items.
    """

    def __init__(self, keys: Iterable[str], max_size: int) -> None:
        self._buffer = SequentialBuffer[dict[str, T]](max_size)
        super().__init__(max_size)
        self._keys = list(dict.fromkeys(keys))
        self._key_set = frozenset(self._keys)

    @property
    def max_size(self) -> int:
        """Maximum number of items."""
        return self._buffer.max_size

    @property
    def keys(self) -> set[str]:
        """The required keys."""
        return set(self._keys)

    @override
    def add(self, data: Mapping[str, T]) -> None:
        """Add one item.

        Raises:
            ValueError: If the item's keys differ from :attr:`keys`.
        """
        if data.keys() != self._key_set:
            raise ValueError(
                f"data keys {sorted(data.keys())} do not match expected keys {sorted(self._keys)}"
            )
        self._buffer.add(dict(data))

    @override
    def get_data(self) -> dict[str, list[T]]:
        items = self._buffer.get_data()
        return {k: [item[k] for item in items] for k in self._keys}

    @override
    def __len__(self) -> int:
        return len(self._buffer)

    @override
    def save_state(self, path: Path) -> None:
        self._buffer.save_state(path)

    @override
    def load_state(self, path: Path) -> None:
        self._buffer.load_state(path)
