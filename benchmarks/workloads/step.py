"""Figure 1 (ours): steps/s of a trivial collect-one-item-per-step loop.

A trainer becomes trainable every 1,000 new items and its ``train()`` takes
them from the buffer (``update()``/``get_data()``).
"""

from __future__ import annotations

import argparse
import time

from engine import Interaction
from engine.data import SequentialBuffer

from ._components import (
    BUFFER,
    CollectingAgent,
    ConsumingTrainer,
    ZeroEnv,
    emit,
    make_system,
    stop,
    wait_until,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()

    agent = CollectingAgent()
    trainer = ConsumingTrainer(every=1000)
    system, tmp = make_system(
        Interaction(agent, ZeroEnv()),
        {BUFFER: SequentialBuffer(1000)},
        {"consumer": trainer},
    )
    with tmp:
        system.start()
        wait_until(lambda: agent.steps > 0)
        time.sleep(args.warmup)
        n0, t0 = agent.steps, time.perf_counter()
        runs0 = trainer.runs
        time.sleep(args.duration)
        n1, t1 = agent.steps, time.perf_counter()
        runs1 = trainer.runs
        stop(system)
    emit(
        {
            "steps": n1 - n0,
            "seconds": t1 - t0,
            "train_runs": runs1 - runs0,
            "consumed_total": trainer.consumed,
        }
    )


if __name__ == "__main__":
    main()
