"""Figure 3 (PAMIQ-Core 0.6.0): process CPU while a 10 Hz loop runs and nothing is trainable."""

from __future__ import annotations

import argparse
import resource
import time

from _common import (
    BUFFER,
    CollectingAgent,
    ConsumingTrainer,
    ZeroEnv,
    emit,
    launch_bounded,
    wait_until,
)
from pamiq_core import FixedIntervalInteraction
from pamiq_core.data.impls import SequentialBuffer


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()

    agent = CollectingAgent()
    sample: dict[str, float] = {}

    def measure() -> None:
        wait_until(lambda: agent.steps > 0)
        time.sleep(args.warmup)
        sample["s0"], sample["t0"], sample["c0"] = (
            agent.steps,
            time.perf_counter(),
            cpu_seconds(),
        )
        time.sleep(args.duration)
        sample["c1"], sample["t1"], sample["s1"] = (
            cpu_seconds(),
            time.perf_counter(),
            agent.steps,
        )

    launch_bounded(
        FixedIntervalInteraction.with_sleep_adjustor(agent, ZeroEnv(), args.interval),
        {BUFFER: SequentialBuffer(1000)},
        {"trainer": ConsumingTrainer(never=True)},
        max_uptime=args.warmup + args.duration + 1.5,
        during=measure,
    )
    emit(
        {
            "cpu_seconds": sample["c1"] - sample["c0"],
            "wall_seconds": sample["t1"] - sample["t0"],
            "steps": sample["s1"] - sample["s0"],
        }
    )


if __name__ == "__main__":
    main()
