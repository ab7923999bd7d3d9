"""The inference side of a torch model: double-buffered modules the agent never waits on.

The inference model holds two copies of the network. One is *current*: every
inference call runs on it. The other is the *spare*: a sync copies fresh weights
into it and then makes it current with one reference assignment. Each copy
carries a list of tokens, one per inference call running on it; the training
thread copies into the spare only once that list is empty. An inference call
adds its token and then re-checks that the copy is still current (retrying if
not), so it never runs on a copy being overwritten, and it never waits: only
the training thread ever waits. ``list.append``/``list.pop`` are atomic, which
keeps this correct with several inference threads too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

import torch
from torch import nn
from typing_extensions import override

from ..model import InferenceModel

T = TypeVar("T", bound=nn.Module)
T_contra = TypeVar("T_contra", bound=nn.Module, contravariant=True)


class InferenceProcedureCallable(Protocol[T_contra]):
    """How the inference model is called: ``procedure(model, *args, **kwds)``."""

    def __call__(self, model: T_contra, /, *args: Any, **kwds: Any) -> Any:
        """Run inference with ``model`` and return its result."""
        ...


class _Slot(Generic[T]):
    """One copy of the network and the tokens of the calls running on it."""

    __slots__ = ("module", "users")

    def __init__(self, module: T) -> None:
        self.module = module
        self.users: list[None] = []


class TorchInferenceModel(InferenceModel, Generic[T]):
    """A torch module used by the agent; inference runs under ``torch.inference_mode``.

    Args:
        model: The module to run (put in eval mode).
        inference_procedure: Called as ``inference_procedure(model, *args, **kwds)``.
    """

    def __init__(
        self, model: T, inference_procedure: InferenceProcedureCallable[T]
    ) -> None:
        model.eval()
        self._current: _Slot[T] = _Slot(model)
        self._spare: _Slot[T] | None = None
        self._inference_procedure = inference_procedure

    def _acquire(self) -> _Slot[T]:
        while True:
            slot = self._current
            slot.users.append(None)
            if slot is self._current:
                return slot
            # A sync swapped copies between our read and our token: that copy
            # may be overwritten next, so take the new current one instead.
            slot.users.pop()

    @property
    def _raw_model(self) -> T:
        """The module inference currently runs on (for internal and typing use)."""
        return self._current.module

    @override
    def infer(self, *args: Any, **kwds: Any) -> Any:
        """Run the inference procedure on the current weights, without gradients.

        Args:
            *args: Passed to the inference procedure.
            **kwds: Passed to the inference procedure.

        Returns:
            The procedure's result.
        """
        slot = self._acquire()
        try:
            with torch.inference_mode():
                return self._inference_procedure(slot.module, *args, **kwds)
        finally:
            slot.users.pop()

    @contextmanager
    def unwrap(self, inference_mode: bool = True) -> Iterator[T]:
        """Use the raw module directly; its weights do not change inside the block.

        Args:
            inference_mode: Run the block under ``torch.inference_mode``.

        Yields:
            The current module. Do not keep it after the block: a later sync
            may overwrite it.
        """
        slot = self._acquire()
        try:
            with torch.inference_mode(inference_mode):
                yield slot.module
        finally:
            slot.users.pop()

    def _publish(
        self, copy_into: Callable[[T], bool], make_spare: Callable[[], T]
    ) -> None:
        """Write new weights into the spare copy and make it current (training side).

        Args:
            copy_into: Copies the new weights into a module; returns False when
                the module's layout does not match (a fresh spare is then made).
            make_spare: Builds a new spare module holding the new weights.
        """
        spare = self._spare
        if spare is None:
            spare = _Slot(make_spare())
            spare.module.eval()
        else:
            _wait_until_unused(spare)
            if not copy_into(spare.module):
                spare = _Slot(make_spare())
                spare.module.eval()
        self._spare = self._current
        self._current = spare


def _wait_until_unused(slot: _Slot[Any]) -> None:
    # Only calls that started before the previous swap can still hold the spare,
    # so this wait is at most one inference call long (usually zero).
    delay = 0.0
    while slot.users:
        time.sleep(delay)
        delay = min(max(delay * 2, 1e-5), 1e-3)
