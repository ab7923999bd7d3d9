"""Figure 4 (PAMIQ-Core 0.6.0): pause latency while a trainer is inside a long train().

The control thread's ``try_pause()`` is what its web API's pause command runs;
here the caller invokes it directly (see ``ManualSystem``).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from _common import (
    BUFFER,
    CollectingAgent,
    ManualSystem,
    SpinningTrainer,
    ZeroEnv,
    emit,
    wait_until,
)
from pamiq_core import FixedIntervalInteraction
from pamiq_core.data.impls import SequentialBuffer


def gaps(count: int) -> list[float]:
    """Same staggered waits as ours."""
    return [0.1 + ((i * 0.618034) % 1.0) * 0.4 for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--train-seconds", type=float, default=1.0)
    parser.add_argument("--interval", type=float, default=0.01)
    args = parser.parse_args()

    agent = CollectingAgent()
    trainer = SpinningTrainer(args.train_seconds)
    latencies = []
    inside = 0
    with tempfile.TemporaryDirectory(prefix="pamiq-core-bench-") as tmp:
        system = ManualSystem(
            FixedIntervalInteraction.with_sleep_adjustor(
                agent, ZeroEnv(), args.interval
            ),
            {BUFFER: SequentialBuffer(1000)},
            {"trainer": trainer},
            tmp,
        )
        system.start()
        try:
            wait_until(lambda: trainer.inside)
            for gap in gaps(args.count):
                time.sleep(gap)
                inside += trainer.inside
                t0 = time.perf_counter()
                if not system.control.try_pause():
                    raise RuntimeError("PAMIQ-Core could not pause")
                latencies.append(time.perf_counter() - t0)
                system.control.resume()
        finally:
            system.stop()
    emit({"latencies": latencies, "requests_inside_train": inside})


if __name__ == "__main__":
    main()
