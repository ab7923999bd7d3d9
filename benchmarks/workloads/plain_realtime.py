"""Figure 2 floor: a plain-Python 100 Hz deadline loop (no engine, one thread).

Standard library only. It sleeps until each deadline (next = previous +
interval) and stamps every tick with ``time.perf_counter()``: what the machine
and interpreter allow, so the engine's real-time figures can be read against it
(a miss that this loop shares is the machine's, not the engine's).
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    ticks: list[float] = []
    end = time.perf_counter() + args.warmup + args.duration + 0.2
    deadline = time.perf_counter()
    while True:
        now = time.perf_counter()
        ticks.append(now)
        if now >= end:
            break
        deadline += args.interval
        remaining = deadline - time.perf_counter()
        if remaining > 0:
            time.sleep(remaining)
    start = ticks[0] + args.warmup
    sys.stdout.write(
        json.dumps(
            {
                "interval": args.interval,
                "window_start": start,
                "window_end": start + args.duration,
                "ticks": ticks,
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
