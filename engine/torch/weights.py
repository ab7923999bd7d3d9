"""Module weights on disk: safetensors, never pickle.

Tensors are copied into the module's existing parameters and buffers, so they
land on the module's device and dtype and the module keeps its identity (any
optimizer holding its parameters stays valid).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_model
from torch import nn


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
    install_weights(module, read_weights(module, file))


def read_weights(module: nn.Module, file: str | Path) -> dict[str, torch.Tensor]:
    """Read weights for ``module`` into CPU memory and check they fit it, without changing it.

    They stay on the CPU (a read ahead must not take accelerator memory from a
    running system); :func:`install_weights` copies them to the module's device.

    Args:
        module: The module the weights are for.
        file: See :func:`load_weights`.

    Returns:
        The state dict, for :func:`install_weights`.

    Raises:
        RuntimeError: Naming missing, unexpected and wrongly shaped entries.
    """
    file = Path(file)
    if file.suffix == ".safetensors":
        state = load_file(str(file), device="cpu")
    else:
        state = torch.load(file, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise RuntimeError(f"{file.name}: expected a state dict of tensors")
    _check_fits(module, state, file)
    return state


def install_weights(module: nn.Module, state: dict[str, Any]) -> None:
    """Copy weights from :func:`read_weights` into the module's own tensors."""
    with torch.no_grad():
        # Checked by read_weights; entries absent from a safetensors file are
        # tied to one that is present and receive its values through it.
        module.load_state_dict(state, strict=False)


def _storage(value: Any) -> int | None:
    if not isinstance(value, torch.Tensor) or not value.numel():
        return None
    return value.untyped_storage().data_ptr()


def _check_fits(module: nn.Module, state: dict[str, Any], file: Path) -> None:
    expected = module.state_dict()
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {_shape(v)} (model: {_shape(expected[k])})"
        for k, v in state.items()
        if k in expected
        and isinstance(expected[k], torch.Tensor)
        and (not isinstance(v, torch.Tensor) or v.shape != expected[k].shape)
    ]
    # safetensors stores tensors that share memory (tied weights, views) once.
    present = {_storage(t) for k, t in expected.items() if k in state} - {None}
    missing = [
        k for k, t in expected.items() if k not in state and _storage(t) not in present
    ]
    problems = [
        f"{label}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"
        for label, names in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", wrong),
        )
        if names
    ]
    if problems:
        raise RuntimeError(
            f"{file.name} does not fit {type(module).__name__} ({'; '.join(problems)})"
        )


def _shape(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return str(tuple(value.shape))
    return type(value).__name__
