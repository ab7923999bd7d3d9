"""Figure 15 (ours): what the dashboard itself costs while watching the CartPole DQN sample.

    python -m benchmarks.workloads.dashboard_cpu MODE [--warmup 5] [--duration 15]

The run is ``sample_configs/cartpole_dqn.toml`` as users run it (every seed
set to ``--seed``; states and run directory in a temporary directory, no final
save), started by the console's own code on a real terminal (a pty of 160x48
read by the parent, see :mod:`benchmarks.workloads._tty`):

* ``headless``: :func:`console.runner.run_headless` (``run --headless``);
* ``inproc``: :func:`console.dashboard_run.run_dashboard` (``run CONFIG``: the
  dashboard in the run's process, on its main thread);
* ``attached``: ``run --headless`` with one ``pamiq-console attach`` on a
  terminal of its own (:mod:`benchmarks.workloads.dashboards`).

After ``--warmup`` seconds (once an attached dashboard is watching), for
``--duration`` seconds: the CPU of every thread of the run's process
(``pthread_getcpuclockid``), of the whole process, and of the attached
dashboard's process (``/proc/PID/stat``); the agent's steps/s and the
trainer's optimizer steps/s. The in-process dashboard's threads are the main
thread (Textual's event loop), ``console-poller`` and Textual's own
(``textual-*``, its output writer).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ._components import emit
from ._tty import run_in_terminal
from .dashboards import Dashboards, wait_watchers

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_configs" / "cartpole_dqn.toml"
DASHBOARD_THREADS = ("MainThread", "console-poller")
"""The in-process dashboard's threads, besides Textual's own (``textual-*``)."""


def is_dashboard_thread(thread: threading.Thread) -> bool:
    """Whether a thread of the run's process is the in-process dashboard's."""
    return (
        thread.name in DASHBOARD_THREADS
        or thread.name.startswith("textual")
        or type(thread).__module__.startswith("textual")
    )


def thread_cpu(dashboard: bool = True) -> dict[str, float]:
    """CPU seconds of every live thread of this process, by name (repeated
    names get a ``'``); with ``dashboard``, the dashboard's are named
    ``dashboard:NAME`` (:func:`is_dashboard_thread`)."""
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        if thread.ident is None or thread.name == "bench-measure":
            continue
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except OSError:
            continue  # it ended meanwhile
        name = thread.name
        if dashboard and is_dashboard_thread(thread):
            name = f"dashboard:{name}"
        while name in out:
            name += "'"
        out[name] = seconds
    return out


def process_cpu() -> float:
    """CPU seconds of this process (every thread)."""
    times = os.times()
    return times.user + times.system


def _build(directory: Path, seed: int) -> Any:
    from console import config as run_config

    raw = run_config.load_toml(SAMPLE)
    raw["interaction"]["agent"]["seed"] = seed
    raw["interaction"]["environment"]["seed"] = seed
    raw["models"]["q_network"]["model"]["seed"] = seed
    raw["trainers"]["dqn"]["training"]["seed"] = seed
    raw["system"].update(
        {
            "states_dir": str(directory / "states"),
            "run_dir": str(directory / "run"),
            "save_final_state": False,
        }
    )
    settings = run_config.resolve_settings(raw, SAMPLE, REPO)
    return run_config.build(raw, settings)


def _measure(
    built: Any, mode: str, warmup: float, duration: float, into: dict[str, Any]
) -> None:
    system = built.system
    trainer = system.trainers["dqn"]
    dashboards = None
    try:
        while system.steps == 0:
            time.sleep(0.05)
        if mode == "attached":
            socket = system.services.socket_path
            dashboards = Dashboards(socket, 1)
            wait_watchers(system.services.handler, 1)
        time.sleep(warmup)
        if dashboards is not None:
            dashboards.say("start")
        inproc = mode == "inproc"
        threads0, process0 = thread_cpu(inproc), process_cpu()
        steps0, optimizer0 = system.steps, trainer.global_step
        t0 = time.perf_counter()
        time.sleep(duration)
        seconds = time.perf_counter() - t0
        threads1, process1 = thread_cpu(inproc), process_cpu()
        steps1, optimizer1 = system.steps, trainer.global_step
        attached = None if dashboards is None else dashboards.result()
        threads = {
            name: 100.0 * (threads1[name] - threads0[name]) / seconds
            for name in threads1
            if name in threads0
        }
        into.update(
            {
                "mode": mode,
                "seconds": seconds,
                "steps_per_s": (steps1 - steps0) / seconds,
                "optimizer_steps_per_s": (optimizer1 - optimizer0) / seconds,
                "process_cpu_percent": 100.0 * (process1 - process0) / seconds,
                "thread_cpu_percent": threads,
                "dashboard_cpu_percent": (
                    attached["cpu_percent"][0]
                    if attached is not None
                    else sum(
                        v for k, v in threads.items() if k.startswith("dashboard:")
                    )
                    if mode == "inproc"
                    else 0.0
                ),
                "attached": attached,
            }
        )
    except BaseException as e:
        into["error"] = f"{type(e).__name__}: {e}"
        if dashboards is not None and dashboards.proc.poll() is None:
            dashboards.proc.kill()
    finally:
        system.shutdown("benchmark done")


def measured(mode: str, warmup: float, duration: float, seed: int) -> dict[str, Any]:
    """One run of the sample in ``mode``; runs on the terminal (the forked child)."""
    from console.dashboard_run import run_dashboard
    from console.runner import run_headless

    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pamiq-bench-") as tmp:
        built = _build(Path(tmp), seed)
        measure = threading.Thread(
            target=_measure,
            args=(built, mode, warmup, duration, result),
            name="bench-measure",
            daemon=True,
        )
        measure.start()
        # Headless, its lines go to the terminal.
        code = run_dashboard(built) if mode == "inproc" else run_headless(built)
        measure.join(60)
    if "error" in result:
        raise RuntimeError(result["error"])
    return {**result, "exit_code": code}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("headless", "inproc", "attached"))
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    emit(
        run_in_terminal(
            lambda: measured(args.mode, args.warmup, args.duration, args.seed)
        )
    )


if __name__ == "__main__":
    main()
