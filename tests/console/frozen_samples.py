"""Frozen dashboards of the sample configs: what a run of each shows a few
minutes in, built from the sample's own components (not a live run), at a
fixed clock, so that a snapshot of it changes only when the layout does."""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
from pathlib import Path
from typing import Any

from console import config as config_mod
from console.app import ConsoleApp
from console.messages import Snapshot
from engine.services.curves import CurveBook
from engine.services.operations import local_run
from engine.telemetry.events import (
    Alert,
    Event,
    LogMessage,
    Metric,
    StateSaved,
    SystemStateChanged,
    TrainingRunFinished,
)
from engine.telemetry.status import (
    STEPS_OF_ACTORS,
    ActorStatus,
    BufferStatus,
    SystemStatus,
    TrainerStatus,
)
from engine.telemetry.trainability import TrainabilityReport

NOW = 1_700_000_000.0
"""The frozen wall time (with TZ=UTC: 22:13:20)."""
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "sample_configs"
SAMPLES = (
    "minimal",
    "cartpole_dqn",
    "pendulum_sac",
    "cartpole_reinforce",
    "cartpole_ppo",
    "sensor_autoencoder",
    "minimal_ray",
    "cartpole_ppo_ray",
)

# What each sample's trainer and agent report (names and values as a real run
# of it showed a few minutes in).
TRAINER_METRICS: dict[str, dict[str, float]] = {
    "minimal": {"loss": 0.0387, "mean_reward": 0.8454},
    "cartpole_dqn": {
        "loss": 0.9193,
        "q_mean": 73.08,
        "grad_norm": 1.292,
        "lr": 0.000494,
        "steps_per_s": 643.2,
    },
    "pendulum_sac": {
        "loss": 39.78,
        "critic_loss": 1.841,
        "actor_loss": 37.97,
        "alpha": 0.05745,
        "entropy": -0.989,
        "q_mean": -38.44,
        "grad_norm": 73.76,
        "lr": 0.001,
        "steps_per_s": 278.5,
    },
    "cartpole_reinforce": {
        "experience_episodes": 8,
        "experience_steps": 3439,
        "loss": 0.00098,
        "return_to_go": 79.26,
        "entropy": 0.4803,
        "grad_norm": 0.1439,
        "lr": 0.01,
        "steps_per_s": 0.9165,
    },
    # A round's metrics first, then its optimizer steps', as PPO reports them;
    # runs of 150 s (threads) and 120 s (two Ray actors, whose returns were
    # 500 by then: hence the tiny value loss).
    "cartpole_ppo": {
        "rollouts": 8,
        "experience_steps": 500,
        "policy_lag_mean": 0.712,
        "policy_lag_max": 1,
        "rho_truncated": 0.328,
        "loss": 0.01408,
        "policy_loss": -0.001539,
        "value_loss": 0.03124,
        "entropy": 0.2212,
        "approx_kl": 0.0009743,
        "clip_fraction": 0.01162,
        "grad_norm": 1.147,
        "lr": 0.001,
        "steps_per_s": 254.3,
    },
    "cartpole_ppo_ray": {
        "rollouts": 8,
        "experience_steps": 500,
        "policy_lag_mean": 1.038,
        "policy_lag_max": 2,
        "rho_truncated": 0.382,
        "loss": -0.05153,
        "policy_loss": -0.05153,
        "value_loss": 3.941e-07,
        "entropy": 0.1411,
        "approx_kl": 0.03508,
        "clip_fraction": 0.1704,
        "grad_norm": 1.311,
        "lr": 0.001,
        "steps_per_s": 429.2,
    },
    "sensor_autoencoder": {
        "loss": 0.003926,
        "grad_norm": 0.01921,
        "lr": 0.001,
        "steps_per_s": 169.9,
    },
    "minimal_ray": {"loss": 0.0397, "mean_reward": 0.8315},
}
AGENT_METRICS: dict[str, tuple[str, ...]] = {
    "cartpole_dqn": ("episode_return_mean20", "episode_return", "episodes"),
    "pendulum_sac": ("episode_return_mean20", "episode_return", "episodes"),
    "cartpole_reinforce": ("episode_return_mean20", "episode_return", "episodes"),
    "cartpole_ppo": ("episode_return_mean20", "episode_return", "episodes"),
    "cartpole_ppo_ray": ("episode_return_mean20", "episode_return", "episodes"),
}
AGENT_SOURCES: dict[str, tuple[str, ...]] = {
    # On actors each agent reports under its actor's name.
    "cartpole_ppo_ray": ("actor0.agent", "actor1.agent"),
}
"""Who reports a sample's agent metrics, when not its one agent."""

RETURNS: dict[str, tuple[float, float]] = {
    # Pendulum's returns are negative: from random swinging to held upright.
    "pendulum_sac": (-1400.0, -160.0),
}
"""Where a sample's returns start and end, when not CartPole's (9 to 480)."""


@functools.cache
def built(sample: str) -> Any:
    """The sample's config, built (never started): its real component names."""
    return config_mod.load(SAMPLES_DIR / f"{sample}.toml")


def _actors(sample: str) -> int:
    with open(SAMPLES_DIR / f"{sample}.toml", "rb") as f:
        return int(tomllib.load(f).get("scale", {}).get("actors", 0))


def _condition(condition: TrainabilityReport, size: int) -> TrainabilityReport:
    """The trainer's condition once its buffer holds ``size`` items: waiting
    for new data where it needs any, as most of the time between runs."""
    new = condition.min_new_data_count // 2
    episodes = condition.min_new_episodes // 4
    waits = [
        f"{have}/{need} new {what}"
        for have, need, what in (
            (new, condition.min_new_data_count, "items"),
            (episodes, condition.min_new_episodes, "episodes"),
        )
        if need
    ]
    return dataclasses.replace(
        condition,
        buffer_size=size,
        new_data=new,
        new_episodes=episodes,
        trainable=not waits,
        reason="; ".join(waits),
    )


def sample_status(
    sample: str, runs: int = 240, wall_time: float = NOW, state: str = "active"
) -> SystemStatus:
    """Each buffer filled, each trainer trained ``runs`` times, each model synced."""
    base: SystemStatus = built(sample).system.status()
    steps = 60 * runs
    buffers = {
        name: BufferStatus(
            size=steps if b.capacity is None else min(b.capacity, steps),
            capacity=b.capacity,
            collected=steps,
            pending=7,
            collector_taken=True,
        )
        for name, b in base.buffers.items()
    }
    trainers = {}
    for name, t in base.trainers.items():
        user = t.condition.data_user
        size = buffers[user].size if user in buffers else 0
        trainers[name] = TrainerStatus(
            condition=_condition(t.condition, size),
            runs=runs,
            last_duration=0.0505,
            last_metrics=dict(TRAINER_METRICS[sample]),
            custom_condition=t.custom_condition,
        )
    # A model without an inference copy (SAC's critics) is never synced.
    synced = {
        name
        for name, model in built(sample).system.models.items()
        if model.has_inference_model
    }
    models = {
        name: dataclasses.replace(
            m,
            version=runs,
            last_sync_time=wall_time - 0.0456,
            last_sync_duration=0.0001,
        )
        if not m.inference_thread_only and name in synced
        else m
        for name, m in base.models.items()
    }
    actors = tuple(
        ActorStatus(
            actor=i,
            node="df153ef1a7c2" + "0" * 44,
            alive=True,
            paused=False,
            restarts=0,
            steps=steps // 2,
            steps_per_second=200.0 + i,
            version=runs - 5,
            lag_p50=0,
            lag_max=2,
            unsent_items=12,
            queued_batches=0,
            dropped_items=0,
            dropped_batches=0,
            stale_batches=0,
        )
        for i in range(_actors(sample))
    )
    return dataclasses.replace(
        base,
        state=state,
        uptime=754.5,
        steps=steps,
        steps_per_second=2274.0 if sample.startswith("cartpole") else 190.0,
        wall_time=wall_time,
        buffers=buffers,
        trainers=trainers,
        models=models,
        actors=actors,
        policy_version=runs if base.step_source == STEPS_OF_ACTORS else None,
        last_save=f"runs/{sample}/states/2023-11-14_22-08-20,000000.state",
        last_save_time=NOW - 300,
        next_save_time=NOW + 60,
    )


def _curve(index: int, count: int, start: float, end: float) -> float:
    """A learning curve's value: from ``start`` to ``end`` with some noise."""
    progress = 1 - math.exp(-4 * index / count)
    return start + (end - start) * progress + 0.04 * (end - start) * math.sin(index)


def sample_events(sample: str) -> list[Event]:
    """The metrics and log lines of the sample's first minutes."""
    run_dir = f"runs/{sample}"
    states = f"{run_dir}/states"
    events: list[Event] = [
        LogMessage(
            level="info",
            message=f"started {sample} (states in {states})",
            wall_time=NOW - 754,
        ),
        LogMessage(
            level="info",
            message=(
                f"console: pamiq-console attach --run {run_dir} "
                f"(run directory {run_dir})"
            ),
            wall_time=NOW - 754,
        ),
    ]
    for agent in AGENT_SOURCES.get(sample, ("agent",)):
        for source in AGENT_METRICS.get(sample, ()):
            start, end = (9.0, 480.0) if source == "episode_return" else (9.0, 450.0)
            if sample in RETURNS:
                start, end = RETURNS[sample]
            for i in range(200):
                events.append(
                    Metric(
                        source=agent,
                        name=source,
                        value=(i + 1)
                        if source == "episodes"
                        else round(_curve(i, 200, start, end), 1),
                        step=i * 150,
                        wall_time=NOW - 700 + i * 3,
                    )
                )
    trainer = next(iter(built(sample).system.status().trainers))
    states_dir = local_run(built(sample).system).states_dir
    for name, last in TRAINER_METRICS[sample].items():
        for i in range(120):
            events.append(
                Metric(
                    source=trainer,
                    name=name,
                    value=_curve(i, 120, last * 8, last),
                    step=i * 2,
                    wall_time=NOW - 700 + i * 5,
                )
            )
    for i, (when, path) in enumerate(
        [(NOW - 600, "22-03-20"), (NOW - 300, "22-08-20")], start=1
    ):
        events.append(
            StateSaved(
                # In the run's states directory: the log names it by its name.
                path=str(states_dir / f"2023-11-14_{path},000000.state"),
                duration=0.2766 * i,
                paused_for=0.0004,
                wall_time=when,
            )
        )
    events += [
        LogMessage(level="info", message="paused", wall_time=NOW - 200),
        LogMessage(level="info", message="resumed", wall_time=NOW - 180),
        Alert(
            guard="agent_stall",
            source="agent",
            message="the agent has not stepped for 60 s",
            action="none",
            cleared=True,
            wall_time=NOW - 120,
        ),
        LogMessage(
            level="warning",
            message=f"buffer of {trainer} took 1.2 s to sample a batch",
            wall_time=NOW - 60,
        ),
        SystemStateChanged(state="active", wall_time=NOW - 59),
    ]
    events += [
        TrainingRunFinished(trainer=trainer, run=run, duration=0.05, wall_time=NOW)
        for run in range(230, 240)
    ]
    return events


def sample_curves(events: list[Event]) -> list[dict[str, Any]]:
    """The curve updates a run would send for ``events`` (its first poll)."""
    book = CurveBook(capacity=64)
    for event in events:
        book.record(event)
    return book.updates(book.curve_keys(), {})


def sample_app(sample: str, mode: str = "run") -> ConsoleApp:
    """The dashboard of the sample's run: ``run`` (in this process), ``attach``
    or ``read-only`` (attach --read-only); fed by hand with :func:`feed`."""
    return ConsoleApp(
        local_run(built(sample).system),
        live=False,
        clock=lambda: NOW,
        attached=mode != "run",
        read_only=mode == "read-only",
    )


def feed(app: ConsoleApp, sample: str) -> None:
    """Two polls ten seconds apart (rates in the panels, curves in the plot)."""
    app.apply_snapshot(
        Snapshot(sample_status(sample, runs=220, wall_time=NOW - 10), []),
        now=NOW - 10,
    )
    events = sample_events(sample)
    app.apply_snapshot(
        Snapshot(sample_status(sample), events, curves=sample_curves(events)), now=NOW
    )
