"""The data buffer interface (PAMIQ-Core's ``DataBuffer``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from ..state import PersistentStateMixin

T = TypeVar("T")
R = TypeVar("R")


class DataBuffer(ABC, PersistentStateMixin, Generic[T, R]):
    """Stores experience on the training side.

    Type Parameters:
        T: One collected item.
        R: What :meth:`get_data` returns.

    Args:
        max_queue_size: How many collected items may wait between two
            ``DataUser.update()`` calls (older ones are dropped); None for no bound.
    """

    def __init__(self, max_queue_size: int | None = None) -> None:
        if max_queue_size is not None and max_queue_size < 0:
            raise ValueError(f"max_queue_size must be >= 0, got {max_queue_size}")
        self._max_queue_size = max_queue_size

    @property
    def max_queue_size(self) -> int | None:
        """The bound on items waiting between updates (None: unbounded)."""
        return self._max_queue_size

    @property
    def capacity(self) -> int | None:
        """How many items the buffer holds at most, when it knows (for status)."""
        max_size = getattr(self, "max_size", None)
        return max_size if isinstance(max_size, int) else None

    @abstractmethod
    def add(self, data: T) -> None:
        """Add one item."""

    @abstractmethod
    def get_data(self) -> R:
        """Return the stored data."""

    @abstractmethod
    def __len__(self) -> int:
        """Return the number of stored items."""
