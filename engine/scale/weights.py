"""Reading a training model's weights on the learner and installing them in an actor.

A torch model (:class:`~engine.torch.TorchTrainingModel`) ships its state dict
as numpy arrays, which Ray's object store holds once and every actor on a node
reads without a copy. Any other model can take part by defining
``scale_weights() -> object`` (a picklable snapshot) and
``install_scale_weights(weights)``. On the actor the weights go into the
actor's own training model and then through its ordinary ``sync()``, so the
agent sees them exactly as it sees an in-process sync (the torch inference
side is double-buffered: the agent never waits).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np

from ..model import TrainingModel


class WeightsNotShippableError(TypeError):
    """A synced model whose weights the scale backend cannot read or install."""


def ships_weights(model: TrainingModel[Any]) -> bool:
    """Whether syncs of ``model`` are published to actors (frozen models are not)."""
    return model.has_inference_model and not model.inference_thread_only


def _torch_module(model: TrainingModel[Any]) -> Any:
    if "torch" not in sys.modules:
        return None
    from ..torch.training import TorchTrainingModel

    return model.model if isinstance(model, TorchTrainingModel) else None


def check_shippable(name: str, model: TrainingModel[Any]) -> None:
    """Raise if ``model`` is synced but its weights cannot be shipped.

    Raises:
        WeightsNotShippableError: Saying what the model needs.
    """
    if not ships_weights(model) or hasattr(model, "scale_weights"):
        return
    if _torch_module(model) is None:
        raise WeightsNotShippableError(
            f"model {name!r} ({type(model).__name__}): the ray backend cannot ship "
            "its weights; use a TorchTrainingModel or give the model "
            "scale_weights() and install_scale_weights(weights)"
        )


def read_model_weights(model: TrainingModel[Any]) -> Any:
    """A snapshot of ``model``'s training weights (numpy arrays for torch)."""
    custom = getattr(model, "scale_weights", None)
    if custom is not None:
        return custom()
    module = _torch_module(model)
    weights: dict[str, Any] = {}
    for key, tensor in module.state_dict().items():
        tensor = tensor.detach().cpu()
        try:
            weights[key] = tensor.numpy()
        except TypeError:  # a dtype numpy lacks (bfloat16): ship the tensor
            weights[key] = tensor
    return weights


def install_model_weights(model: TrainingModel[Any], weights: Any) -> None:
    """Put ``weights`` into ``model``'s training side, then sync it to its agent."""
    custom = getattr(model, "install_scale_weights", None)
    if custom is not None:
        custom(weights)
    else:
        import torch

        from ..torch.weights import install_weights

        with warnings.catch_warnings():
            # Ray's arrays are read-only views of shared memory; the install
            # copies them into the module, so nothing ever writes through.
            warnings.simplefilter("ignore", UserWarning)
            state = {
                k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                for k, v in weights.items()
            }
        install_weights(_torch_module(model), state)
    model.sync()
