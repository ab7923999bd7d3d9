"""TorchInferenceModel calls: inference mode, device handling, procedures, unwrap."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.torch import (
    TorchInferenceModel,
    TorchTrainingModel,
    default_infer_procedure,
    get_device,
)


class Doubler(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale

    def negate(self, x: torch.Tensor) -> torch.Tensor:
        return -self.forward(x)

    not_callable = 3


def test_infer_runs_under_inference_mode_on_a_copy() -> None:
    model = TorchTrainingModel(Doubler())
    inference = model.inference_model
    out = inference(torch.ones(3))
    assert torch.equal(out, torch.full((3,), 2.0))
    assert out.is_inference() and not out.requires_grad
    assert inference._raw_model is not model.model
    assert not inference._raw_model.training


def test_inference_procedure_by_method_name() -> None:
    model = TorchTrainingModel(Doubler(), inference_procedure="negate")
    assert torch.equal(model.inference_model(torch.ones(2)), torch.full((2,), -2.0))


def test_bad_inference_procedure_names_are_clear() -> None:
    with pytest.raises(AttributeError, match="no method named 'missing'"):
        TorchTrainingModel(Doubler(), inference_procedure="missing")
    with pytest.raises(ValueError, match="not a callable"):
        TorchTrainingModel(Doubler(), inference_procedure="not_callable")


def test_inference_thread_only_shares_the_module() -> None:
    module = Doubler()
    model = TorchTrainingModel(module, inference_thread_only=True)
    assert model.inference_model._raw_model is module
    model.sync()
    assert model.sync_version == 0


def test_no_inference_model() -> None:
    model = TorchTrainingModel(Doubler(), has_inference_model=False)
    with pytest.raises(RuntimeError):
        _ = model.inference_model
    model.sync()
    assert model.sync_version == 0


def test_unwrap_gives_the_current_module() -> None:
    model = TorchTrainingModel(Doubler())
    with model.inference_model.unwrap() as module:
        assert module is model.inference_model._raw_model
        assert torch.is_inference_mode_enabled()
    with model.inference_model.unwrap(inference_mode=False):
        assert not torch.is_inference_mode_enabled()


def test_default_procedure_and_get_device() -> None:
    module = Doubler()
    assert get_device(module) == torch.device("cpu")
    assert get_device(nn.Identity(), "cpu") == torch.device("cpu")
    assert torch.equal(
        default_infer_procedure(module, torch.ones(1)), torch.ones(1) * 2
    )
    wrapped = TorchInferenceModel(Doubler(), default_infer_procedure)
    assert wrapped(x=torch.ones(1)).item() == 2.0


def test_device_and_dtype_arguments() -> None:
    model = TorchTrainingModel(Doubler(), device="cpu", dtype=torch.float64)
    assert model.model.scale.dtype == torch.float64
    assert model.device == torch.device("cpu")
    assert model.inference_model._raw_model.scale.dtype == torch.float64


def test_engine_torch_without_torch_says_how_to_install_it() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n"
        "    import engine.torch\n"
        "except ModuleNotFoundError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == (
        "engine.torch needs PyTorch, which is not installed: "
        "pip install 'pamiq-console[torch]'"
    ), out.stderr
