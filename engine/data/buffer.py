"""The data buffer interface (PAMIQ-Core's ``DataBuffer``)."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from ..state.persistence import PersistentStateMixin

T = TypeVar("T")
R = TypeVar("R")


class DataBuffer(ABC, PersistentStateMixin, Generic[T, R]):
    """Stores experience on the training side.

    Type Parameters:
        T: One collected item.
        R: What :meth:`get_data` returns.

    Args:
        max_queue_size: How many collected items may wait between two
            ``DataUser.update()`` calls (older ones are dropped); None for no
            bound, which warns (as PAMIQ-Core does): an agent that collects
            faster than the trainer updates then grows memory without limit.

    Raises:
        ValueError: If ``max_queue_size`` is negative.
    """

    def __init__(self, max_queue_size: int | None = None) -> None:
        if max_queue_size is None:
            warnings.warn(
                f"{type(self).__name__}: max_queue_size is None, so the items waiting "
                "between two updates are unbounded and memory grows while the agent "
                "collects faster than the trainer updates",
                RuntimeWarning,
                stacklevel=2,
            )
        elif max_queue_size < 0:
            raise ValueError(
                f"{type(self).__name__}: max_queue_size must be non-negative, "
                f"got {max_queue_size}"
            )
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
