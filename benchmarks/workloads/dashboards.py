"""Attached dashboards on real terminals, as operators open them from other windows.

    python -m benchmarks.workloads.dashboards SOCKET --clients N

Starts N ``pamiq-console attach --socket SOCKET`` processes, each on a
terminal of its own (:class:`~benchmarks.workloads._tty.Terminal`, 160x48),
and reads their screens (this process is their terminal emulator, and not the
run's process, so reading them costs the run nothing but a core's share). It
prints ``started``, then obeys lines on stdin: ``start`` notes each
dashboard's CPU time (``/proc/PID/stat``, all its threads), ``stop`` notes it
again, types ``q`` in each (an attached dashboard detaches) and prints the
JSON result: per dashboard the CPU used between the two, as % of one core,
and the bytes it wrote to its terminal.

The run's side starts it with :class:`Dashboards` and waits for them with
:func:`wait_watchers`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from ..procs import last_json_line
from ._components import emit
from ._tty import Terminal, cpu_seconds, pump_all

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 120.0


class Dashboards:
    """``count`` attached dashboards on terminals of their own (another process).

    Raises:
        RuntimeError: If they did not start.
    """

    def __init__(self, socket: Path, count: int) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.workloads.dashboards",
                str(socket),
                "--clients",
                str(count),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "started":
            raise RuntimeError(f"the dashboards did not start: {self._error()}")

    def _error(self) -> str:
        self.proc.kill()
        _, err = self.proc.communicate()
        return err[-800:]

    def say(self, line: str) -> None:
        """Send a command (``start``, ``stop``)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def result(self) -> dict[str, Any]:
        """Stop measuring, close the dashboards and return the result.

        Raises:
            RuntimeError: If the process failed (with the end of its stderr).
        """
        self.say("stop")
        out, err = self.proc.communicate(timeout=120)
        if self.proc.returncode != 0:
            raise RuntimeError(f"the dashboards failed: {err[-800:]}")
        return last_json_line(out)


def wait_watchers(handler: Any, count: int, timeout: float = READY_TIMEOUT) -> None:
    """Until the run's control socket serves ``count`` watchers.

    Raises:
        RuntimeError: If they are not all watching within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while handler.watchers < count:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{handler.watchers} of {count} dashboards watching after {timeout:g} s"
            )
        time.sleep(0.1)


def _commands() -> Queue[str]:
    lines: Queue[str] = Queue()

    def read() -> None:
        for line in sys.stdin:
            lines.put(line.strip())
        lines.put("stop")  # the run went away: stop too

    threading.Thread(target=read, daemon=True).start()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("socket", type=Path)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()
    argv = [sys.executable, "-m", "console.cli", "attach", "--socket", str(args.socket)]
    terminals = [Terminal(argv) for _ in range(args.clients)]
    print("started", flush=True)
    commands = _commands()
    started: tuple[float, list[float], list[int]] | None = None
    result: dict[str, Any] = {}
    while True:
        pump_all(terminals, 0.05)
        try:
            command = commands.get_nowait()
        except Empty:
            continue
        if command == "start":
            started = (
                time.perf_counter(),
                [cpu_seconds(t.pid) for t in terminals],
                [t.written for t in terminals],
            )
        elif command == "stop":
            if started is not None:
                t0, cpu0, bytes0 = started
                seconds = time.perf_counter() - t0
                cpu = [
                    cpu_seconds(t.pid) - c for t, c in zip(terminals, cpu0, strict=True)
                ]
                result = {
                    "seconds": seconds,
                    "cpu_percent": [100.0 * c / seconds for c in cpu],
                    "bytes_per_s": [
                        (t.written - b) / seconds
                        for t, b in zip(terminals, bytes0, strict=True)
                    ],
                    "alive": [t.open for t in terminals],
                }
            break
    result["exit_codes"] = [t.close() for t in terminals]
    emit(result)


if __name__ == "__main__":
    main()
