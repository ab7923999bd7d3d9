"""An agent with typed access to torch inference models (PAMIQ-Core's ``TorchAgent``)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

from torch import nn

from ..interaction import Agent
from .inference import TorchInferenceModel

O = TypeVar("O")  # noqa: E741 - PAMIQ-Core's name
A = TypeVar("A")
M = TypeVar("M", bound=nn.Module)


class TorchAgent(Agent[O, A], Generic[O, A]):
    """An agent whose inference models are :class:`TorchInferenceModel` s."""

    def get_torch_inference_model(
        self,
        name: str,
        module_cls: type[M] = nn.Module,  # type: ignore[assignment]
    ) -> TorchInferenceModel[M]:
        """Return the inference model ``name``, checking its type.

        Args:
            name: The model's name.
            module_cls: The module class it must wrap.

        Raises:
            KeyError: If there is no such model.
            ValueError: If it is not a :class:`TorchInferenceModel`.
            TypeError: If its module is not a ``module_cls``.
        """
        model = self.get_inference_model(name)
        if not isinstance(model, TorchInferenceModel):
            raise ValueError(f"model '{name}' is not a TorchInferenceModel")
        if not isinstance(model._raw_model, module_cls):
            raise TypeError(
                f"model '{name}' wraps {type(model._raw_model).__name__}, "
                f"not {module_cls.__name__}"
            )
        return cast(TorchInferenceModel[Any], model)
