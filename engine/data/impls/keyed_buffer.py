"""The shared half of the dict buffers: items are dicts with fixed keys, data comes out by key."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

from typing_extensions import override

from ...state.persistence import Commit, prepare_component_load
from ..buffer import DataBuffer

T = TypeVar("T")


class KeyedBuffer(DataBuffer[Mapping[str, T], dict[str, list[T]]], Generic[T]):
    """Stores dict items in an inner list buffer; :meth:`get_data` returns a list per key.

    Args:
        keys: The keys every item must have, exactly.
        inner: The buffer that stores whole items (it decides what is kept).
    """

    def __init__(
        self, keys: Iterable[str], inner: DataBuffer[dict[str, T], list[dict[str, T]]]
    ) -> None:
        self._buffer = inner
        super().__init__(inner.max_queue_size)
        self._keys = list(dict.fromkeys(keys))
        self._key_set = frozenset(self._keys)

    @property
    def max_size(self) -> int:
        """Maximum number of items (the inner buffer's)."""
        capacity = self._buffer.capacity
        if capacity is None:
            raise TypeError(f"{type(self._buffer).__name__} has no max_size")
        return capacity

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
                f"Data keys {sorted(data.keys())} do not match expected keys {sorted(self._keys)}"
            )
        self._buffer.add(dict(data))

    @override
    def get_data(self) -> dict[str, list[T]]:
        return self._columns(self._buffer.get_data())

    @override
    def sample(self, k: int, rng: random.Random) -> dict[str, list[T]]:
        """``k`` items drawn uniformly with replacement, one list per key."""
        return self._columns(self._buffer.sample(k, rng))

    def _columns(self, items: list[dict[str, T]]) -> dict[str, list[T]]:
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

    @override
    def prepare_load(self, path: Path) -> Commit | None:
        return prepare_component_load(self._buffer, path)
