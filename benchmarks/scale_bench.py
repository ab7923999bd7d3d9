"""Ray scale-out numbers: start-up, memory per actor, learner items/s, weight broadcast.

    .venv/bin/python -m benchmarks.scale_bench            # ~2 min on 2 cores
    .venv/bin/python -m benchmarks.scale_bench --seconds 5 --actors 1 2 4

A quick look from the command line; the suite's figure 12 (``python -m
benchmarks --only scale``) runs the same components through
``benchmarks/workloads/scale.py``. Nothing here is a test.

Workload: an environment that sleeps ``--step-ms`` per step (a sensor or robot)
or burns that long in pure Python (``BurnEnv``: a simulator that holds the
GIL), an agent that collects one small transition per step, a learner whose
trainer trains on every 256 new items and syncs a torch model (publishing its
weights to actors).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from typing_extensions import override

from engine import Agent, Environment, Interaction
from engine.data import SequentialBuffer
from engine.scale import ActorParts, build_system
from engine.scale.feed import ActorFeed
from engine.torch import TorchTrainingModel
from trainers import Trainer

ROOT = Path(__file__).resolve().parents[1]


class SleepyEnv(Environment[np.ndarray, int]):
    def __init__(self, step_seconds: float) -> None:
        self.step_seconds = step_seconds
        self.obs = np.zeros(8, np.float32)

    @override
    def observe(self) -> np.ndarray:
        return self.obs

    @override
    def affect(self, action: int) -> None:
        time.sleep(self.step_seconds)


class CollectAgent(Agent[np.ndarray, int]):
    @override
    def on_data_collectors_attached(self) -> None:
        self.collector = self.get_data_collector("transitions")

    @override
    def step(self, observation: np.ndarray) -> int:
        self.collector.collect((observation, 1, 0.5, False))
        return 1


def burn(loops: int) -> int:
    """A fixed amount of pure-Python arithmetic (it holds the GIL throughout)."""
    x = 0
    for i in range(loops):
        x += i * i
    return x


def calibrate_burn(seconds: float) -> int:
    """Loops of :func:`burn` that take ``seconds`` on this machine, alone (best of 5)."""
    loops = 10_000
    best = min(_timed_burn(loops) for _ in range(5))
    return max(1, round(loops * seconds / best))


def _timed_burn(loops: int) -> float:
    started = time.perf_counter()
    burn(loops)
    return time.perf_counter() - started


class BurnEnv(SleepyEnv):
    """A simulator: a fixed amount of pure-Python work per step, calibrated to
    ``step_seconds`` alone (work, not time: a thread that waits for the GIL
    takes longer, as it would)."""

    def __init__(self, step_seconds: float, loops: int = 0) -> None:
        super().__init__(step_seconds)
        self.loops = loops or calibrate_burn(step_seconds)

    @override
    def affect(self, action: int) -> None:
        burn(self.loops)


def policy(params: int = 1_000) -> torch.nn.Module:
    return torch.nn.Linear(params // 8, 8, bias=False)


def make_actor(
    index: int, params: int, step_seconds: float, env: str = "sleep", loops: int = 0
) -> ActorParts:
    """One actor; bound with functools.partial, which Ray pickles with its arguments."""
    environment = (
        BurnEnv(step_seconds, loops) if env == "burn" else SleepyEnv(step_seconds)
    )
    return ActorParts(
        Interaction(CollectAgent(), environment),
        {"policy": TorchTrainingModel(policy(params))},
    )


class EveryBatchTrainer(Trainer):
    def __init__(self) -> None:
        super().__init__("transitions", min_buffer_size=1, min_new_data_count=256)

    @override
    def on_training_models_attached(self) -> None:
        self.model = self.get_training_model("policy")

    @override
    def train(self) -> None:
        self.get_data_user("transitions").update()
        with torch.no_grad():
            for p in self.model.model.parameters():
                p.add_(0.001)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_once(
    backend: str,
    actors: int,
    seconds: float,
    step_seconds: float,
    env: str = "sleep",
    loops: int = 0,
) -> dict[str, Any]:
    """Learner items/s over ``seconds`` from the first item on, lag, memory per actor."""
    scale = {"backend": backend, "actors": actors, "cpus_per_actor": 0.25}
    with tempfile.TemporaryDirectory() as tmp:
        system = build_system(
            functools.partial(
                make_actor,
                params=1_000,
                step_seconds=step_seconds,
                env=env,
                loops=loops,
            ),
            {"policy": TorchTrainingModel(policy(1_000))},
            {"transitions": SequentialBuffer(200_000)},
            {"t": EveryBatchTrainer()},
            {"states_dir": tmp, "save_final_state": False},
            scale=scale if backend == "ray" else None,
        )
        user = system.data_users["transitions"]
        system.start()
        feed = system.interaction
        # Measure from the first item on: actors' start is not throughput.
        while user.collected_total == 0:
            time.sleep(0.01)
        start_items, started = user.collected_total, time.perf_counter()
        time.sleep(seconds)
        items = user.collected_total - start_items
        elapsed = time.perf_counter() - started
        row: dict[str, Any] = {
            "backend": backend,
            "actors": actors,
            "env": env,
            "items_per_s": items / elapsed,
            "seconds": elapsed,
        }
        if isinstance(feed, ActorFeed):
            reports = feed.actor_reports()
            row["rss_mb_per_actor"] = statistics.mean(_rss_mb(r.pid) for r in reports)
            stats = [s for s in feed.lag_stats().values() if s.lag_max is not None]
            row["lag_max"] = max((s.lag_max or 0 for s in stats), default=None)
            row["lag_p50"] = max((s.lag_p50 or 0 for s in stats), default=None)
            row["dropped_items"] = sum(r.dropped_items for r in reports)
            row["publications"] = feed.publication
        system.shutdown("bench over")
        system.wait(60)
        return row


def broadcast_delay(params: int, syncs: int = 10) -> dict[str, Any]:
    """Seconds from a learner sync to the weights installed on every actor (2 actors).

    The actors are polled for their installed version, which adds a few ms.
    """
    with tempfile.TemporaryDirectory() as tmp:
        model = TorchTrainingModel(policy(params))
        system = build_system(
            functools.partial(make_actor, params=params, step_seconds=0.01),
            {"policy": model},
            {"transitions": SequentialBuffer(1000)},
            {},
            {"states_dir": tmp, "save_final_state": False},
            scale={"backend": "ray", "actors": 2, "cpus_per_actor": 0.25},
        )
        system.start()
        feed = system.interaction
        assert isinstance(feed, ActorFeed)
        delays = []
        for _ in range(syncs):
            started = time.perf_counter()
            model.sync()
            wanted = feed.publication
            while any(r.version < wanted for r in feed.actor_reports()):
                pass
            delays.append(time.perf_counter() - started)
        system.shutdown("bench over")
        system.wait(60)
    delays.sort()
    return {
        "params": params,
        "syncs": syncs,
        "p50_ms": delays[len(delays) // 2] * 1e3,
        "p99_ms": delays[min(len(delays) - 1, round(0.99 * (len(delays) - 1)))] * 1e3,
        "max_ms": delays[-1] * 1e3,
        "delays_ms": [d * 1e3 for d in delays],
    }


def start_ray() -> float:
    """Start the local Ray the measurements share (2 CPUs); return the seconds it took."""
    os.environ["PYTHONPATH"] = str(ROOT)
    import ray

    started = time.perf_counter()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="warning",
        object_store_memory=400 * 2**20,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--step-ms", type=float, default=10.0)
    args = parser.parse_args()
    step = args.step_ms / 1e3
    import ray

    print(f"ray.init (local, 2 CPUs): {start_ray():.1f} s")
    print(f"learner RSS: {_rss_mb(os.getpid()):.0f} MB")
    rows = [run_once("threads", 1, args.seconds, step)]
    rows += [run_once("ray", n, args.seconds, step) for n in args.actors]
    base = rows[0]["items_per_s"]
    print(f"\nenvironment step {args.step_ms:g} ms (sleep); {args.seconds:g} s per row")
    print(
        f"{'backend':8} {'actors':>6} {'items/s':>9} {'x threads':>9} {'RSS/actor MB':>12} {'lag max':>7}"
    )
    for r in rows:
        print(
            f"{r['backend']:8} {r['actors']:>6} {r['items_per_s']:>9.0f} "
            f"{r['items_per_s'] / base:>9.2f} {r.get('rss_mb_per_actor', float('nan')):>12.0f} "
            f"{r.get('lag_max', '-')!s:>7}"
        )
    print("\nweights broadcast, sync to installed on both actors (incl. polling):")
    for params in (1_000_000, 10_000_000):
        d = broadcast_delay(params)
        print(
            f"  {params:>10,} params: p50 {d['p50_ms']:.1f} ms, max {d['max_ms']:.1f} ms"
        )
    ray.shutdown()


if __name__ == "__main__":
    main()
