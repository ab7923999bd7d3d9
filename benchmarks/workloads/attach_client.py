"""One client of figure 12: an attached dashboard (or a bare protocol client) on a run's socket.

    python -m benchmarks.workloads.attach_client SOCKET --kind app|poll|stuck

It prints ``ready`` once it has shown (or polled) the run, measures while its
stdin says ``start`` .. ``stop``, then prints its JSON result and exits:

* ``app``: :class:`console.app.ConsoleApp` on a :class:`console.remote_run.RemoteRun`,
  attached, driven headless by ``App.run_test()`` at its normal poll rate; the
  delay of each training-run event is taken when the dashboard has applied the
  snapshot that brought it (wall clock, same machine as the run).
* ``poll``: the dashboard's requests without the dashboard: a watch polled at
  ``--hz`` asking for one curve, as the dashboard's poller does.
* ``stuck``: watches once, then never reads again (until told to stop).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path
from typing import Any

from console.app import ConsoleApp
from console.messages import Snapshot
from console.remote_run import RemoteRun
from engine.telemetry.events import Event, TrainingRunFinished

from ._components import emit

CURVE = ("t", "loss")


class _Commands:
    """``start`` / ``stop`` lines from stdin, read on a thread."""

    def __init__(self) -> None:
        self.measuring = threading.Event()
        self.stopped = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin:
            if line.strip() == "start":
                self.measuring.set()
            elif line.strip() == "stop":
                break
        self.stopped.set()  # stop, or the orchestrator went away


def _ready() -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def _delays(events: list[Event], into: list[float]) -> None:
    now = time.time()
    into.extend(now - e.wall_time for e in events if isinstance(e, TrainingRunFinished))


async def _app(socket: Path, hz: float, commands: _Commands) -> dict[str, Any]:
    delays: list[float] = []
    app = ConsoleApp(RemoteRun(socket), attached=True, poll_hz=hz)
    apply = app.apply_snapshot

    def measured(snapshot: Snapshot, now: float | None = None) -> None:
        apply(snapshot, now)
        if commands.measuring.is_set():
            _delays(snapshot.events, delays)

    app.apply_snapshot = measured  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)):
        while app.snapshots_applied < 2:
            await asyncio.sleep(0.05)
        _ready()
        while not commands.measuring.is_set():
            await asyncio.sleep(0.05)
        applied = app.snapshots_applied
        started = time.perf_counter()
        while not commands.stopped.is_set():
            await asyncio.sleep(0.05)
        seconds = time.perf_counter() - started
        applied = app.snapshots_applied - applied
    return {"delays": delays, "polls_per_s": applied / seconds}


def _poll(socket: Path, hz: float, commands: _Commands) -> dict[str, Any]:
    delays: list[float] = []
    watch = RemoteRun(socket).watch(20_000)
    watch.poll([CURVE])
    _ready()
    period = 1.0 / hz
    polls, started = 0, None
    while not commands.stopped.wait(period):
        poll = watch.poll([CURVE])
        if commands.measuring.is_set():
            started = started or time.perf_counter()
            polls += 1
            _delays(poll.events, delays)
    watch.close()
    seconds = time.perf_counter() - (started or time.perf_counter())
    return {"delays": delays, "polls_per_s": polls / seconds if seconds else 0.0}


def _stuck(socket: Path, commands: _Commands) -> dict[str, Any]:
    watch = RemoteRun(socket).watch(20_000)
    _ready()
    commands.stopped.wait()
    poll = watch.poll()  # how many it lost, if the run still keeps it
    return {"dropped": poll.dropped, "events": len(poll.events)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket", type=Path)
    parser.add_argument("--kind", choices=("app", "poll", "stuck"), default="app")
    parser.add_argument("--hz", type=float, default=5.0)
    args = parser.parse_args()
    commands = _Commands()
    if args.kind == "app":
        result = asyncio.run(_app(args.socket, args.hz, commands))
    elif args.kind == "poll":
        result = _poll(args.socket, args.hz, commands)
    else:
        result = _stuck(args.socket, commands)
    emit(result)


if __name__ == "__main__":
    main()
