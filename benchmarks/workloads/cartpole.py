"""Figures 10 and 11 (ours): the CartPole DQN sample as users run it, with one seed.

Builds the run from ``sample_configs/cartpole_dqn.toml`` (the file users run;
only the seeds of the agent, the environment, the network and the trainer are
set), starts it and records every episode (wall seconds since start, return,
agent steps at its end) and, about once a second, the agent's steps and the
trainer's optimizer steps.

``--seconds S --extend-to T``: stop after S seconds if the 20-episode mean has
reached the target by then, else go on to T seconds.

``--actors N``: the same config with ``[scale] backend = "ray"`` and N
actors (figure 12): the episodes are the actors' (their agents' reported
``episode_return`` metrics, as they reach the learner), merged in the order
they arrive; steps are the agent steps summed over the actors.
``--stop-at-target``: stop as soon as the 20-episode mean reaches the target.

``--share W,D``: instead, after W seconds of warm-up measure D seconds of
optimizer steps/s while the agent acts, then stop the system and run the very
same trainer alone on the very same replay buffer (figure 10).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ._components import emit, thread_schedstat

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_configs" / "cartpole_dqn.toml"
TARGET = 475.0
WINDOW = 20


def first_success(returns: list[float], target: float = TARGET) -> int | None:
    """Index of the episode that completes the first window with mean >= ``target``."""
    total = 0.0
    for i, value in enumerate(returns):
        total += value
        if i >= WINDOW:
            total -= returns[i - WINDOW]
        if i >= WINDOW - 1 and total / WINDOW >= target:
            return i
    return None


def loaded_files() -> list[str]:
    """This repository's files the process has loaded (the kept run's key is made of them).

    Not the sample config: the key holds its values, so a comment can change.
    """
    files: set[str] = set()
    for module in list(sys.modules.values()):
        origin = getattr(module, "__file__", None)
        # Some extension modules give a bare relative name: not a file of ours.
        if not origin or not Path(origin).is_absolute():
            continue
        path = Path(origin).resolve()
        if not path.is_relative_to(REPO):
            continue
        relative = path.relative_to(REPO)
        # Not virtualenvs and caches kept in the checkout (.venv, benchmarks/.cache).
        if not any(part.startswith(".") for part in relative.parts):
            files.add(str(relative))
    return sorted(files)


def build(
    seed: int,
    states: Path,
    overrides: dict[str, Any],
    actors: int = 0,
    guards: dict[str, Any] | None = None,
) -> Any:
    """The sample's run with every seed set to ``seed`` (``actors``: on Ray;
    ``guards``: a ``[guards]`` table)."""
    from console import config as run_config

    raw = run_config.load_toml(SAMPLE)
    raw["interaction"]["agent"]["seed"] = seed
    raw["interaction"]["environment"]["seed"] = seed
    raw["models"]["q_network"]["model"]["seed"] = seed
    training = raw["trainers"]["dqn"]["training"]
    training["seed"] = seed
    training.update(overrides)
    raw["system"].update(
        {
            "states_dir": str(states),
            "run_dir": str(states),
            "save_final_state": False,
            "metrics": False,
        }
    )
    if actors:
        raw["scale"] = {"backend": "ray", "actors": actors, "cpus_per_actor": 0.5}
    if guards is not None:
        raw["guards"] = guards
    settings = run_config.resolve_settings(raw, SAMPLE, REPO)
    return run_config.build(raw, settings).system


def run_learning(
    seed: int,
    seconds: float,
    extend_to: float,
    actors: int = 0,
    stop_at_target: bool = False,
) -> dict[str, Any]:
    from engine.scale import connect_actors
    from engine.telemetry.events import Metric

    with tempfile.TemporaryDirectory(prefix="pamiq-bench-") as tmp:
        system = build(seed, Path(tmp), {}, actors)
        trainer = system.trainers["dqn"]
        # Only with actors: in-process, the agent's own history is read instead,
        # and an unread subscription would only fill up.
        events = system.events.subscribe(maxsize=1_000_000) if actors else None
        arrived: list[list[float]] = []
        progress: list[list[float]] = []
        started_up = time.time()
        connect_actors(system)  # Ray's start is not learning time: timed apart
        start = time.time()
        system.start()
        agent = None if actors else system.interaction.agent
        budget = seconds

        def returns() -> list[float]:
            if agent is not None:
                # list() copies the deque in one step, under the GIL: iterating
                # it here while the agent thread appends can raise.
                return [r for _, r in list(agent.episode_returns)]
            assert events is not None
            for event in events.drain():
                if isinstance(event, Metric) and event.name == "episode_return":
                    arrived.append([time.time() - start, event.value, system.steps])
            return [r for _, r, _ in arrived]

        try:
            while True:
                time.sleep(1.0)
                now = time.time() - start
                progress.append([now, system.steps, trainer.global_step])
                reached = first_success(returns()) is not None
                if stop_at_target and reached:
                    break
                if now < budget:
                    continue
                if budget < extend_to and not reached:
                    budget = extend_to
                    continue
                break
        finally:
            system.shutdown("benchmark done")
            system.wait(120)
            if events is not None:
                events.close()
        failures = list(system.failures)
    if agent is not None:
        episodes = [
            [t - start, r, n]
            for (t, r), n in zip(
                agent.episode_returns, agent.episode_end_steps, strict=True
            )
        ]
    else:
        episodes = arrived
    return {
        "seed": seed,
        "actors": actors,
        "startup_s": start - started_up,
        "wall_s": progress[-1][0] if progress else 0.0,
        "episodes": episodes,
        "progress": progress,
        "replay_ratio": trainer.config.replay_ratio,
        "failures": failures,
        "loaded_files": loaded_files(),
    }


def _per_step(
    before: tuple[float, float], after: tuple[float, float], wall: float, steps: int
) -> dict[str, float]:
    """Microseconds per step: on a CPU, waiting for one, and blocked (the rest:
    waiting for the GIL or an event)."""
    ran, queued = after[0] - before[0], after[1] - before[1]
    per = 1e6 / max(1, steps)
    return {
        "ran_us": ran * per,
        "queued_us": queued * per,
        "blocked_us": max(0.0, wall - ran - queued) * per,
    }


def run_share(
    seed: int, warmup: float, duration: float, unthrottled: bool
) -> dict[str, Any]:
    overrides: dict[str, Any] = {"replay_ratio": None} if unthrottled else {}
    threads = ("inference", "training")
    with tempfile.TemporaryDirectory(prefix="pamiq-bench-") as tmp:
        system = build(seed, Path(tmp), overrides)
        agent = system.interaction.agent
        trainer = system.trainers["dqn"]
        system.start()
        try:
            time.sleep(warmup)
            cpu0 = thread_schedstat(threads)
            steps0, agent0, t0 = trainer.global_step, agent.steps, time.perf_counter()
            time.sleep(duration)
            steps1, agent1, t1 = trainer.global_step, agent.steps, time.perf_counter()
            cpu1 = thread_schedstat(threads)
        finally:
            system.shutdown("benchmark done")
            system.wait(60)
        # The same update loop on the same replay buffer, with nothing else running.
        main = (threading.current_thread().name,)
        alone_steps0 = trainer.global_step
        alone_cpu0 = thread_schedstat(main)
        alone_t0 = time.perf_counter()
        while time.perf_counter() - alone_t0 < duration:
            trainer.setup()
            trainer.train()
            trainer.teardown()
        alone_wall = time.perf_counter() - alone_t0
        alone_cpu1 = thread_schedstat(main)
        alone_steps = trainer.global_step - alone_steps0
        alone = alone_steps / alone_wall
        (name,) = main
        acting = _per_step(cpu0["training"], cpu1["training"], t1 - t0, steps1 - steps0)
        by_itself = _per_step(
            alone_cpu0[name], alone_cpu1[name], alone_wall, alone_steps
        )
        agent_cpu = _per_step(
            cpu0["inference"], cpu1["inference"], t1 - t0, agent1 - agent0
        )
        return {
            # Where the trainer's time per optimizer step went (us), from the
            # kernel's schedstat: on a CPU, waiting for one (other processes),
            # blocked (the GIL, the agent). The ratio without the waits for a
            # CPU is what a machine with nothing else running would show.
            "training_per_step_acting": acting,
            "training_per_step_alone": by_itself,
            "agent_ran_us_per_step": agent_cpu["ran_us"],
            "ratio_without_cpu_waits": (by_itself["ran_us"] + by_itself["blocked_us"])
            / max(1e-9, acting["ran_us"] + acting["blocked_us"]),
            "seed": seed,
            "unthrottled": unthrottled,
            "replay_ratio": trainer.config.replay_ratio,
            "batch_size": trainer.config.batch_size,
            "optimizer_steps_per_s_acting": (steps1 - steps0) / (t1 - t0),
            "agent_steps_per_s": (agent1 - agent0) / (t1 - t0),
            "optimizer_steps_per_s_alone": alone,
            "buffer_items": len(system.data_users["replay"]),
            "failures": list(system.failures),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--extend-to", type=float, default=0.0)
    parser.add_argument("--share", default="", help="WARMUP,DURATION (figure 10)")
    parser.add_argument("--actors", type=int, default=0, help="on Ray (figure 12)")
    parser.add_argument("--stop-at-target", action="store_true")
    parser.add_argument(
        "--unthrottled", action="store_true", help="with --share: replay_ratio unset"
    )
    args = parser.parse_args()
    if args.share:
        warmup, duration = (float(x) for x in args.share.split(","))
        emit(run_share(args.seed, warmup, duration, args.unthrottled))
    else:
        emit(
            run_learning(
                args.seed,
                args.seconds,
                max(args.extend_to, args.seconds),
                args.actors,
                args.stop_at_target,
            )
        )


if __name__ == "__main__":
    main()
