"""Module weights on disk: safetensors, never pickle.

Tensors are copied into the module's existing parameters and buffers, so they
land on the module's device and dtype and the module keeps its identity (any
optimizer holding its parameters stays valid).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_model, save_model
from torch import nn

from .device import get_device


def save_weights(module: nn.Module, file: Path) -> None:
    """Write the module's state dict to a safetensors file (tied tensors once).

    Args:
        module: The module to save.
        file: The ``.safetensors`` file to write.
    """
    save_model(module, str(file))


def load_weights(module: nn.Module, file: str | Path) -> None:
    """Load a safetensors file (or a ``weights_only`` torch file) into ``module``.

    Args:
        module: The module whose tensors receive the weights in place.
        file: A ``.safetensors`` file, or a file ``torch.save`` wrote with a
            plain state dict (read with ``weights_only=True``).

    Raises:
        RuntimeError: If keys or shapes do not match the module.
    """
    file = Path(file)
    device = get_device(module, "cpu")
    with torch.no_grad():
        if file.suffix == ".safetensors":
            load_model(module, file, strict=True, device=str(device))
        else:
            state = torch.load(file, map_location=device, weights_only=True)
            module.load_state_dict(state, strict=True)
