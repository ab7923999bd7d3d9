"""What the guards cost training: the DQN sample's optimizer step with the
non-finite guard (its default) against without.

The sample is built as users run it (``benchmarks.workloads.cartpole.build``,
one seed) and acts for ``--fill`` seconds to fill its replay buffer; then the
very same trainer runs alone on that buffer, ``--rounds`` times
``--duration`` seconds with the guard bound and as many without, alternating.
Each is timed in CPU seconds of this thread per optimizer step (a busy
machine's waits for a CPU do not count) and in wall-clock steps/s. Issue 25's
target: the guards cost <= 2 % of the optimizer steps/s.

    python -m benchmarks.guard_cost [--rounds 6] [--duration 3]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from trainers.config_driven import OPTIMIZER

from .workloads.cartpole import build


def _measure(trainer: Any, duration: float) -> tuple[float, float]:
    """CPU seconds per optimizer step and wall-clock steps/s of ``trainer`` alone."""
    steps0, cpu0, wall0 = trainer.global_step, time.thread_time(), time.perf_counter()
    while time.perf_counter() - wall0 < duration:
        trainer.setup()
        trainer.train()
        trainer.teardown()
    steps = trainer.global_step - steps0
    return (time.thread_time() - cpu0) / steps, steps / (time.perf_counter() - wall0)


def _check_cost(trainer: Any, guard: Any, calls: int = 2000) -> dict[str, float]:
    """Microseconds the guard's check takes before one optimizer step: with the
    gradient norm the sample's trainer computes anyway (clipping), and without."""
    import torch

    trainer.bind_guard(guard)
    trainer.setup()
    try:
        optimizer = trainer.optimizers[OPTIMIZER]
        params = [p for group in optimizer.param_groups for p in group["params"]]
        for p in params:
            p.grad = torch.zeros_like(p)  # finite: the check lets the step go on
        grads = [p.grad for p in params]
        norm = torch.nn.utils.get_total_norm(grads)
        times: dict[str, float] = {}
        for name, hint in (("hint", norm), ("grads", None)):
            best = float("inf")
            for _ in range(5):
                start = time.thread_time()
                for _ in range(calls):
                    trainer.gradient_norm_hint = hint
                    trainer._guard_before_step(optimizer, (), {})
                best = min(best, (time.thread_time() - start) / calls)
            times[name] = best * 1e6
        return times
    finally:
        trainer.teardown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fill", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pamiq-guards-") as tmp:
        system = build(0, Path(tmp), {})
        trainer = system.trainers["dqn"]
        system.start()
        try:
            time.sleep(args.fill)
        finally:
            system.shutdown("buffer filled")
            system.wait(60)
        guard = functools.partial(system.guards.non_finite_step, "dqn")
        cpu: dict[str, list[float]] = {"on": [], "off": []}
        rate: dict[str, list[float]] = {"on": [], "off": []}
        for round_ in range(args.rounds):
            for mode in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                trainer.bind_guard(guard if mode == "on" else None)
                per_step, per_second = _measure(trainer, args.duration)
                cpu[mode].append(per_step)
                rate[mode].append(per_second)
    cost = [on / off - 1 for on, off in zip(cpu["on"], cpu["off"], strict=True)]
    check = _check_cost(trainer, guard)
    step_us = statistics.median(cpu["off"]) * 1e6
    print(
        json.dumps(
            {
                "cpu_us_per_step_guard_on": [round(c * 1e6, 1) for c in cpu["on"]],
                "cpu_us_per_step_guard_off": [round(c * 1e6, 1) for c in cpu["off"]],
                "steps_per_s_guard_on": [round(r, 1) for r in rate["on"]],
                "steps_per_s_guard_off": [round(r, 1) for r in rate["off"]],
                "cpu_cost_percent_median": round(100 * statistics.median(cost), 2),
                "cpu_cost_percent_min": round(100 * min(cost), 2),
                "cpu_cost_percent_max": round(100 * max(cost), 2),
                # the check alone, timed in a tight loop (no noise from the step)
                "check_us_with_norm_hint": round(check["hint"], 2),
                "check_us_every_gradient": round(check["grads"], 2),
                "check_percent_of_step_with_hint": round(
                    100 * check["hint"] / step_us, 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
