"""Figure 4 (ours): time from a pause request to all-paused while a trainer is in train().

The trainer is always trainable; each ``train()`` spins pure Python for
``--train-seconds`` and calls the cooperative pause point between chunks.
The interaction runs at 100 Hz. Requests come at staggered moments so they
land at different points of ``train()``.
"""

from __future__ import annotations

import argparse
import time

from engine import FixedIntervalInteraction
from engine.data import SequentialBuffer

from ._components import (
    BUFFER,
    CollectingAgent,
    SpinningTrainer,
    ZeroEnv,
    emit,
    make_system,
    stop,
    wait_until,
)


def gaps(count: int) -> list[float]:
    """Deterministic, staggered waits (0.1 .. 0.5 s) between pause requests."""
    return [0.1 + ((i * 0.618034) % 1.0) * 0.4 for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--train-seconds", type=float, default=1.0)
    parser.add_argument("--interval", type=float, default=0.01)
    args = parser.parse_args()

    agent = CollectingAgent()
    trainer = SpinningTrainer(args.train_seconds)
    system, tmp = make_system(
        FixedIntervalInteraction.with_sleep_adjustor(agent, ZeroEnv(), args.interval),
        {BUFFER: SequentialBuffer(1000)},
        {"trainer": trainer},
    )
    latencies = []
    inside = 0
    with tmp:
        system.start()
        wait_until(lambda: trainer.inside)
        for gap in gaps(args.count):
            time.sleep(gap)
            inside += trainer.inside
            t0 = time.perf_counter()
            system.pause()
            latencies.append(time.perf_counter() - t0)
            system.resume()
        stop(system)
    emit({"latencies": latencies, "requests_inside_train": inside})


if __name__ == "__main__":
    main()
