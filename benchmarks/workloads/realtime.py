"""Figure 2 (ours): a 100 Hz fixed-interval loop, idle or beside a GIL-holding trainer.

``--trainer spin``: the trainer spins pure Python and never calls the engine
during a run (a user's trainer); ``busy``: it calls ``pause_point()`` between
~0.3 ms chunks; ``idle``: nothing is trainable.

The agent records the real time (``time.perf_counter``) of every step; the
harness turns the tick times into share/period/drift figures.
"""

from __future__ import annotations

import argparse
import time

from engine import FixedIntervalInteraction
from engine.data import SequentialBuffer

from ._components import (
    BUFFER,
    ConsumingTrainer,
    SpinningTrainer,
    TickingAgent,
    ZeroEnv,
    emit,
    make_system,
    stop,
    wait_until,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--trainer", choices=["idle", "busy", "spin"], default="idle")
    parser.add_argument("--train-seconds", type=float, default=0.05)
    parser.add_argument(
        "--gil-switch-interval",
        type=float,
        default=None,
        help="LaunchConfig.gil_switch_interval (default: the engine's)",
    )
    args = parser.parse_args()

    agent = TickingAgent()
    trainer = (
        SpinningTrainer(args.train_seconds, pause_points=args.trainer == "busy")
        if args.trainer in ("busy", "spin")
        else ConsumingTrainer(never=True)
    )
    launch: dict[str, float] = {}
    if args.gil_switch_interval is not None:
        launch["gil_switch_interval"] = args.gil_switch_interval
    system, tmp = make_system(
        FixedIntervalInteraction.with_sleep_adjustor(agent, ZeroEnv(), args.interval),
        {BUFFER: SequentialBuffer(1000)},
        {"trainer": trainer},
        **launch,
    )
    with tmp:
        system.start()
        wait_until(lambda: agent.steps > 0)
        time.sleep(args.warmup + args.duration + 0.2)
        stop(system)
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
