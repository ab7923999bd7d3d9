"""Per-actor policy lag: how many weight publications old each batch was on arrival."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

_WINDOW = 512


@dataclass(frozen=True)
class LagStats:
    """One actor's lag and counts at the learner.

    Attributes:
        actor: Index.
        batches: Batches received.
        items: Items fed into the buffers.
        stale_batches: Batches dropped for exceeding ``max_policy_lag``.
        stale_items: Items in those batches.
        lag_p50: Median lag over the last batches (None before the first).
        lag_max: Largest lag over the last batches (None before the first).
        last_version: Policy version of the newest batch.
    """

    actor: int
    batches: int
    items: int
    stale_batches: int
    stale_items: int
    lag_p50: int | None
    lag_max: int | None
    last_version: int | None


class LagTracker:
    """Counts batches and a window of recent lags for each actor (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lags: dict[int, deque[int]] = {}
        self._counts: dict[int, list[int]] = {}
        self._versions: dict[int, int] = {}

    def record(
        self, actor: int, lag: int, version: int, items: int, stale: bool
    ) -> None:
        """Note one batch: its lag, its items, and whether it was dropped as stale."""
        with self._lock:
            self._lags.setdefault(actor, deque(maxlen=_WINDOW)).append(lag)
            counts = self._counts.setdefault(actor, [0, 0, 0, 0])
            counts[0] += 1
            if stale:
                counts[2] += 1
                counts[3] += items
            else:
                counts[1] += items
            self._versions[actor] = version

    def stats(self) -> dict[int, LagStats]:
        """A snapshot per actor that has sent a batch."""
        with self._lock:
            out = {}
            for actor, lags in self._lags.items():
                ordered = sorted(lags)
                batches, items, stale_batches, stale_items = self._counts[actor]
                out[actor] = LagStats(
                    actor=actor,
                    batches=batches,
                    items=items,
                    stale_batches=stale_batches,
                    stale_items=stale_items,
                    lag_p50=ordered[(len(ordered) - 1) // 2] if ordered else None,
                    lag_max=ordered[-1] if ordered else None,
                    last_version=self._versions.get(actor),
                )
            return out
