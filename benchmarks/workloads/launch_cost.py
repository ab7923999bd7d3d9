"""Figure 14 (ours): what the console costs a run started from Python.

Every run serves the console unless ``LaunchConfig(console=False)``: a run
directory, a metrics writer thread, a learning-curve book on the event bus, a
control socket and an entry in the registry of live runs. The system is started
as a user's program starts it (``System`` with the default ``LaunchConfig``,
states and run directory in a temporary directory), once with the console on and
once with ``console=False``.

    python -m benchmarks.workloads.launch_cost rate [--rounds 3] [--duration 3]
    python -m benchmarks.workloads.launch_cost startup [--starts 20]

``rate``: figure 1's trivial agent (one ``collect()`` per step) and a trainer
that takes the new items every ``--every`` steps and reports a loss (tens of
times a second, so the metrics writer and the curve book work); steps/s over
``--duration`` after ``--warmup``, the two conditions interleaved in each round
(the first alternates), a fresh system each time. ``startup``: the wall time of
``System.start()`` with and without the console, interleaved (each start
followed by a shutdown and wait, not counted; one of each first, not counted
either), and how long after ``start()`` returned the run was listed by
``engine.services.registry.live_runs()``.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine import Interaction, System
from engine.data import SequentialBuffer
from engine.services.registry import live_runs
from engine.telemetry.metrics_log import metrics_files

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

CONDITIONS = ("on", "off")
"""The console on (the default ``LaunchConfig``) and ``console=False``."""
LISTED_TIMEOUT = 5.0
ENGINE_THREADS = frozenset({"MainThread", "inference", "training", "control"})
"""The threads a run has without the console (and this program's main thread)."""
_TICK = os.sysconf("SC_CLK_TCK")


def _thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread of this process, by name."""
    cpu: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            with open(f"/proc/self/task/{thread.native_id}/stat") as stat:
                text = stat.read()
        except OSError:
            continue  # it ended
        fields = text[text.rfind(")") + 2 :].split()
        cpu[thread.name] = (int(fields[11]) + int(fields[12])) / _TICK
    return cpu


class ReportingTrainer(ConsumingTrainer):
    """Takes the new items from the buffer and reports a loss, every ``every`` items."""

    @override
    def train(self) -> None:
        super().train()
        self.report_metrics({"loss": 1.0 / self.runs})


def _system(
    console: bool, every: int
) -> tuple[System, CollectingAgent, ReportingTrainer, Any]:
    agent = CollectingAgent()
    trainer = ReportingTrainer(every=every)
    config: dict[str, Any] = {} if console else {"console": False}
    system, tmp = make_system(
        Interaction(agent, ZeroEnv()),
        {BUFFER: SequentialBuffer(1000)},
        {"trainer": trainer},
        **config,
    )
    return system, agent, trainer, tmp


def _rate_once(
    console: bool, every: int, warmup: float, duration: float
) -> dict[str, Any]:
    system, agent, trainer, tmp = _system(console, every)
    with tmp:
        system.start()
        wait_until(lambda: agent.steps > 0)
        time.sleep(warmup)
        cpu0, process0 = _thread_cpu(), time.process_time()
        n0, runs0, t0 = agent.steps, trainer.runs, time.perf_counter()
        time.sleep(duration)
        n1, runs1, t1 = agent.steps, trainer.runs, time.perf_counter()
        cpu1, process1 = _thread_cpu(), time.process_time()
        stop(system)
        # What the metrics writer wrote (the trainer's losses): 0 without the console.
        metrics_lines = sum(
            len(path.read_text().splitlines())
            for path in metrics_files(Path(tmp.name) / "run")
        )
    threads = {
        name: (seconds - cpu0.get(name, 0.0)) / (t1 - t0)
        for name, seconds in cpu1.items()
    }
    return {
        "steps_per_s": (n1 - n0) / (t1 - t0),
        "train_runs_per_s": (runs1 - runs0) / (t1 - t0),
        "metrics_lines": metrics_lines,
        # Shares of a core over the window: the process, each thread, and the
        # console's own threads (metrics writer, TensorBoard's, control socket).
        "process_cpu": (process1 - process0) / (t1 - t0),
        "thread_cpu": threads,
        "console_threads_cpu": sum(
            v for name, v in threads.items() if name not in ENGINE_THREADS
        ),
    }


def _rate(rounds: int, every: int, warmup: float, duration: float) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CONDITIONS}
    for i in range(rounds):
        # The first condition alternates, so neither always runs on a warmer machine.
        for condition in CONDITIONS if i % 2 == 0 else CONDITIONS[::-1]:
            runs[condition].append(
                _rate_once(condition == "on", every, warmup, duration)
            )
    return {"every": every, "duration": duration, "rounds": rounds, **runs}


def _listed(run_dir: Path) -> bool:
    return any(r.run_dir == run_dir for r in live_runs())


def _start_once(console: bool) -> dict[str, Any]:
    t = time.perf_counter()
    system, _, _, tmp = _system(console, every=1000)
    with tmp:
        t0 = time.perf_counter()
        system.start()
        started = time.perf_counter()
        result: dict[str, Any] = {"construct_s": t0 - t, "start_s": started - t0}
        if console:
            assert system.services is not None
            run_dir = system.services.run_dir_path
            result["listed_at_once"] = _listed(run_dir)
            if not result["listed_at_once"]:
                wait_until(lambda: _listed(run_dir), LISTED_TIMEOUT)
            result["listed_after_s"] = (
                0.0 if result["listed_at_once"] else time.perf_counter() - started
            )
        t1 = time.perf_counter()
        stop(system)
        result["stop_s"] = time.perf_counter() - t1
    return result


def _startup(starts: int) -> dict[str, Any]:
    # The first of each pays for imports and first uses: kept apart, not counted.
    first = {c: _start_once(c == "on") for c in CONDITIONS}
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in CONDITIONS}
    for i in range(starts):
        for condition in CONDITIONS if i % 2 == 0 else CONDITIONS[::-1]:
            runs[condition].append(_start_once(condition == "on"))
    return {"starts": starts, "first": first, **runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("rate", "startup"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--every", type=int, default=20_000)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--starts", type=int, default=20)
    args = parser.parse_args()
    if args.mode == "rate":
        emit(_rate(args.rounds, args.every, args.warmup, args.duration))
    else:
        emit(_startup(args.starts))


if __name__ == "__main__":
    main()
