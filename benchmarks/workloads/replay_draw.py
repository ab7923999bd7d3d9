"""Figure 9: the training side's cost of drawing one 128-item replay batch, by buffer size.

Buffers of 10k and 1M CartPole transitions (the DQN sample's float32 rows of
12 numbers) are filled through a ``DataUser``; then ``DataUser.sample(128)``
(an update with nothing pending, and the draw) is timed for each, alternating
blocks. ``ArrayBuffer`` is what the sample uses; ``SequentialBuffer`` (a list
of Python objects) is shown for comparison, with the whole-buffer copy
``get_data()`` that trainers used to draw from.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

import numpy as np

from engine.data import ArrayBuffer, DataUser, SequentialBuffer

from ._components import emit

SIZES = (10_000, 1_000_000)
BATCH = 128


def filled(kind: str, size: int) -> DataUser[Any]:
    buffer = ArrayBuffer(size) if kind == "array" else SequentialBuffer[Any](size)
    user = DataUser(buffer)
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((size, 12)).astype(np.float32)
    for row in rows:
        user.collector.collect(
            row.copy()
        )  # one object per item, as an agent makes them
        if user.collector.pending >= 100_000:
            user.update()
    user.update()
    return user


def per_draw_us(user: DataUser[Any], rng: random.Random, draws: int) -> float:
    start = time.perf_counter()
    for _ in range(draws):
        user.sample(BATCH, rng)
    return (time.perf_counter() - start) / draws * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    result: dict[str, Any] = {"batch": BATCH}
    for kind in ("array", "sequential"):
        users = {size: filled(kind, size) for size in SIZES}
        rng = random.Random(0)
        times: dict[int, list[float]] = {size: [] for size in SIZES}
        for user in users.values():
            per_draw_us(user, rng, args.draws)  # warm-up
        for _ in range(args.blocks):
            for size, user in users.items():
                times[size].append(per_draw_us(user, rng, args.draws))
        result[kind] = {str(size): statistics.median(times[size]) for size in SIZES}
        if kind == "sequential":
            big = users[SIZES[-1]]
            start = time.perf_counter()
            big.get_data()
            result["sequential_get_data_ms"] = (time.perf_counter() - start) * 1e3
        del users
    emit(result)


if __name__ == "__main__":
    main()
