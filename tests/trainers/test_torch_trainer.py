"""TorchTrainer: optimizers re-created each run continue exactly, and save/load too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import StepLR
from typing_extensions import override

from engine.model import TrainingModelsDict
from engine.torch import TorchTrainingModel
from tests.engine.tiny import ScaleModel
from trainers.torch import OptimizersSetup, TorchTrainer


def adam_and_step_lr(net: nn.Module) -> tuple[torch.optim.Adam, StepLR]:
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    return optimizer, StepLR(optimizer, step_size=2, gamma=0.5)


def regression_step(
    net: nn.Module, optimizer: torch.optim.Optimizer, scheduler: StepLR
) -> None:
    """One Adam step on data chosen by the scheduler's step count."""
    data = torch.Generator().manual_seed(scheduler.last_epoch)
    x = torch.randn(16, 3, generator=data)
    loss = (net(x) - x.sum(1, keepdim=True)).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()


class Regressor(TorchTrainer):
    """Three Adam steps per run."""

    created = 0

    @override
    def on_training_models_attached(self) -> None:
        self.net = self.get_torch_training_model("net", nn.Linear).model

    @override
    def create_optimizers(self) -> OptimizersSetup:
        self.created += 1
        optimizer, scheduler = adam_and_step_lr(self.net)
        return {"adam": optimizer}, {"step": scheduler}

    @override
    def train(self) -> None:
        optimizer, scheduler = self.optimizers["adam"], self.lr_schedulers["step"]
        for _ in range(3):
            regression_step(self.net, optimizer, scheduler)


def make(seed: int) -> tuple[Regressor, TorchTrainingModel[nn.Linear]]:
    torch.manual_seed(seed)
    model = TorchTrainingModel(nn.Linear(3, 1))
    trainer = Regressor()
    trainer.attach_training_models(TrainingModelsDict({"net": model}))
    return trainer, model


def run_once(trainer: Regressor) -> None:
    trainer.setup()
    trainer.train()
    trainer.teardown()


def state_of(model: TorchTrainingModel[nn.Linear]) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.model.parameters()]


@pytest.mark.parametrize("resume_after_a_run", [False, True])
def test_resumed_run_takes_the_same_next_steps(
    tmp_path: Path, resume_after_a_run: bool
) -> None:
    trainer, model = make(0)
    for _ in range(3):
        run_once(trainer)
    model.save_state(tmp_path / "net")
    trainer.save_state(tmp_path / "trainer")
    assert (tmp_path / "trainer" / "adam.optim.pt").exists()
    assert (tmp_path / "trainer" / "step.lrsch.pt").exists()
    run_once(trainer)
    expected = state_of(model)

    resumed, resumed_model = make(1)
    if resume_after_a_run:
        run_once(resumed)  # it has states of its own when the loaded ones arrive
    resumed_model.load_state(tmp_path / "net")
    resumed.load_state(tmp_path / "trainer")
    run_once(resumed)
    assert all(
        torch.equal(a, b)
        for a, b in zip(state_of(resumed_model), expected, strict=True)
    )
    assert resumed.lr_schedulers["step"].last_epoch == 12


def test_optimizers_created_every_run_continue_like_one_optimizer() -> None:
    trainer, model = make(0)
    for _ in range(4):
        run_once(trainer)
        model.sync()
    assert trainer.created == 4  # as in PAMIQ-Core: create_optimizers() on every setup
    optimizer = trainer.optimizers["adam"]
    assert optimizer.param_groups[0]["params"][0] is model.model.weight

    torch.manual_seed(0)
    net = nn.Linear(3, 1)
    one_optimizer, one_scheduler = adam_and_step_lr(net)
    for _ in range(4 * 3):
        regression_step(net, one_optimizer, one_scheduler)
    assert all(
        torch.equal(a, b)
        for a, b in zip(state_of(model), [p.detach() for p in net.parameters()])
    )
    assert trainer.lr_schedulers["step"].get_last_lr() == one_scheduler.get_last_lr()


class AttributeTrainer(TorchTrainer):
    """Written as PAMIQ-Core's guide shows: optimizers kept in attributes by create_optimizers."""

    @override
    def on_training_models_attached(self) -> None:
        super().on_training_models_attached()
        self.model_1 = self.get_torch_training_model("net", nn.Linear)

    @override
    def create_optimizers(self) -> OptimizersSetup:
        self.optimizer_1 = torch.optim.SGD(
            self.model_1.model.parameters(), lr=0.1, momentum=0.9
        )
        return {"optimizer_1": self.optimizer_1}

    @override
    def train(self) -> None:
        out = self.model_1.model(torch.ones(4, 3))
        self.optimizer_1.zero_grad()
        out.mean().backward()
        self.optimizer_1.step()


def test_a_pamiq_style_trainer_sees_its_kept_states_between_runs() -> None:
    trainer = AttributeTrainer()
    trainer.attach_training_models(
        TrainingModelsDict({"net": TorchTrainingModel(nn.Linear(3, 1))})
    )
    assert trainer.optimizer_states == {}
    trainer.run()
    first = trainer.optimizer_1
    momentum = trainer.optimizer_states["optimizer_1"]["state"][0][
        "momentum_buffer"
    ].clone()
    trainer.run()
    assert trainer.optimizer_1 is not first
    assert trainer.optimizers["optimizer_1"] is trainer.optimizer_1
    # The second run continued the momentum of the first instead of starting over.
    kept = trainer.optimizer_states["optimizer_1"]["state"][0]["momentum_buffer"]
    assert torch.allclose(kept, momentum * 0.9 + momentum)


def test_optimizer_names_that_do_not_match_the_kept_states_are_reported() -> None:
    trainer, _ = make(0)
    run_once(trainer)
    trainer.optimizer_states["sgd"] = trainer.optimizer_states.pop("adam")
    with pytest.raises(
        ValueError, match=r"state has optimizers \['sgd'\], this trainer has \['adam'\]"
    ):
        trainer.setup()


def test_every_optimizer_step_is_a_pause_point(monkeypatch: pytest.MonkeyPatch) -> None:
    import trainers.base as module

    calls = []
    monkeypatch.setattr(module, "pause_point", lambda: calls.append(1))
    trainer, _ = make(0)
    run_once(trainer)
    assert len(calls) == 3


def test_get_torch_training_model_checks_types() -> None:
    trainer = Regressor()
    models = TrainingModelsDict(
        {"net": TorchTrainingModel(nn.Linear(1, 1)), "plain": ScaleModel()}
    )
    trainer._training_models = models
    with pytest.raises(TypeError, match="not a TorchTrainingModel"):
        trainer.get_torch_training_model("plain")
    with pytest.raises(TypeError, match="wraps Linear, not Conv1d"):
        trainer.get_torch_training_model("net", nn.Conv1d)
    with pytest.raises(KeyError):
        trainer.get_torch_training_model("missing")


def test_unknown_saved_optimizer_is_reported(tmp_path: Path) -> None:
    trainer, _ = make(0)
    run_once(trainer)
    trainer.save_state(tmp_path / "t")
    (tmp_path / "t" / "adam.optim.pt").rename(tmp_path / "t" / "sgd.optim.pt")
    other, _ = make(0)
    # Refused by the load itself (so the engine rolls it back), not by a later run.
    with pytest.raises(
        ValueError, match=r"state has optimizers \['sgd'\], this trainer has \['adam'\]"
    ):
        other.load_state(tmp_path / "t")


def test_a_state_loaded_mid_run_ends_the_run_without_a_stale_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trainers.base

    trainer, model = make(0)
    run_once(trainer)
    model.save_state(tmp_path / "net")
    trainer.save_state(tmp_path / "trainer")
    saved = state_of(model)
    run_once(trainer)
    loads = []

    def load_while_paused() -> None:
        # What a console `load` does while the training thread waits here.
        if not loads:
            model.load_state(tmp_path / "net")
            trainer.load_state(tmp_path / "trainer")
            loads.append(1)

    monkeypatch.setattr(trainers.base, "pause_point", load_while_paused)
    trainer._training_condition_data_user = None
    assert trainer.run() is False  # abandoned, not failed
    assert all(torch.equal(a, b) for a, b in zip(state_of(model), saved, strict=True))
    assert all(p.grad is None for p in model.model.parameters())
    assert trainer.run() is True  # the next run trains from the loaded state


def test_a_state_saved_before_any_training_loaded_mid_run_starts_the_next_run_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trainers.base

    untrained, _ = make(0)
    untrained.save_state(tmp_path / "untrained")
    assert not list((tmp_path / "untrained").glob("*.pt"))

    trainer, _ = make(0)
    run_once(trainer)
    loads = []

    def load_while_paused() -> None:
        if not loads:
            trainer.load_state(tmp_path / "untrained")
            loads.append(1)

    monkeypatch.setattr(trainers.base, "pause_point", load_while_paused)
    assert trainer.run() is False
    assert (
        trainer.optimizer_states == {}
    )  # not what the abandoned run's optimizers held
    monkeypatch.undo()
    trainer.setup()
    assert trainer.lr_schedulers["step"].last_epoch == 0


# -- setup(), teardown(), save_state() and load_state() called outside run() ----
# PAMIQ-Core's teardown() keeps what self.optimizers hold whenever it is called,
# and its save_state() writes the kept states; these tests pin the same.


def step_by_hand(trainer: Regressor, steps: int) -> None:
    """What a user's own code does with the optimizers outside any run()."""
    for _ in range(steps):
        regression_step(
            trainer.net, trainer.optimizers["adam"], trainer.lr_schedulers["step"]
        )


def make_loaded(path: Path) -> Regressor:
    """A new trainer that loaded the state at ``path``."""
    loaded, _ = make(1)
    loaded.load_state(path)
    return loaded


def saved_then_loaded(trainer: Regressor, path: Path) -> Regressor:
    trainer.save_state(path)
    return make_loaded(path)


def adam_steps(states: dict[str, dict[str, Any]]) -> int | None:
    """Adam's step count in a kept ``optimizer_states`` (None: never stepped)."""
    weight = states["adam"]["state"].get(0)
    return None if weight is None else int(weight["step"])


@pytest.mark.parametrize("before", ["setup", "setup and teardown", "a run"])
def test_a_direct_teardown_refreshes_what_the_next_save_writes(
    tmp_path: Path, before: str
) -> None:
    trainer, _ = make(0)
    trainer.setup()
    if before == "setup and teardown":
        trainer.teardown()  # kept: Adam before its first step
    elif before == "a run":
        trainer.teardown()
        trainer.train()
        trainer.teardown()  # kept: 3 steps, last_epoch 3
    step_by_hand(trainer, 2)
    trainer.teardown()

    steps = {"setup": 2, "setup and teardown": 2, "a run": 5}[before]
    loaded = saved_then_loaded(trainer, tmp_path / "t")
    assert adam_steps(loaded.optimizer_states) == steps
    assert loaded.lr_scheduler_states["step"]["last_epoch"] == steps
    live = trainer.optimizers["adam"]
    assert loaded.optimizer_states["adam"]["param_groups"][0]["lr"] == pytest.approx(
        live.param_groups[0]["lr"]
    )
    assert torch.equal(
        loaded.optimizer_states["adam"]["state"][0]["exp_avg"],
        live.state[trainer.net.weight]["exp_avg"],
    )
    # The next setup() continues from there.
    loaded.setup()
    assert loaded.lr_schedulers["step"].last_epoch == steps


def test_a_direct_setup_saves_the_kept_states_until_its_teardown(
    tmp_path: Path,
) -> None:
    trainer, _ = make(0)
    trainer.setup()
    trainer.train()
    # Outside run() save_state() writes what the last teardown kept: nothing yet.
    trainer.save_state(tmp_path / "before")
    assert not list((tmp_path / "before").glob("*.pt"))
    trainer.teardown()
    trainer.save_state(tmp_path / "after")
    assert adam_steps(make_loaded(tmp_path / "after").optimizer_states) == 3


@pytest.mark.parametrize("before", ["nothing", "setup", "a run"])
def test_a_teardown_between_a_load_and_setup_keeps_the_optimizers_it_has(
    tmp_path: Path, before: str
) -> None:
    source, _ = make(0)
    run_once(source)
    run_once(source)
    source.save_state(tmp_path / "six_steps")
    trainer, _ = make(1)
    if before == "setup":
        trainer.setup()
    elif before == "a run":
        run_once(trainer)
    trainer.load_state(tmp_path / "six_steps")
    assert adam_steps(trainer.optimizer_states) == 6
    # Loaded states wait for the next setup(); a teardown before it keeps what
    # self.optimizers hold instead, as PAMIQ-Core's does.
    trainer.teardown()
    if before == "nothing":
        assert trainer.optimizer_states == {}
        assert trainer.lr_scheduler_states == {}
    else:
        steps = {"setup": None, "a run": 3}[before]
        assert adam_steps(trainer.optimizer_states) == steps
        assert trainer.lr_scheduler_states["step"]["last_epoch"] == (steps or 0)


@pytest.mark.parametrize("runs_before", [0, 1])
def test_a_save_at_a_pause_point_inside_run_writes_the_live_states(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runs_before: int
) -> None:
    import trainers.base

    trainer, _ = make(0)
    for _ in range(runs_before):
        run_once(trainer)
    pauses = []

    def save_at_the_second_pause() -> None:
        pauses.append(1)
        if len(pauses) == 2:  # one step into this run, before the next
            trainer.save_state(tmp_path / "mid")

    monkeypatch.setattr(trainers.base, "pause_point", save_at_the_second_pause)
    assert trainer.run() is True
    loaded = make_loaded(tmp_path / "mid")
    assert adam_steps(loaded.optimizer_states) == 3 * runs_before + 1
    assert loaded.lr_scheduler_states["step"]["last_epoch"] == 3 * runs_before + 1
    # And the run's own teardown kept its end, as before.
    assert adam_steps(trainer.optimizer_states) == 3 * runs_before + 3
