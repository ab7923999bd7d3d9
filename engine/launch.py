"""PAMIQ-Core's blocking entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .data import DataBuffer
from .interaction import Interaction
from .launch_config import LaunchConfig
from .model import TrainingModel
from .runtime.trainer_contract import TrainerLike
from .system import System


def launch(
    interaction: Interaction[Any, Any],
    models: Mapping[str, TrainingModel[Any]],
    buffers: Mapping[str, DataBuffer[Any, Any]],
    trainers: Mapping[str, TrainerLike],
    config: Mapping[str, Any] | LaunchConfig | None = None,
) -> None:
    """Run the system until it stops, then save a final state.

    Ctrl-C, SIGTERM and SIGHUP (a closed terminal) stop it in order. Stops on
    ``max_uptime``, on a shutdown request (``pamiq-console shutdown``, the web
    API), or when a thread raises. While it runs it serves the console (see
    :attr:`LaunchConfig.console`).

    Args:
        interaction: The agent-environment loop.
        models: Training models by name.
        buffers: Data buffers by name.
        trainers: Trainers by name.
        config: A :class:`LaunchConfig`, a mapping of its fields, or None.

    Raises:
        SystemFailedError: If a thread raised (after the final save).
    """
    System(interaction, models, buffers, trainers, config).run()
