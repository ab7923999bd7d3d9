"""Agents, environments and trainers shared by our workload programs.

The PAMIQ-Core programs in ``benchmarks/reference/`` define the same classes
against ``pamiq_core``; keep the two in step so the workloads stay identical.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time as _time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from typing_extensions import override

from engine import Agent, Environment, LaunchConfig, System
from trainers import Trainer

BUFFER = "buffer"


def emit(result: dict[str, Any]) -> None:
    """Print the workload's result as the last stdout line."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def spin(seconds: float, between: Callable[[], None]) -> int:
    """Pure-Python arithmetic for ``seconds`` (real time), calling ``between`` per chunk.

    Each chunk is about 0.3 ms of interpreter work that holds the GIL.

    Returns:
        Chunks done.
    """
    end = _time.perf_counter() + seconds
    x = 1
    chunks = 0
    while _time.perf_counter() < end:
        for i in range(1500):
            x = (x * 31 + i) % 1000003
        chunks += 1
        between()
    return chunks


class ZeroEnv(Environment[int, int]):
    """Observes 0, ignores actions."""

    @override
    def observe(self) -> int:
        return 0

    @override
    def affect(self, action: int) -> None:
        pass


class CollectingAgent(Agent[int, int]):
    """Collects its observation once per step and counts steps."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    @override
    def on_data_collectors_attached(self) -> None:
        self.collector = self.get_data_collector(BUFFER)

    @override
    def step(self, observation: int) -> int:
        self.collector.collect(observation)
        self.steps += 1
        return observation


class TickingAgent(CollectingAgent):
    """Also records the real time (``time.perf_counter``) of every step."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks: list[float] = []

    @override
    def step(self, observation: int) -> int:
        self.ticks.append(_time.perf_counter())
        return super().step(observation)


class ConsumingTrainer(Trainer):
    """Trainable every ``every`` new items; ``train()`` takes them from the buffer."""

    def __init__(self, every: int = 1000, never: bool = False) -> None:
        super().__init__(BUFFER, min_new_data_count=10**12 if never else every)
        self.runs = 0
        self.consumed = 0

    @override
    def on_data_users_attached(self) -> None:
        self.user = self.get_data_user(BUFFER)

    @override
    def train(self) -> None:
        self.user.update()
        self.consumed += len(self.user.get_data())
        self.runs += 1


class SpinningTrainer(Trainer):
    """Always trainable; each ``train()`` spins pure Python for ``seconds``.

    With ``pause_points`` it calls the cooperative pause point between ~0.3 ms
    chunks (figure 2c); without, it is what a user's trainer looks like: it
    never calls into the engine during a run (figure 2b).
    """

    def __init__(self, seconds: float, pause_points: bool = True) -> None:
        super().__init__()
        self.seconds = seconds
        self.pause_points = pause_points
        self.runs = 0
        self.inside = False

    @override
    def train(self) -> None:
        self.inside = True
        try:
            spin(self.seconds, self.pause_point if self.pause_points else _nothing)
        finally:
            self.inside = False
        self.runs += 1


def _nothing() -> None:
    pass


def make_system(
    interaction: Any,
    buffers: dict[str, Any],
    trainers: dict[str, Any],
    models: dict[str, Any] | None = None,
    **config: Any,
) -> tuple[System, tempfile.TemporaryDirectory[str]]:
    """A System with defaults (as a user gets them) and states and run directory in a temp dir."""
    tmp = tempfile.TemporaryDirectory(prefix="pamiq-bench-")
    config.setdefault("states_dir", Path(tmp.name) / "states")
    # The console is on, as for any run; its run directory is temporary too.
    config.setdefault("run_dir", Path(tmp.name) / "run")
    config.setdefault("save_final_state", False)
    launch = LaunchConfig(**config)
    return System(interaction, models or {}, buffers, trainers, launch), tmp


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` every millisecond until it holds.

    Raises:
        TimeoutError: If it does not hold within ``timeout`` seconds.
    """
    end = _time.monotonic() + timeout
    while not predicate():
        if _time.monotonic() > end:
            raise TimeoutError("condition not reached")
        _time.sleep(0.001)


def stop(system: System, timeout: float = 30.0) -> None:
    """Shut the system down and wait for it.

    Raises:
        RuntimeError: If it did not stop in time or a worker failed.
    """
    system.shutdown("benchmark done")
    if not system.wait(timeout):
        raise RuntimeError("the system did not stop")
    if system.failures:
        raise RuntimeError("; ".join(system.failures))


def thread_schedstat(
    names: Collection[str] | None = None,
) -> dict[str, tuple[float, float]]:
    """Seconds each thread of this process (or each of ``names``) has run on a
    CPU and waited for one, by name (kernel schedstat: the wait is other
    processes taking the cores)."""
    out = {}
    for thread in threading.enumerate():
        if thread.native_id is None or (names is not None and thread.name not in names):
            continue
        try:
            with open(f"/proc/self/task/{thread.native_id}/schedstat") as stat:
                ran, waited, _ = stat.read().split()
        except (OSError, ValueError):
            continue
        out[thread.name] = (int(ran) / 1e9, int(waited) / 1e9)
    return out
