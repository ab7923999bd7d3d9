"""Figure 2 (PAMIQ-Core 0.6.0): 100 Hz fixed-interval loop, idle or beside a busy trainer."""

from __future__ import annotations

import argparse

from _common import (
    BUFFER,
    ConsumingTrainer,
    SpinningTrainer,
    TickingAgent,
    ZeroEnv,
    emit,
    launch_bounded,
)
from pamiq_core import FixedIntervalInteraction
from pamiq_core.data.impls import SequentialBuffer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=10.0)
    # PAMIQ-Core has no pause point: "busy" and "spin" are the same trainer there.
    parser.add_argument("--trainer", choices=["idle", "busy", "spin"], default="idle")
    parser.add_argument("--train-seconds", type=float, default=0.05)
    args = parser.parse_args()

    agent = TickingAgent()
    trainer = (
        SpinningTrainer(args.train_seconds)
        if args.trainer in ("busy", "spin")
        else ConsumingTrainer(never=True)
    )
    launch_bounded(
        FixedIntervalInteraction.with_sleep_adjustor(agent, ZeroEnv(), args.interval),
        {BUFFER: SequentialBuffer(1000)},
        {"trainer": trainer},
        max_uptime=args.warmup + args.duration + 0.5,
        during=lambda: None,
    )
    ticks = list(agent.ticks)
    start = ticks[0] + args.warmup
    emit(
        {
            "interval": args.interval,
            "window_start": start,
            "window_end": start + args.duration,
            "ticks": ticks,
            "train_runs": getattr(trainer, "runs", 0),
        }
    )


if __name__ == "__main__":
    main()
