"""TorchTrainer: optimizers kept across runs, and save/load continues exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from typing_extensions import override

from engine.model import TrainingModelsDict
from engine.torch import TorchTrainingModel
from tests.engine.tiny import ScaleModel
from trainers.torch import OptimizersSetup, TorchTrainer


class Regressor(TorchTrainer):
    """Three Adam steps per run on data chosen by the scheduler's step count."""

    @override
    def on_training_models_attached(self) -> None:
        self.net = self.get_torch_training_model("net", nn.Linear).model

    @override
    def create_optimizers(self) -> OptimizersSetup:
        optimizer = torch.optim.Adam(self.net.parameters(), lr=0.05)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
        return {"adam": optimizer}, {"step": scheduler}

    @override
    def train(self) -> None:
        optimizer, scheduler = self.optimizers["adam"], self.lr_schedulers["step"]
        for _ in range(3):
            data = torch.Generator().manual_seed(scheduler.last_epoch)
            x = torch.randn(16, 3, generator=data)
            loss = (self.net(x) - x.sum(1, keepdim=True)).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()


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
        run_once(resumed)  # optimizers exist already when the state arrives
    optimizer_before = resumed.optimizers.get("adam")
    resumed_model.load_state(tmp_path / "net")
    resumed.load_state(tmp_path / "trainer")
    run_once(resumed)
    assert all(
        torch.equal(a, b)
        for a, b in zip(state_of(resumed_model), expected, strict=True)
    )
    assert resumed.lr_schedulers["step"].last_epoch == 12
    if resume_after_a_run:
        assert resumed.optimizers["adam"] is optimizer_before


def test_optimizers_are_created_once_and_stay_valid_across_syncs() -> None:
    trainer, model = make(0)
    run_once(trainer)
    optimizer = trainer.optimizers["adam"]
    model.sync()
    run_once(trainer)
    assert trainer.optimizers["adam"] is optimizer
    assert optimizer.param_groups[0]["params"][0] is model.model.weight


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
