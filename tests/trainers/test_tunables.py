"""The DQN sample's settings on a real run: the learning rate changed while it
runs, and a resume with an edited config (the trap of SB3 issue 735: the
optimizer's saved state brought the old learning rate back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from algorithms.dqn import DQNAgent, DQNTrainer
from console import config as config_mod
from engine import System
from engine.telemetry.events import (
    LogMessage,
    Metric,
    SettingChanged,
    StateLoaded,
    TrainingRunFinished,
)
from trainers.config import CosineSchedule

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0


def sample(tmp_path: Path, lr: float) -> Path:
    """The DQN sample at learning rate ``lr``, filling its replay buffer sooner."""
    text = (ROOT / "sample_configs" / "cartpole_dqn.toml").read_text()
    assert "\nlr = 0.0005\n" in text and "min_buffer_size = 1000\n" in text
    text = text.replace("\nlr = 0.0005\n", f"\nlr = {lr!r}\n")
    text = text.replace("min_buffer_size = 1000\n", "min_buffer_size = 200\n")
    path = tmp_path / "cartpole_dqn.toml"
    path.write_text(text)
    return path


def build(config: Path, tmp_path: Path, resume: bool = False) -> System:
    built = config_mod.load(
        config,
        overrides={
            "run_dir": str(tmp_path / "run"),
            "metrics": False,
            "durable_saves": False,
        },
        start_from="latest" if resume else None,
    )
    return built.system


def next_event(sub: Any, kind: type, **fields: Any) -> Any:
    while (event := sub.get(timeout=WAIT)) is not None:
        if isinstance(event, kind) and all(
            getattr(event, k) == v for k, v in fields.items()
        ):
            return event
    pytest.fail(f"no {kind.__name__} {fields} within {WAIT} s")


def changes(sub: Any, *names: str) -> dict[str, SettingChanged]:
    """The changes of ``names``, in whichever order their owners' threads took them."""
    seen: dict[str, SettingChanged] = {}
    while (event := sub.get(timeout=WAIT)) is not None:
        if isinstance(event, SettingChanged) and event.name in names:
            seen[event.name] = event
            if len(seen) == len(names):
                return seen
    pytest.fail(f"only {sorted(seen)} of {names} changed within {WAIT} s")


def trained(system: System, sub: Any, runs: int = 1) -> None:
    for _ in range(runs):
        next_event(sub, TrainingRunFinished, trainer="dqn")


def optimizer_rate(system: System) -> tuple[float, float, float]:
    """(base rate, rate of the last step, the cosine schedule's rate then)."""
    trainer = system.trainers["dqn"]
    assert isinstance(trainer, DQNTrainer)
    group = trainer.optimizers["optimizer"].param_groups[0]
    scheduler = trainer.lr_schedulers["lr_scheduler"]
    schedule = trainer.config.lr_scheduler
    assert isinstance(schedule, CosineSchedule)
    base = trainer.config.lr
    expected = base * schedule.factor(scheduler.last_epoch, base)
    return float(group["initial_lr"]), float(group["lr"]), expected


def run_and_stop(system: System, runs: int = 1) -> list[Any]:
    events: list[Any] = []
    system.events.add_callback(events.append)
    sub = system.events.subscribe(maxsize=1_000_000)
    system.start()
    try:
        trained(system, sub, runs)
        system.pause()
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    return events


def test_a_resume_with_an_edited_learning_rate_uses_it_and_says_so(
    tmp_path: Path,
) -> None:
    run_and_stop(build(sample(tmp_path, 1e-3), tmp_path))

    system = build(sample(tmp_path, 5e-2), tmp_path, resume=True)
    events: list[Any] = []
    system.events.add_callback(events.append)
    sub = system.events.subscribe(maxsize=1_000_000)
    system.start()
    try:
        trained(system, sub)
        system.pause()
        base, rate, expected = optimizer_rate(system)
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert base == 0.05
    assert rate == pytest.approx(expected, rel=1e-12)
    notices = [e.message for e in events if isinstance(e, LogMessage)]
    assert (
        "trainers.dqn.lr: the config says 0.05, the state was saved with 0.001; "
        "using 0.05"
    ) in notices
    # What the trainer reported as its rate after the resume: the edited one.
    rates = [e.value for e in events if isinstance(e, Metric) and e.name == "lr"]
    assert rates and all(0.04 < r <= 0.05 for r in rates)


def test_the_learning_rate_set_while_running_is_used_saved_and_resumed(
    tmp_path: Path,
) -> None:
    config = sample(tmp_path, 1e-3)
    system = build(config, tmp_path)
    sub = system.events.subscribe(maxsize=1_000_000)
    system.start()
    try:
        trained(system, sub)
        system.set_setting("trainers.dqn.lr", "2e-3")
        system.set_setting("agent.epsilon_end", "0.2")
        changed = changes(sub, "trainers.dqn.lr", "agent.epsilon_end")[
            "trainers.dqn.lr"
        ]
        trained(system, sub)
        system.pause()
        base, rate, expected = optimizer_rate(system)
        agent = system.interaction.agent
        assert isinstance(agent, DQNAgent)
        assert agent.epsilon_end == 0.2
    finally:
        system.shutdown()
        assert system.wait(WAIT)
    assert (changed.old, changed.new) == (0.001, 0.002)
    assert base == 0.002
    assert rate == pytest.approx(expected, rel=1e-12)

    # The same config again: the value set while it ran comes back, and is said.
    system = build(config, tmp_path, resume=True)
    events = run_and_stop(system)
    base, _, _ = optimizer_rate(system)
    assert base == 0.002
    assert system.interaction.agent.epsilon_end == 0.2  # type: ignore[attr-defined]
    notices = [e.message for e in events if isinstance(e, LogMessage)]
    assert (
        "trainers.dqn.lr: using 0.002 from the state (set while it ran; the config "
        "says 0.001)"
    ) in notices
    loaded = [i for i, e in enumerate(events) if isinstance(e, StateLoaded)]
    assert loaded
