"""Buffers that, once full, overwrite a random item (a reservoir of old and new data)."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

from typing_extensions import override

from ...state import serialization
from ...state.persistence import Commit
from ..buffer import DataBuffer, draw
from .keyed_buffer import KeyedBuffer

T = TypeVar("T")

_EULER_GAMMA = 0.5772156649015329


class RandomReplacementBuffer(DataBuffer[T, list[T]], Generic[T]):
    """Fills up to ``max_size``, then replaces a random item with probability p.

    Args:
        max_size: Maximum number of items.
        replace_probability: Chance that a new item replaces an old one when full
            (default 1.0). Mutually exclusive with ``expected_survival_length``.
        expected_survival_length: How many collected items an item should survive
            on average; ``replace_probability`` is derived from it.
    """

    def __init__(
        self,
        max_size: int,
        replace_probability: float | None = None,
        expected_survival_length: int | None = None,
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {max_size}")
        if replace_probability is None:
            replace_probability = (
                1.0
                if expected_survival_length is None
                else self.compute_replace_probability_from_expected_survival_length(
                    max_size, expected_survival_length
                )
            )
        elif expected_survival_length is not None:
            raise ValueError(
                "Cannot specify both replace_probability and expected_survival_length"
            )
        if not 0.0 <= replace_probability <= 1.0:
            raise ValueError(
                f"replace_probability must be within [0, 1], got {replace_probability}"
            )
        # Items kept from the pending queue: more than max_size can matter only
        # in proportion to the replacement probability.
        queue = (
            max_size
            if replace_probability == 0
            else int(max_size / replace_probability)
        )
        super().__init__(queue)
        self._max_size = max_size
        self._replace_probability = replace_probability
        self._items: list[T] = []
        self._random = random.Random()

    @staticmethod
    def compute_replace_probability_from_expected_survival_length(
        max_size: int, survival_length: int
    ) -> float:
        """Replacement probability giving items the expected survival length.

        With n slots and probability p an item survives about n (ln n + gamma) / p
        additions, so p = n (ln n + gamma) / L, clamped to [0, 1].
        """
        p = max_size / survival_length * (math.log(max_size) + _EULER_GAMMA)
        return min(max(p, 0.0), 1.0)

    @property
    def max_size(self) -> int:
        """Maximum number of items."""
        return self._max_size

    @property
    def is_full(self) -> bool:
        """Whether the buffer holds ``max_size`` items."""
        return len(self._items) >= self._max_size

    @override
    def add(self, data: T) -> None:
        if len(self._items) < self._max_size:
            self._items.append(data)
        elif self._random.random() < self._replace_probability:
            self._items[self._random.randrange(self._max_size)] = data

    @override
    def get_data(self) -> list[T]:
        return self._items.copy()

    @override
    def sample(self, k: int, rng: random.Random) -> list[T]:
        """``k`` items drawn uniformly with replacement, in O(k) (no copy of the buffer)."""
        return draw(self._items, k, rng)

    @override
    def __len__(self) -> int:
        return len(self._items)

    @override
    def save_state(self, path: Path) -> None:
        """Write the items (no pickle) and the random generator's state."""
        serialization.dump(self._items, path)
        version, internal, gauss = self._random.getstate()
        path.with_suffix(".rng.json").write_text(
            json.dumps({"version": version, "state": list(internal), "gauss": gauss})
        )

    @override
    def load_state(self, path: Path) -> None:
        """Read what :meth:`save_state` wrote (keeping at most ``max_size`` items)."""
        self.prepare_load(path)()

    @override
    def prepare_load(self, path: Path) -> Commit:
        """Read items and generator state (see :meth:`load_state`); the commit installs them."""
        items = serialization.load(path)
        if not isinstance(items, list):
            raise ValueError(f"{path.name}: expected a list of items")
        kept = items[: self._max_size]
        rng_path = path.with_suffix(".rng.json")
        rng_state: tuple[Any, ...] | None = None
        if rng_path.exists():
            rng = json.loads(rng_path.read_text())
            rng_state = (rng["version"], tuple(rng["state"]), rng["gauss"])
            random.Random().setstate(rng_state)  # raises here if it is malformed

        def commit() -> None:
            self._items = kept
            if rng_state is not None:
                self._random.setstate(rng_state)

        return commit


class DictRandomReplacementBuffer(KeyedBuffer[T]):
    """A :class:`RandomReplacementBuffer` of dicts that returns one list per key.

    Args:
        keys: The keys every item must have, exactly.
        max_size: Maximum number of items.
        replace_probability: See :class:`RandomReplacementBuffer`.
        expected_survival_length: See :class:`RandomReplacementBuffer`.
    """

    def __init__(
        self,
        keys: Iterable[str],
        max_size: int,
        replace_probability: float | None = None,
        expected_survival_length: int | None = None,
    ) -> None:
        super().__init__(
            keys,
            RandomReplacementBuffer[dict[str, T]](
                max_size, replace_probability, expected_survival_length
            ),
        )
