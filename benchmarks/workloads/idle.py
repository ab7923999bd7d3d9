"""Figure 3 (ours): process CPU while a 10 Hz loop runs and nothing is trainable."""

from __future__ import annotations

import argparse
import time

from engine import FixedIntervalInteraction
from engine.data import SequentialBuffer

from ..stats import CpuMeter
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
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()

    agent = CollectingAgent()
    system, tmp = make_system(
        FixedIntervalInteraction.with_sleep_adjustor(agent, ZeroEnv(), args.interval),
        {BUFFER: SequentialBuffer(1000)},
        {"trainer": ConsumingTrainer(never=True)},
    )
    meter = CpuMeter()
    with tmp:
        system.start()
        wait_until(lambda: agent.steps > 0)
        time.sleep(args.warmup)
        steps0 = agent.steps
        meter.start()
        time.sleep(args.duration)
        meter.stop()
        steps1 = agent.steps
        stop(system)
    emit(
        {
            "cpu_seconds": meter.cpu_seconds,
            "wall_seconds": meter.wall_seconds,
            "steps": steps1 - steps0,
        }
    )


if __name__ == "__main__":
    main()
