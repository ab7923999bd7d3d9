"""Figure 16 (ours): figure 2b's 100 Hz agent while someone watches it.

    python -m benchmarks.workloads.realtime_watched --dashboard none|inproc|attached [--clients N]

Figure 2b's run (``FixedIntervalInteraction.with_sleep_adjustor`` at 100 Hz
beside an always-trainable trainer that spins pure Python for 50 ms and never
calls the engine), on a real terminal (:mod:`benchmarks.workloads._tty`):

* ``none``: nobody watches (figure 2b);
* ``inproc``: the dashboard in the run's process, on its main thread, as
  ``pamiq-console run CONFIG`` has it;
* ``attached``: ``--clients`` ``pamiq-console attach`` processes, each on a
  terminal of its own (:mod:`benchmarks.workloads.dashboards`).

Once every dashboard has shown the run (in-process: applied two snapshots;
attached: watching the run's socket), ``--warmup`` seconds, then the
window of ``--duration`` seconds whose ticks the harness summarises (share,
p50/p99 period, drift), and the dashboards' CPU over it (% of one core each).
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from ._components import emit
from ._tty import run_in_terminal

KEEP = 1.0
"""Seconds of ticks kept on either side of the window."""


def _measure(
    system: Any,
    agent: Any,
    dashboard: str,
    clients: int,
    warmup: float,
    duration: float,
    into: dict[str, Any],
    app: Any = None,
) -> None:
    from .dashboard_cpu import thread_cpu
    from .dashboards import Dashboards, wait_watchers

    dashboards = None
    try:
        while agent.steps == 0:
            time.sleep(0.01)
        # As attached ones: once it has shown the run (Textual's start is not watching).
        while app is not None and app.snapshots_applied < 2:
            time.sleep(0.01)
        if dashboard == "attached":
            dashboards = Dashboards(system.services.socket_path, clients)
            wait_watchers(system.services.handler, clients)
        time.sleep(warmup)
        if dashboards is not None:
            dashboards.say("start")
        cpu0 = thread_cpu(dashboard == "inproc")
        start = time.perf_counter()
        time.sleep(duration)
        end = time.perf_counter()
        cpu1 = thread_cpu(dashboard == "inproc")
        attached = None if dashboards is None else dashboards.result()
        into.update(
            {
                "window_start": start,
                "window_end": start + duration,
                "thread_cpu_percent": {
                    k: 100.0 * (cpu1[k] - cpu0[k]) / (end - start)
                    for k in cpu1
                    if k in cpu0
                },
                "attached": attached,
            }
        )
    except BaseException as e:
        into["error"] = f"{type(e).__name__}: {e}"
        if dashboards is not None and dashboards.proc.poll() is None:
            dashboards.proc.kill()
    finally:
        system.shutdown("benchmark done")


def measured(
    dashboard: str,
    clients: int,
    interval: float,
    warmup: float,
    duration: float,
    train_seconds: float,
) -> dict[str, Any]:
    """One run; runs on the terminal (the forked child)."""
    from console.app import ConsoleApp
    from console.poller import POLLER_QUEUE
    from engine import FixedIntervalInteraction
    from engine.data import SequentialBuffer
    from engine.services.operations import local_run

    from ._components import BUFFER, SpinningTrainer, TickingAgent, ZeroEnv, make_system

    agent = TickingAgent()
    trainer = SpinningTrainer(train_seconds, pause_points=False)
    system, tmp = make_system(
        FixedIntervalInteraction.with_sleep_adjustor(agent, ZeroEnv(), interval),
        {BUFFER: SequentialBuffer(1000)},
        {"trainer": trainer},
    )
    result: dict[str, Any] = {}
    with tmp:
        # Taken before the start, as run_dashboard takes it.
        subscription = (
            system.events.subscribe(maxsize=POLLER_QUEUE)
            if dashboard == "inproc"
            else None
        )
        system.start()
        app = (
            ConsoleApp(
                local_run(system),
                on_failure=system.report_failure,
                subscription=subscription,
            )
            if dashboard == "inproc"
            else None
        )
        measure = threading.Thread(
            target=_measure,
            args=(system, agent, dashboard, clients, warmup, duration, result, app),
            name="bench-measure",
            daemon=True,
        )
        measure.start()
        if app is not None:
            app.run()
        measure.join()
        if not system.wait(30):
            raise RuntimeError("the system did not stop")
        if subscription is not None:
            subscription.close()
    if "error" in result:
        raise RuntimeError(result["error"])
    if system.failures:
        raise RuntimeError("; ".join(system.failures))
    start, end = result["window_start"], result["window_end"]
    return {
        **result,
        "dashboard": dashboard,
        "clients": clients if dashboard == "attached" else int(dashboard == "inproc"),
        "interval": interval,
        "ticks": [t for t in agent.ticks if start - KEEP <= t < end + KEEP],
        "train_runs": trainer.runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--dashboard", choices=("none", "inproc", "attached"), default="none"
    )
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--train-seconds", type=float, default=0.05)
    args = parser.parse_args()
    emit(
        run_in_terminal(
            lambda: measured(
                args.dashboard,
                args.clients,
                args.interval,
                args.warmup,
                args.duration,
                args.train_seconds,
            )
        )
    )


if __name__ == "__main__":
    main()
