"""Figure 12 (ours): many acting workers on Ray feeding one learner, against the threads backend.

One local Ray (2 CPUs) is started for the whole program (its start-up is
timed), then, with the components of ``benchmarks/scale_bench.py``:

* ``--sleep-actors 1 2 4 8``: an environment that sleeps 10 ms per step; the
  learner's items/s over ``--seconds`` with each number of actors, and the
  threads backend (the embedded engine, one agent) once;
* ``--burn-actors 2``: an environment that does 1 ms of pure-Python work per
  step (calibrated here, alone, before anything starts), the same way;
* policy lag p50/max and memory per actor of each Ray row;
* ``--params 1000000 10000000``: weights broadcast, learner ``sync()`` to
  installed on both of 2 actors, ``--syncs`` times each (p50/p99/max).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from .. import scale_bench
from ._components import emit

STEP_SECONDS = 0.010
BURN_SECONDS = 0.001


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--sleep-actors", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--burn-actors", type=int, nargs="*", default=[2])
    parser.add_argument(
        "--params", type=int, nargs="*", default=[1_000_000, 10_000_000]
    )
    parser.add_argument("--syncs", type=int, default=50)
    args = parser.parse_args()
    loops = scale_bench.calibrate_burn(BURN_SECONDS)
    started = time.perf_counter()
    ray_start = scale_bench.start_ray()
    result: dict[str, Any] = {
        "ray_init_s": ray_start,
        "learner_rss_mb": scale_bench._rss_mb(os.getpid()),
        "burn_loops": loops,
        "seconds": args.seconds,
        "sleep": [],
        "burn": [],
        "broadcast": [],
    }
    for kind, actors, step in (
        ("sleep", args.sleep_actors, STEP_SECONDS),
        ("burn", args.burn_actors, BURN_SECONDS),
    ):
        if not actors:
            continue
        rows = [scale_bench.run_once("threads", 1, args.seconds, step, kind, loops)]
        for n in actors:
            began = time.perf_counter()
            row = scale_bench.run_once("ray", n, args.seconds, step, kind, loops)
            row["wall_s"] = time.perf_counter() - began
            rows.append(row)
        result[kind] = rows
    for params in args.params:
        result["broadcast"].append(scale_bench.broadcast_delay(params, args.syncs))
    result["total_s"] = time.perf_counter() - started
    import ray

    ray.shutdown()
    emit(result)


if __name__ == "__main__":
    main()
