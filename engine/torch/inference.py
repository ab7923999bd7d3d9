"""The inference side of a torch model: double-buffered modules the agent never waits on.

The inference model holds two copies of the network. One is *current*: every
inference call runs on it. The other is the *spare*: a sync copies fresh weights
into it and then makes it current with one reference assignment. Each copy
carries a list of tokens, one per inference call running on it; the training
thread copies into the spare only once that list is empty. (Only when the spare
is still in use at a sync, because syncs come back to back, is a third copy
made, so the training thread does not wait either; see ``_publish``.) An inference call
adds its token and then re-checks that the copy is still current (retrying if
not), so it never runs on a copy being overwritten, and it never waits: only
the training thread ever waits, and a call that leaves a copy the training
thread waits for wakes it (one attribute read per call otherwise).
``list.append``/``list.pop`` are atomic, which keeps this correct with several
inference threads too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

import torch
from torch import nn
from typing_extensions import override

from ..model import InferenceModel
from .device import default_infer_procedure, get_device

T = TypeVar("T", bound=nn.Module)

# The C++ guard behind ``torch.inference_mode()``: entering it directly costs
# ~0.5 us against ~1.3 us for the Python wrapper, which matters on a call that
# runs a 20 us network. The wrapper stays the fallback should torch move it.
_inference_mode: Callable[[bool], Any] = getattr(
    torch._C, "_InferenceMode", torch.inference_mode
)

_WAIT_SAFETY_TIMEOUT = 0.01
T_contra = TypeVar("T_contra", bound=nn.Module, contravariant=True)


class InferenceProcedureCallable(Protocol[T_contra]):
    """How the inference model is called: ``procedure(model, *args, **kwds)``."""

    def __call__(self, model: T_contra, /, *args: Any, **kwds: Any) -> Any:
        """Run inference with ``model`` and return its result."""
        ...


class _Slot(Generic[T]):
    """One copy of the network and the tokens of the calls running on it."""

    __slots__ = ("device", "module", "users", "waiter")

    def __init__(self, module: T) -> None:
        self.module = module
        # Fixed for the copy's life: a sync into a copy on another device makes
        # a new copy (see TorchTrainingModel._copy_into).
        self.device = get_device(module)
        self.users: list[None] = []
        self.waiter: threading.Event | None = None

    def release(self) -> None:
        self.users.pop()
        waiter = self.waiter
        if waiter is not None:
            waiter.set()


class TorchInferenceModel(InferenceModel, Generic[T]):
    """A torch module used by the agent; inference runs under ``torch.inference_mode``.

    Attributes:
        max_retired_copies: Copies kept besides the current one (1 is double
            buffering; a second is made only if a sync finds the first in use).

    Args:
        model: The module to run (put in eval mode).
        inference_procedure: Called as ``inference_procedure(model, *args, **kwds)``.
    """

    def __init__(
        self, model: T, inference_procedure: InferenceProcedureCallable[T]
    ) -> None:
        model.eval()
        self._current: _Slot[T] = _Slot(model)
        # Copies no new call can pick; the oldest first.
        self._retired: list[_Slot[T]] = []
        self._inference_procedure = inference_procedure
        # The default procedure is run inline with the copy's cached device: it
        # looked the device up by walking the parameters on every call (~2 us).
        self._default_procedure = inference_procedure is default_infer_procedure
        self.max_retired_copies = 2

    def _acquire(self) -> _Slot[T]:
        while True:
            slot = self._current
            slot.users.append(None)
            if slot is self._current:
                return slot
            # A sync swapped copies between our read and our token: that copy
            # may be overwritten next, so take the new current one instead.
            slot.release()

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
            with _inference_mode(True):
                if self._default_procedure:
                    device = slot.device
                    if _off_device(args, device):
                        args = tuple(_to(a, device) for a in args)
                    if kwds and _off_device(kwds.values(), device):
                        kwds = {k: _to(v, device) for k, v in kwds.items()}
                    return slot.module(*args, **kwds)
                return self._inference_procedure(slot.module, *args, **kwds)
        finally:
            slot.release()

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
            # The C++ guard, as infer() uses: an agent may unwrap every step.
            with _inference_mode(inference_mode):
                yield slot.module
        finally:
            slot.release()

    def _publish(
        self, copy_into: Callable[[T], bool], make_spare: Callable[[], T]
    ) -> None:
        """Write new weights into a retired copy and make it current (training side).

        A retired copy that no call is using is written at once. When every
        retired copy is still in use (syncs back to back with a slow or
        GIL-starved agent), one more copy is made, up to
        :attr:`max_retired_copies`; beyond that the oldest is waited for.

        Args:
            copy_into: Copies the new weights into a module; returns False when
                the module's layout does not match (a fresh copy is then made).
            make_spare: Builds a new module holding the new weights.
        """
        target = next((s for s in self._retired if not s.users), None)
        if target is None and len(self._retired) < self.max_retired_copies:
            fresh: _Slot[T] = _Slot(make_spare())
            fresh.module.eval()
            self._retire_current(fresh)
            return
        if target is None:
            target = self._retired[0]
            _wait_until_unused(target)
        self._retired.remove(target)
        if not copy_into(target.module):
            target = _Slot(make_spare())
            target.module.eval()
        self._retire_current(target)

    def _retire_current(self, new: _Slot[T]) -> None:
        self._retired.append(self._current)
        self._current = new


def _off_device(values: Iterable[Any], device: torch.device) -> bool:
    """Whether some tensor among ``values`` is not on ``device`` (usually none is)."""
    for value in values:
        if isinstance(value, torch.Tensor) and value.device != device:
            return True
    return False


def _to(value: Any, device: torch.device) -> Any:
    return value.to(device) if isinstance(value, torch.Tensor) else value


def _wait_until_unused(slot: _Slot[Any]) -> None:
    # Only calls that started before the previous swap can still hold the spare,
    # so this wait is at most one inference call long (usually zero).
    if not slot.users:
        return
    # Publish the waiter before re-checking: a call that leaves after this
    # check reads the waiter and sets it; one that left before is not counted.
    event = threading.Event()
    slot.waiter = event
    try:
        while slot.users:
            event.wait(_WAIT_SAFETY_TIMEOUT)
            event.clear()
    finally:
        slot.waiter = None
