"""Where a module lives, and the default way to call it with inputs moved there."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def get_device(
    module: nn.Module, default_device: torch.device | str | None = None
) -> torch.device:
    """Return the device of the module's first parameter (or buffer).

    Args:
        module: The module to inspect.
        default_device: Returned when the module has no tensors; torch's default
            device when None.

    Returns:
        The device the module runs on.
    """
    for param in module.parameters():
        return param.device
    for buffer in module.buffers():
        return buffer.device
    if default_device is None:
        return torch.get_default_device()
    return torch.device(default_device)


def default_infer_procedure(model: nn.Module, *args: Any, **kwds: Any) -> Any:
    """Call ``model`` after moving tensor arguments to its device.

    Args:
        model: The module to call.
        *args: Positional inputs; tensors are moved to the model's device.
        **kwds: Keyword inputs; tensors are moved to the model's device.

    Returns:
        Whatever the model returns.
    """
    device = get_device(model)
    args = tuple(a.to(device) if isinstance(a, torch.Tensor) else a for a in args)
    kwds = {
        k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in kwds.items()
    }
    return model(*args, **kwds)
