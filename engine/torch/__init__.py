"""PyTorch models for the engine (PAMIQ-Core's ``pamiq_core.torch`` model half).

Importing :mod:`engine` never imports torch; only this package does.
"""

try:
    import torch  # noqa: F401 - fail here, with the way to install it
except ModuleNotFoundError as e:
    raise ModuleNotFoundError(
        "engine.torch needs PyTorch, which is not installed: "
        "pip install 'pamiq-console[torch]'"
    ) from e

from .agent import TorchAgent
from .device import default_infer_procedure, get_device
from .inference import InferenceProcedureCallable, TorchInferenceModel
from .training import TorchTrainingModel
from .weights import load_weights, save_weights

__all__ = [
    "InferenceProcedureCallable",
    "TorchAgent",
    "TorchInferenceModel",
    "TorchTrainingModel",
    "default_infer_procedure",
    "get_device",
    "load_weights",
    "save_weights",
]
