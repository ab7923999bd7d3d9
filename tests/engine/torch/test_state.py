"""Weights on disk: safetensors round trip, dtype/device on load, pretrained files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from engine.model import TrainingModelsDict
from engine.torch import TorchTrainingModel, load_weights, save_weights


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(3, 3, bias=False)
        self.out = nn.Linear(3, 3, bias=False)
        self.out.weight = self.embed.weight
        self.norm = nn.BatchNorm1d(3)


def seeded(seed: int) -> Tied:
    torch.manual_seed(seed)
    module = Tied()
    with torch.no_grad():
        module.norm.running_mean.uniform_()
    return module


def assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key].to(sb[key].dtype), sb[key]), key


def test_round_trip_keeps_identity_and_the_container_updates_the_agent(
    tmp_path: Path,
) -> None:
    source = TorchTrainingModel(seeded(0))
    (tmp_path / "models").mkdir()
    source.save_state(tmp_path / "models" / "model")
    file = tmp_path / "models" / "model.safetensors"
    assert file.exists()
    assert set(load_file(str(file))) <= set(source.model.state_dict())

    target = TorchTrainingModel(seeded(1))
    module, weight = target.model, target.model.embed.weight
    inference = target.inference_model
    # As in PAMIQ-Core, the model loads its training side and the container
    # publishes it to the agent.
    target.load_state(tmp_path / "models" / "model")
    assert target.model is module and target.model.embed.weight is weight
    assert target.model.out.weight is target.model.embed.weight
    assert_same_state(source.model, target.model)
    assert_same_state(seeded(1), inference._raw_model)
    TrainingModelsDict({"model": target}).load_state(tmp_path / "models")
    assert_same_state(source.model, inference._raw_model)
    assert target.sync_version == 1


def test_load_casts_to_the_models_dtype_and_device(tmp_path: Path) -> None:
    save_weights(seeded(0), tmp_path / "w.safetensors")
    target = TorchTrainingModel(seeded(1), device="cpu", dtype=torch.float64)
    target.load_state(tmp_path / "w")  # engine path without suffix
    assert target.model.embed.weight.dtype == torch.float64
    assert target.model.norm.num_batches_tracked.dtype == torch.int64
    assert target.model.embed.weight.device == torch.device("cpu")
    assert_same_state(seeded(0), target.model)


def test_mismatched_file_is_refused(tmp_path: Path) -> None:
    save_weights(nn.Linear(2, 2), tmp_path / "w.safetensors")
    with pytest.raises(RuntimeError):
        load_weights(seeded(0), tmp_path / "w.safetensors")


def test_read_ahead_changes_nothing_until_committed(tmp_path: Path) -> None:
    source = TorchTrainingModel(seeded(0))
    source.save_state(tmp_path / "model")
    target = TorchTrainingModel(seeded(1))
    inference = target.inference_model
    commit = target.prepare_load(tmp_path / "model")
    assert_same_state(seeded(1), target.model)
    assert_same_state(seeded(1), inference._raw_model)
    commit()
    assert_same_state(source.model, target.model)
    target.sync()  # what the system does after every load
    assert_same_state(source.model, inference._raw_model)


def test_weights_that_do_not_fit_are_refused_before_anything_changes(
    tmp_path: Path,
) -> None:
    save_weights(nn.Linear(3, 2), tmp_path / "model.safetensors")
    target = TorchTrainingModel(seeded(1))
    with pytest.raises(RuntimeError, match="does not fit Tied.*missing.*unexpected"):
        target.prepare_load(tmp_path / "model")
    assert_same_state(seeded(1), target.model)


def test_pretrained_parameter_file_safetensors_and_weights_only(tmp_path: Path) -> None:
    save_weights(seeded(0), tmp_path / "pre.safetensors")
    model = TorchTrainingModel(
        seeded(1), pretrained_parameter_file=tmp_path / "pre.safetensors"
    )
    assert_same_state(seeded(0), model.model)
    torch.save(seeded(2).state_dict(), tmp_path / "pre.pt")
    model = TorchTrainingModel(
        seeded(1), pretrained_parameter_file=str(tmp_path / "pre.pt")
    )
    assert_same_state(seeded(2), model.model)


def test_pickled_objects_are_not_loaded(tmp_path: Path) -> None:
    torch.save({"weight": object()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_weights(nn.Linear(1, 1), tmp_path / "evil.pt")


def test_importing_engine_does_not_import_torch() -> None:
    code = (
        "import sys, engine, engine.telemetry.metrics_log; "
        "assert 'torch' not in sys.modules, 'engine imported torch'"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3]
    )
