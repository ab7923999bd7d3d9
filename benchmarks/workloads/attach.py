"""Figure 12 (ours): what attached dashboards cost a run, how late they show its events,
and what a watcher that stopped reading costs its memory.

The run is this process: a fast system (``benchmarks.console_cost``'s trivial
agent and a trainer that runs tens of times a second, reporting a loss) with
the console's control socket and learning curves, as ``pamiq-console run
--headless`` has them. Its clients are other processes
(``benchmarks.workloads.attach_client``), as dashboards attached from other
terminals are.

    python -m benchmarks.workloads.attach rate --clients 8 --kind app [--duration 5]
    python -m benchmarks.workloads.attach memory --duration 600

``rate``: steps/s over ``--duration`` once every client has shown the run
(``--clients 0``: headless alone), and the delays each client saw from an
engine event (a finished training run) to its dashboard. ``memory``: the run's
RSS every ``--interval`` seconds with one watcher that watched once and never
read again.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..console_cost import make_system
from ..procs import last_json_line
from ._components import emit, stop, thread_schedstat

READY_TIMEOUT = 120.0


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _LiveRun:
    """A started system, which serves its curves and control socket (as every run does)."""

    def __init__(self, directory: Path) -> None:
        self.system = make_system(directory / "states")
        self.system.start()
        services = self.system.services
        assert services is not None and services.handler is not None
        assert services.socket_path is not None
        self.handler = services.handler
        self.curves = services.curves
        self.socket = services.socket_path

    def close(self) -> None:
        stop(self.system)


class _Client:
    def __init__(self, socket: Path, kind: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.workloads.attach_client",
                str(socket),
                "--kind",
                kind,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, deadline: float) -> None:
        assert self.proc.stdout is not None
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            if self.proc.stdout.readline().strip() == "ready":
                ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(max(0.0, deadline - time.monotonic())):
            self.proc.kill()
            _, err = self.proc.communicate()
            raise RuntimeError(f"a client never became ready: {err[-500:]}")

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def result(self) -> dict[str, Any]:
        out, err = self.proc.communicate(timeout=60)
        if self.proc.returncode != 0:
            raise RuntimeError(f"a client failed: {err[-500:]}")
        return last_json_line(out)


def _rate(clients: int, kind: str, warmup: float, duration: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pamiq-attach-") as tmp:
        run = _LiveRun(Path(tmp))
        started: list[_Client] = []
        try:
            started = [_Client(run.socket, kind) for _ in range(clients)]
            deadline = time.monotonic() + READY_TIMEOUT
            for client in started:
                client.wait_ready(deadline)
            time.sleep(warmup)
            for client in started:
                client.say("start")
            s0, t0 = run.system.steps, time.perf_counter()
            cpu0, sched0 = resource.getrusage(resource.RUSAGE_SELF), thread_schedstat()
            time.sleep(duration)
            steps, seconds = run.system.steps - s0, time.perf_counter() - t0
            cpu1, sched1 = resource.getrusage(resource.RUSAGE_SELF), thread_schedstat()
            for client in started:
                client.say("stop")
            results = [client.result() for client in started]
        finally:
            for client in started:
                if client.proc.poll() is None:
                    client.proc.kill()
                    client.proc.communicate()
            run.close()
    return {
        "clients": clients,
        "kind": kind,
        "steps": steps,
        "seconds": seconds,
        "steps_per_s": steps / seconds,
        "delays": [d for r in results for d in r["delays"]],
        "polls_per_s": [r["polls_per_s"] for r in results],
        # The run process's CPU (all threads) and, for the agent's thread,
        # the share of the time it ran, waited for a CPU (other processes)
        # and was blocked (the GIL, held by the trainer or the serving thread).
        "process_cpu_share": (
            cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
        )
        / seconds,
        "agent_thread": {
            k: (sched1["inference"][i] - sched0["inference"][i]) / seconds
            for i, k in enumerate(("ran", "queued"))
        }
        if "inference" in sched0 and "inference" in sched1
        else {},
    }


def _memory(duration: float, interval: float) -> dict[str, Any]:
    samples: list[tuple[float, int]] = []
    with tempfile.TemporaryDirectory(prefix="pamiq-attach-") as tmp:
        run = _LiveRun(Path(tmp))
        try:
            stuck = _Client(run.socket, "stuck")
            stuck.wait_ready(time.monotonic() + READY_TIMEOUT)
            watchers_at_start = run.handler.watchers
            t0 = time.monotonic()
            events0 = run.system.status().steps
            pause = threading.Event()  # never set: sleeps that cannot drift
            while (now := time.monotonic() - t0) < duration:
                samples.append((round(now, 1), _rss_bytes()))
                pause.wait(interval)
            samples.append((round(time.monotonic() - t0, 1), _rss_bytes()))
            watchers_at_end = run.handler.watchers
            curves = {
                "/".join(k): c.count
                for k in run.curves.curve_keys()
                if (c := run.curves.curve(k)) is not None
            }
            steps = run.system.status().steps - events0
            stuck.say("stop")
            told = stuck.result()
        finally:
            run.close()
    return {
        "duration": duration,
        "samples": samples,
        "watchers_at_start": watchers_at_start,
        "watchers_at_end": watchers_at_end,
        "stuck": told,
        "steps": steps,
        "curve_reports": curves,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("rate", "memory"))
    parser.add_argument("--clients", type=int, default=0)
    parser.add_argument("--kind", choices=("app", "poll"), default="app")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    if args.mode == "rate":
        emit(_rate(args.clients, args.kind, args.warmup, args.duration))
    else:
        emit(_memory(args.duration, args.interval))


if __name__ == "__main__":
    main()
