"""ConfigDrivenTrainer: accumulation arithmetic, remainder flush, steps, clipping, metrics."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError
from torch import nn
from typing_extensions import override

from engine.model import TrainingModelsDict
from engine.torch import TorchTrainingModel
from trainers.base import TrainingInterrupted
from trainers.config_driven import ConfigDrivenTrainer, clip_gradients

Batch = tuple[torch.Tensor, torch.Tensor]


def dataset(n: int) -> Batch:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64) + 0.3


class LinearFit(ConfigDrivenTrainer[Batch]):
    """Walks through a fixed dataset in order, once per run (or forever)."""

    def __init__(
        self, config: Mapping[str, Any], n: int = 8, forever: bool = False
    ) -> None:
        super().__init__(config, "net")
        self.data = dataset(n)
        self.forever = forever
        self.pauses = 0

    @override
    def batches(self, batch_size: int) -> Iterator[Batch]:
        x, y = self.data
        while True:
            for i in range(0, len(x), batch_size):
                yield x[i : i + batch_size], y[i : i + batch_size]
            if not self.forever:
                return

    @override
    def step(self, batch: Batch) -> tuple[torch.Tensor, Mapping[str, float]]:
        x, y = batch
        pred = self.models["net"].model(x)
        return (pred - y).pow(2).mean(), {"pred_mean": float(pred.detach().mean())}

    @override
    def pause_point(self) -> None:
        self.pauses += 1


def make(config: Mapping[str, Any], **kwds: Any) -> tuple[LinearFit, nn.Linear]:
    torch.manual_seed(0)
    module = nn.Linear(3, 1).double()
    trainer = LinearFit({"optimizer": "sgd", "lr": 1.0, **config}, **kwds)
    trainer.attach_training_models(
        TrainingModelsDict({"net": TorchTrainingModel(module)})
    )
    return trainer, module


def run(trainer: LinearFit) -> None:
    trainer.setup()
    trainer.train()
    trainer.teardown()


def gradient(module: nn.Linear, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    module.zero_grad()
    (module(x) - y).pow(2).mean().backward()
    return [p.grad.clone() for p in module.parameters()]


def params(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def test_accumulated_step_equals_the_full_batch_step() -> None:
    trainer, module = make({"batch_size": 2, "gradient_accumulation_steps": 4})
    x, y = trainer.data
    before = params(module)
    full = gradient(module, x, y)
    module.zero_grad(set_to_none=True)
    run(trainer)
    assert trainer.global_step == 1
    for p, b, g in zip(params(module), before, full, strict=True):
        torch.testing.assert_close(p, b - g, rtol=0, atol=1e-12)


def test_a_remainder_of_micro_batches_is_flushed_as_its_own_mean() -> None:
    # 6 micro-batches with accumulation 4: one step on items 0-7, one on 8-11.
    trainer, module = make(
        {"batch_size": 2, "gradient_accumulation_steps": 4, "max_steps_per_run": 5},
        n=12,
    )
    x, y = trainer.data
    reference = nn.Linear(3, 1).double()
    reference.load_state_dict(module.state_dict())
    with torch.no_grad():
        for lo, hi in ((0, 8), (8, 12)):
            with torch.enable_grad():
                grads = gradient(reference, x[lo:hi], y[lo:hi])
            for p, g in zip(reference.parameters(), grads, strict=True):
                p -= g
    run(trainer)
    assert trainer.global_step == 2
    assert all(p.grad is None for p in module.parameters())
    for p, r in zip(params(module), params(reference), strict=True):
        torch.testing.assert_close(p, r, rtol=0, atol=1e-12)


CARRY = {
    "batch_size": 2,
    "gradient_accumulation_steps": 4,
    "gradient_accumulation_remainder": "carry",
}


def accumulate(
    module: nn.Module, x: torch.Tensor, y: torch.Tensor, divisor: int
) -> None:
    """ASTRA-RL's accumulation: each micro-batch's loss / divisor, backward in turn."""
    for lo in range(0, len(x), 2):
        ((module(x[lo : lo + 2]) - y[lo : lo + 2]).pow(2).mean() / divisor).backward()


def carried(trainer: LinearFit) -> list[torch.Tensor]:
    assert trainer._carried is not None
    return [g for g in trainer._carried.grads if g is not None]


def test_a_remainder_can_be_carried_into_the_next_round() -> None:
    # 3 micro-batches a round, 4 a step: round 1 steps on none and carries 3;
    # round 2 steps on those and its first, and carries its other 2.
    trainer, module = make(CARRY, n=6)
    x, y = trainer.data
    reference = nn.Linear(3, 1).double()
    reference.load_state_dict(module.state_dict())
    before = params(module)
    run(trainer)
    assert trainer.global_step == 0
    assert all(torch.equal(p, b) for p, b in zip(params(module), before, strict=True))
    assert all(p.grad is None for p in module.parameters())
    assert trainer._carried is not None and trainer._carried.micro_batches == 3
    accumulate(reference, x, y, 4)
    # The carried gradients are the sum of the micro-batches' (loss / 4).
    for g, r in zip(carried(trainer), reference.parameters(), strict=True):
        assert torch.equal(g, r.grad)
    run(trainer)
    assert trainer.global_step == 1
    assert trainer._carried is not None and trainer._carried.micro_batches == 2
    accumulate(reference, x[:2], y[:2], 4)
    with torch.no_grad():
        for r in reference.parameters():
            r -= r.grad
    for p, r in zip(params(module), params(reference), strict=True):
        torch.testing.assert_close(p, r, rtol=0, atol=0)


def test_carried_gradients_survive_save_and_load(tmp_path: Path) -> None:
    trainer, module = make(CARRY, n=6)
    empty, _ = make(CARRY, n=6)
    empty.save_state(tmp_path / "empty")
    run(trainer)
    trainer.save_state(tmp_path / "carrying")
    other, other_module = make(CARRY, n=6)
    other.load_state(tmp_path / "carrying")
    assert other._carried is not None and other._carried.micro_batches == 3
    for g, o in zip(carried(trainer), carried(other), strict=True):
        assert torch.equal(g, o)
    run(trainer)
    run(other)
    assert other.global_step == trainer.global_step == 1
    for p, o in zip(params(module), params(other_module), strict=True):
        torch.testing.assert_close(p, o, rtol=0, atol=0)
    # A state saved with nothing carried drops what is carried.
    other.load_state(tmp_path / "empty")
    assert other._carried is None


def test_a_state_loaded_mid_round_brings_back_its_carried_gradients(
    tmp_path: Path,
) -> None:
    trainer, module = make(CARRY, n=6)
    run(trainer)
    saved = [g.clone() for g in carried(trainer)]
    trainer.save_state(tmp_path / "carrying")
    run(trainer)

    def load_and_interrupt() -> None:
        trainer.load_state(tmp_path / "carrying")
        raise TrainingInterrupted("a state was loaded")

    trainer.pause_point = load_and_interrupt  # type: ignore[method-assign]
    # Restores the 2 carried, steps after 2 more micro-batches: the load comes there.
    assert not trainer.run()
    assert trainer._carried is not None and trainer._carried.micro_batches == 3
    for g, s in zip(carried(trainer), saved, strict=True):
        assert torch.equal(g, s)
    assert all(p.grad is None for p in module.parameters())


def test_carried_gradients_follow_a_changed_accumulation() -> None:
    trainer, module = make(CARRY, n=6)
    x, y = trainer.data
    run(trainer)
    # Raised to 8: the 3 carried and the round's 3 make 6, carried again, each
    # micro-batch's loss now counted / 8.
    trainer.tunables()["gradient_accumulation_steps"].set(8)
    run(trainer)
    assert trainer.global_step == 0 and trainer._carried is not None
    assert trainer._carried.micro_batches == 6
    reference = nn.Linear(3, 1).double()
    reference.load_state_dict(module.state_dict())
    accumulate(reference, x, y, 8)
    accumulate(reference, x, y, 8)
    for g, r in zip(carried(trainer), reference.parameters(), strict=True):
        torch.testing.assert_close(g, r.grad, rtol=0, atol=1e-12)
    # Lowered to 4 or fewer: the 6 carried make a step of their own, their mean.
    trainer.tunables()["gradient_accumulation_steps"].set(4)
    trainer.config = trainer.config.model_copy(update={"max_steps_per_run": 1})
    before = params(module)
    run(trainer)
    assert trainer.global_step == 1 and trainer._carried is None
    for p, b, r in zip(params(module), before, reference.parameters(), strict=True):
        torch.testing.assert_close(p, b - r.grad * 8 / 6, rtol=0, atol=1e-12)


def test_runs_stop_at_max_steps_per_run_and_pause_after_each() -> None:
    trainer, _ = make({"batch_size": 3, "max_steps_per_run": 7}, forever=True)
    run(trainer)
    run(trainer)
    assert trainer.global_step == 14
    assert trainer.pauses == 14


def test_metrics_are_averaged_and_reported_every_log_every_steps() -> None:
    trainer, _ = make(
        {"batch_size": 2, "max_steps_per_run": 4, "log_every": 2, "lr": 0.01},
        forever=True,
    )
    seen: list[tuple[str, str, float, int]] = []
    trainer.bind_metrics("fit", lambda *args: seen.append(args))
    run(trainer)
    steps = sorted({s for *_, s in seen})
    assert steps == [2, 4]
    names = {n for _, n, _, s in seen if s == 2}
    assert names == {"loss", "lr", "grad_norm", "steps_per_s", "pred_mean"}
    assert all(source == "fit" for source, *_ in seen)
    assert trainer.last_metrics["lr"] == 0.01


def test_gradients_are_clipped_to_max_grad_norm() -> None:
    trainer, module = make({"batch_size": 8, "max_grad_norm": 0.01})
    before = params(module)
    run(trainer)
    change = torch.cat(
        [(p - b).flatten() for p, b in zip(params(module), before, strict=True)]
    )
    assert float(change.norm()) == pytest.approx(0.01, rel=1e-6)
    assert trainer.last_metrics["grad_norm"] > 0.01  # the norm before clipping


def test_scheduler_advances_once_per_optimizer_step() -> None:
    trainer, _ = make(
        {
            "batch_size": 2,
            "gradient_accumulation_steps": 2,
            "max_steps_per_run": 3,
            "lr_scheduler": {"name": "step", "step_size": 1, "gamma": 0.5},
        },
        forever=True,
    )
    run(trainer)
    assert trainer.lr_schedulers["lr_scheduler"].last_epoch == 3
    assert trainer.optimizers["optimizer"].param_groups[0]["lr"] == 0.125


def test_global_step_and_generator_survive_save_and_load(tmp_path: Path) -> None:
    trainer, _ = make(
        {"batch_size": 2, "max_steps_per_run": 3, "seed": 7}, forever=True
    )
    run(trainer)
    trainer.save_state(tmp_path / "t")
    expected = torch.rand(3, generator=trainer.generator)
    other, _ = make({"batch_size": 2, "max_steps_per_run": 3, "seed": 1}, forever=True)
    other.load_state(tmp_path / "t")
    assert other.global_step == 3
    assert torch.equal(torch.rand(3, generator=other.generator), expected)


def test_configuration_mapping_is_validated() -> None:
    with pytest.raises(ValidationError, match="gradient_accumulation_steps"):
        LinearFit({"gradient_accumulation_steps": 0})
    with pytest.raises(ValueError, match="models"):
        ConfigDrivenTrainer.__init__(LinearFit.__new__(LinearFit), {}, [])


@pytest.mark.parametrize("max_norm", [None, 1e-3, 0.5, 1e6])
def test_clipping_gives_torch_s_norm_and_gradients(max_norm: float | None) -> None:
    def gradients(seed: int) -> list[nn.Parameter]:
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
        net(torch.randn(32, 4)).pow(2).sum().backward()
        return list(net.parameters())

    ours, theirs = gradients(0), gradients(0)
    norm = clip_gradients(ours, max_norm)
    if max_norm is None:
        expected = torch.nn.utils.get_total_norm([p.grad for p in theirs])
    else:
        expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert float(norm) == pytest.approx(float(expected), rel=1e-6)
    for a, b in zip(ours, theirs, strict=True):
        assert a.grad is not None and b.grad is not None
        torch.testing.assert_close(a.grad, b.grad)
    if max_norm is not None and max_norm < float(expected):
        clipped = torch.nn.utils.get_total_norm([p.grad for p in ours])
        assert float(clipped) == pytest.approx(max_norm, rel=1e-4)
