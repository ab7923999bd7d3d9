"""The data buffer interface (PAMIQ-Core's ``DataBuffer``)."""

from __future__ import annotations

import random
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Generic, TypeVar, cast

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

    def sample(self, k: int, rng: random.Random) -> R:
        """Return ``k`` items drawn uniformly with replacement, shaped like :meth:`get_data`.

        The built-in buffers draw in O(k) without copying what they hold. This
        default draws from :meth:`get_data`, so it copies the buffer's data
        each time; a buffer whose data is not a sequence must override it.

        Args:
            k: How many items to draw (>= 0).
            rng: The random generator to draw with (seed it for reproducible runs).

        Raises:
            ValueError: If the buffer is empty and ``k > 0``.
            TypeError: If :meth:`get_data` does not return a sequence.
        """
        data = self.get_data()
        if not isinstance(data, Sequence):
            raise TypeError(
                f"{type(self).__name__}.get_data() returns "
                f"{type(data).__name__}, not a sequence: override sample()"
            )
        return cast(R, draw(data, k, rng))


def draw(items: Sequence[T], k: int, rng: random.Random) -> list[T]:
    """``k`` elements of ``items`` drawn uniformly with replacement, in O(k).

    Raises:
        ValueError: If ``items`` is empty and ``k > 0``.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    n = len(items)
    if n == 0:
        if k == 0:
            return []
        raise ValueError(f"cannot sample {k} items: the buffer holds none to draw from")
    return rng.choices(items, k=k)
