"""Figure 1 (PAMIQ-Core 0.6.0): the same collect-one-item-per-step loop via launch()."""

from __future__ import annotations

import argparse
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
from pamiq_core import Interaction
from pamiq_core.data.impls import SequentialBuffer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()

    agent = CollectingAgent()
    trainer = ConsumingTrainer(every=1000)
    sample: dict[str, float] = {}

    def measure() -> None:
        wait_until(lambda: agent.steps > 0)
        time.sleep(args.warmup)
        sample["n0"], sample["t0"], sample["r0"] = (
            agent.steps,
            time.perf_counter(),
            trainer.runs,
        )
        time.sleep(args.duration)
        sample["n1"], sample["t1"], sample["r1"] = (
            agent.steps,
            time.perf_counter(),
            trainer.runs,
        )

    launch_bounded(
        Interaction(agent, ZeroEnv()),
        {BUFFER: SequentialBuffer(1000)},
        {"consumer": trainer},
        max_uptime=args.warmup + args.duration + 1.5,
        during=measure,
    )
    emit(
        {
            "steps": sample["n1"] - sample["n0"],
            "seconds": sample["t1"] - sample["t0"],
            "train_runs": sample["r1"] - sample["r0"],
            "consumed_total": trainer.consumed,
        }
    )


if __name__ == "__main__":
    main()
