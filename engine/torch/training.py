"""The training side of a torch model (PAMIQ-Core's ``TorchTrainingModel``)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

import torch
from torch import nn
from typing_extensions import override

from ..model import TrainingModel
from ..state.persistence import Commit
from .device import default_infer_procedure, get_device
from .inference import InferenceProcedureCallable, TorchInferenceModel
from .layout import TensorCache
from .weights import install_weights, load_weights, read_weights, save_weights

T = TypeVar("T", bound=nn.Module)

_set_grad_enabled = torch._C._set_grad_enabled

WEIGHTS_SUFFIX = ".safetensors"


def tensors_finite(tensors: Iterable[torch.Tensor]) -> bool:
    """Whether every value of every tensor is finite (one reduction per tensor).

    A tensor's sum is not finite when any element is NaN or infinite (or when
    the sum overflows, which is divergence too); one stack of the sums means
    one synchronisation with the device.
    """
    sums = [t.detach().float().sum() for t in tensors]
    if not sums:
        return True
    device = sums[0].device
    stacked = torch.stack([s if s.device == device else s.to(device) for s in sums])
    return bool(torch.isfinite(stacked).all())


class TorchTrainingModel(TrainingModel[TorchInferenceModel[T]], Generic[T]):
    """A torch module trained on the training thread and published to the agent.

    The training module keeps its identity for the model's whole life: syncs
    copy its weights into the inference side (never swap it), so optimizers
    built on its parameters stay valid. The inference side is double-buffered
    (see :mod:`engine.torch.inference`), so a sync never makes the agent wait.
    Memory: a synced model exists three times (training, current, spare).

    Args:
        model: The module to train.
        has_inference_model: Create an inference model for the agent.
        inference_thread_only: The agent uses this very module and it is never
            trained or synced (a frozen pretrained network).
        device: Move the module here; None keeps it where it is.
        dtype: Cast floating-point parameters and buffers to this dtype.
        inference_procedure: How the agent's calls run the module: a callable
            ``procedure(module, *args, **kwds)`` or the name of a method of the
            module's class.
        pretrained_parameter_file: Weights to load at construction
            (``.safetensors``, or a state dict read with ``weights_only=True``).
        compile: Call ``module.compile()`` on every copy.

    Raises:
        AttributeError: If ``inference_procedure`` names no attribute of the class.
        ValueError: If ``inference_procedure`` names a non-callable attribute, or
            for the invalid flag combination (see :class:`TrainingModel`).
    """

    def __init__(
        self,
        model: T,
        has_inference_model: bool = True,
        inference_thread_only: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        inference_procedure: InferenceProcedureCallable[T]
        | str = default_infer_procedure,
        pretrained_parameter_file: str | Path | None = None,
        compile: bool = False,
    ) -> None:
        super().__init__(has_inference_model, inference_thread_only)
        if isinstance(inference_procedure, str):
            inference_procedure = _method_procedure(model, inference_procedure)
        if device is not None:
            model.to(device=device)
        if dtype is not None:
            model.to(dtype=dtype)
        self.model = model
        self._tensor_cache = TensorCache()
        self._inference_procedure = inference_procedure
        self._compile = compile
        if pretrained_parameter_file is not None:
            load_weights(model, pretrained_parameter_file)
        if compile:
            model.compile()

    def _copy(self) -> T:
        # deepcopy would clone every tensor while holding the GIL (a 50 MB
        # tensor stalls the agent for milliseconds): copy the structure around
        # empty tensors, then fill them with GIL-free copies.
        memo: dict[int, Any] = {
            id(p): nn.Parameter(torch.empty_like(p), requires_grad=p.requires_grad)
            for p in self.model.parameters()
        }
        memo.update({id(b): torch.empty_like(b) for b in self.model.buffers()})
        module = copy.deepcopy(self.model, memo)
        self._copy_into(module)
        if self._compile:
            module.compile()
        return module

    @override
    def _create_inference_model(self) -> TorchInferenceModel[T]:
        module = self.model if self.inference_thread_only else self._copy()
        return TorchInferenceModel(module, self._inference_procedure)

    def _copy_into(self, target: nn.Module) -> bool:
        cache = self._tensor_cache
        if cache.layout(self.model) != cache.layout(target):
            return False
        sources, targets = cache.tensors(self.model), cache.tensors(target)
        if not sources:
            return True  # a module without tensors has nothing to copy
        # One call for every tensor: each torch call releases the GIL, and
        # taking it back from an inference thread that is running Python
        # costs up to a switch interval, so a per-tensor loop paid that per
        # tensor (1M parameters: 0.48 ms per sync against 0.20 ms of copying).
        # The copy itself runs without the GIL, however long it is. Grad mode
        # is switched by the C++ call, not torch.no_grad()'s Python object.
        enabled = torch.is_grad_enabled()
        _set_grad_enabled(False)
        try:
            torch._foreach_copy_(targets, sources)
        finally:
            _set_grad_enabled(enabled)
        return True

    @override
    def sync_impl(self, inference_model: TorchInferenceModel[T]) -> None:
        """Copy the training weights into the spare inference copy, then swap it in.

        Waits (on the training thread only) for inference calls still running
        on the spare copy; the agent's calls never wait.

        Args:
            inference_model: This model's inference model.
        """
        inference_model._publish(self._copy_into, self._copy)

    @override
    def forward(self, *args: Any, **kwds: Any) -> Any:
        """Call the training module."""
        return self.model(*args, **kwds)

    def parameters_finite(self) -> bool:
        """Whether every parameter of the training module is finite (the guards ask)."""
        return tensors_finite(self.model.parameters())

    @property
    def device(self) -> torch.device:
        """The device of the training module."""
        return get_device(self.model)

    @staticmethod
    def weights_file(path: Path) -> Path:
        """The file under which the state for ``path`` is stored."""
        return path.parent / (path.name + WEIGHTS_SUFFIX)

    @override
    def save_state(self, path: Path) -> None:
        """Save the training module's weights to ``<path>.safetensors``.

        Args:
            path: Base path chosen by the engine.
        """
        save_weights(self.model, self.weights_file(path))

    @override
    def load_state(self, path: Path) -> None:
        """Load ``<path>.safetensors`` into the training module.

        The training module keeps its identity and device. As in PAMIQ-Core,
        publishing the loaded weights to the agent is the container's job:
        :class:`~engine.model.TrainingModelsDict` and the system sync every
        model after a load.

        Args:
            path: Base path chosen by the engine.
        """
        self.prepare_load(path)()

    @override
    def prepare_load(self, path: Path) -> Commit:
        """Read and check ``<path>.safetensors``; the commit copies it in.

        Args:
            path: Base path chosen by the engine.

        Raises:
            RuntimeError: If the weights do not fit the module.
        """
        state = read_weights(self.model, self.weights_file(path))

        def commit() -> None:
            install_weights(self.model, state)

        return commit


def _method_procedure(model: nn.Module, name: str) -> InferenceProcedureCallable[Any]:
    cls = type(model)
    if not hasattr(cls, name):
        raise AttributeError(
            f"inference_procedure: {cls.__name__} has no method named '{name}'"
        )
    method = getattr(cls, name)
    if not callable(method):
        raise ValueError(
            f"inference_procedure: {cls.__name__}.{name} is not a callable method"
        )
    return method
