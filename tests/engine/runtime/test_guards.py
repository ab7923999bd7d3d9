"""Guards: a NaN in a trainer triggers each action, a stalled agent and a trainer
that never trains raise alerts, and the state saved before a NaN is kept."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from typing_extensions import override

from engine import LaunchConfig, System
from engine.data import SequentialBuffer
from engine.interaction import Interaction
from engine.runtime.guards import GuardSettings, GuardTripped
from engine.system import SystemFailedError
from engine.telemetry.events import Alert, Event, StateSaved
from engine.torch import TorchTrainingModel
from tests.engine.tiny import CollectingAgent, CounterEnv, ScaleModel
from trainers import Trainer
from trainers.torch import OptimizersSetup, TorchTrainer

WAIT = 30.0


class PoisonableRegressor(TorchTrainer):
    """One SGD step per run on fixed data; ``poison`` makes the loss NaN."""

    def __init__(self) -> None:
        super().__init__()
        self.poison = threading.Event()
        self.steps = 0

    @override
    def on_training_models_attached(self) -> None:
        self.net = self.get_torch_training_model("net", nn.Linear).model

    @override
    def create_optimizers(self) -> OptimizersSetup:
        return {"sgd": torch.optim.SGD(self.net.parameters(), lr=0.01)}

    @override
    def train(self) -> None:
        x = torch.ones(4, 3)
        loss = self.net(x).pow(2).mean()
        if self.poison.is_set():
            loss = loss * float("nan")
        optimizer = self.optimizers["sgd"]
        optimizer.zero_grad()
        loss.backward()
        self.before_step()
        optimizer.step()
        self.steps += 1
        self.report_metrics({"loss": float(loss.detach())})

    def before_step(self) -> None:
        """What runs between backward() and the optimizer step (nothing here)."""


class NaNParameters(Trainer):
    """Writes NaN straight into a torch model's weights (no optimizer to guard)."""

    def __init__(self) -> None:
        super().__init__()
        self.poison = threading.Event()

    @override
    def on_training_models_attached(self) -> None:
        self.net = self.get_training_model("net")

    @override
    def train(self) -> None:
        if self.poison.is_set():
            with torch.no_grad():
                self.net.model.weight.fill_(float("nan"))  # type: ignore[attr-defined]


class NeverTrainable(Trainer):
    @override
    def is_trainable(self) -> bool:
        return False

    @override
    def train(self) -> None:
        raise AssertionError("never trains")


class StallingAgent(CollectingAgent):
    """Blocks in step() while ``stall`` is set, until ``release`` is."""

    def __init__(self) -> None:
        super().__init__()
        self.stall = threading.Event()
        self.release = threading.Event()

    @override
    def step(self, observation: int) -> float:
        if self.stall.is_set() and not self.release.is_set():
            self.release.wait(WAIT)
        return super().step(observation)


def make(
    tmp_path: Path,
    trainer: Trainer,
    agent: CollectingAgent | None = None,
    **config: Any,
) -> System:
    torch.manual_seed(0)
    config.setdefault("states_dir", tmp_path / "states")
    config.setdefault("run_dir", tmp_path / "run")
    config.setdefault("durable_saves", False)
    return System(
        Interaction(agent or CollectingAgent(), CounterEnv()),
        {"scale": ScaleModel(), "net": TorchTrainingModel(nn.Linear(3, 1))},
        {"obs": SequentialBuffer(100)},
        {"t": trainer},
        LaunchConfig(**config),
    )


class Watch:
    """Events of a system, with a wait for the first that matches."""

    def __init__(self, system: System) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()
        system.events.add_callback(self._on)

    def _on(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait(self, match: Any, what: str) -> Any:
        with self._cond:
            found: list[Any] = []

            def seen() -> bool:
                found[:] = [e for e in self.events if match(e)]
                return bool(found)

            assert self._cond.wait_for(seen, WAIT), f"no {what}"
            return found[0]


@contextlib.contextmanager
def running(system: System) -> Iterator[Watch]:
    """The started system's events; it is stopped in order afterwards."""
    watch = Watch(system)
    system.start()
    try:
        yield watch
    finally:
        system.shutdown("test over")
        assert system.wait(timeout=WAIT)


def alert_of(watch: Watch, guard: str, cleared: bool = False) -> Alert:
    """The first alert of ``guard`` (its clearing with ``cleared``)."""
    return watch.wait(
        lambda e: isinstance(e, Alert) and e.guard == guard and e.cleared == cleared,
        f"{guard} alert" + (" cleared" if cleared else ""),
    )


def params(system: System) -> torch.Tensor:
    return system.models["net"].model.weight.detach().clone()  # type: ignore[attr-defined]


def test_skip_skips_each_poisoned_step_and_the_run_goes_on(tmp_path: Path) -> None:
    trainer = PoisonableRegressor()
    system = make(tmp_path, trainer, guards={"non_finite": "skip"})
    with running(system) as watch:
        trainer.poison.set()
        alert = alert_of(watch, "non_finite")
        assert alert.source == "t" and alert.action == "skipped"
        assert "non-finite gradients" in alert.message
        assert system.guards.skipped_steps >= 1
        trainer.poison.clear()
        assert torch.isfinite(params(system)).all()
        assert system.controller.state.value == "active"
        assert system.status().alerts == (alert.message,)


def test_pause_holds_the_run_with_finite_weights_and_keeps_the_state_saved_before(
    tmp_path: Path,
) -> None:
    trainer = PoisonableRegressor()
    system = make(tmp_path, trainer, max_keep_states=1)
    with running(system) as watch:
        before = system.save_state()
        trainer.poison.set()
        alert = alert_of(watch, "non_finite")
        assert alert.action == "paused" and before.name in alert.message
        watch.wait(
            lambda e: (
                getattr(e, "kind", "") == "state"
                and getattr(e, "state", "") == "paused"
            ),
            "the pause",
        )
        assert torch.isfinite(params(system)).all()
        # retention (keep 1) never deletes the state saved before the NaN
        trainer.poison.clear()
        system.resume()
        system.save_state()
        system.save_state()
        assert before.exists()


def test_stop_ends_the_run_with_an_error_so_run_raises(tmp_path: Path) -> None:
    trainer = PoisonableRegressor()
    system = make(tmp_path, trainer, guards={"non_finite": "stop"})
    watch = Watch(system)
    trainer.poison.set()
    with pytest.raises(
        SystemFailedError, match="stopped by a guard: t: non-finite"
    ) as e:
        system.run()
    assert isinstance(e.value.__cause__, GuardTripped)
    assert alert_of(watch, "non_finite").action == "stopped"
    assert any(e.startswith("stopped by a guard") for e in system.status().errors)
    info = (tmp_path / "run" / "run.json").read_text()
    assert '"exit_code": 1' in info
    # the step was skipped, so the final save holds finite weights
    assert any(isinstance(e, StateSaved) for e in watch.events)


def test_non_finite_parameters_pause_the_run_and_skip_the_final_save(
    tmp_path: Path,
) -> None:
    trainer = NaNParameters()
    system = make(tmp_path, trainer, guards={"non_finite": "skip"})
    with running(system) as watch:
        trainer.poison.set()
        alert = alert_of(watch, "non_finite")
        # what is done cannot be skipped: the run is held for a look
        assert alert.action == "paused" and "parameters are not finite" in alert.message
        assert system.guards.parameters_bad
    assert not any(isinstance(e, StateSaved) for e in watch.events)
    assert any("no final save" in getattr(e, "message", "") for e in watch.events)


def test_a_stalled_agent_raises_an_alert_and_clears_it_when_it_steps(
    tmp_path: Path,
) -> None:
    agent = StallingAgent()
    system = make(
        tmp_path, NeverTrainable(), agent, guards={"agent_stall_seconds": 0.6}
    )
    try:
        with running(system) as watch:
            agent.stall.set()
            alert = alert_of(watch, "agent_stalled")
            assert "has not stepped" in alert.message
            assert system.status().alerts == (alert.message,)
            agent.release.set()
            alert_of(watch, "agent_stalled", cleared=True)
            assert system.status().alerts == ()
    finally:
        agent.release.set()


def test_a_trainer_untrainable_for_too_long_raises_an_alert(tmp_path: Path) -> None:
    system = make(tmp_path, NeverTrainable(), guards={"untrainable_minutes": 0.01})
    with running(system) as watch:
        alert = alert_of(watch, "untrainable")
        assert alert.source == "t" and "has not been trainable" in alert.message


def test_a_healthy_run_raises_no_alert_with_the_defaults(tmp_path: Path) -> None:
    system = make(tmp_path, PoisonableRegressor())
    with running(system) as watch:
        watch.wait(
            lambda e: (
                getattr(e, "kind", "") == "training" and getattr(e, "run", 0) >= 20
            ),
            "20 training runs",
        )
    assert not any(isinstance(e, Alert) for e in watch.events)
    assert system.config.guards == GuardSettings()


def test_a_program_s_log_shows_alerts_as_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    agent = StallingAgent()
    system = make(
        tmp_path, NeverTrainable(), agent, guards={"agent_stall_seconds": 0.6}
    )
    try:
        with caplog.at_level("INFO", logger="engine"), running(system) as watch:
            agent.stall.set()
            alert = alert_of(watch, "agent_stalled")
            agent.release.set()
            alert_of(watch, "agent_stalled", cleared=True)
    finally:
        agent.release.set()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert alert.message in warnings
    assert "cleared: the agent steps again" in caplog.messages


class HintingRegressor(PoisonableRegressor):
    """Computes its gradients' norm before each step (as clipping does) and
    hands it to the guard, which then checks that one number."""

    @override
    def before_step(self) -> None:
        grads = [p.grad for p in self.net.parameters() if p.grad is not None]
        self.gradient_norm_hint = torch.nn.utils.get_total_norm(grads)


def test_a_trainer_s_own_gradient_norm_is_what_the_guard_checks(
    tmp_path: Path,
) -> None:
    trainer = HintingRegressor()
    system = make(tmp_path, trainer, guards={"non_finite": "skip"})
    with running(system) as watch:
        trainer.poison.set()
        alert = alert_of(watch, "non_finite")
        assert alert.action == "skipped"
        trainer.poison.clear()
        assert torch.isfinite(params(system)).all()
        assert trainer.gradient_norm_hint is None  # each hint serves one step
