"""The ``[scale]`` table: which backend acts (schema: :class:`engine.scale.ScaleConfig`).

``"threads"`` (the default) is the embedded engine. ``"ray"`` runs the
config's ``[interaction]`` and ``[models]`` in ``actors`` Ray actors feeding
the learner (see :mod:`console.config.actor_factory`); it needs the ``ray``
extra, and a config that asks for it without the extra is refused with one
line naming it, rather than run on one thread.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.scale.config import ScaleConfig, ScaleConfigError

from .errors import ConfigError

RAY_EXTRA_HINT = "needs the ray extra: pip install -e '.[ray]' (or pip install ray)"


def ray_installed() -> bool:
    """Whether Ray can be imported (without importing it: that takes seconds)."""
    try:
        return importlib.util.find_spec("ray") is not None
    except ValueError:  # a module named ray whose spec is unset
        return False


def check_scale_table(file: Path, raw: Mapping[str, Any]) -> ScaleConfig:
    """The config's ``[scale]`` settings (the defaults when it has none).

    Raises:
        ConfigError: For a bad value, ``actors > 1`` without Ray, or
            ``backend = "ray"`` without the ray extra.
    """
    table = raw.get("scale")
    try:
        config = ScaleConfig.from_value(table)
    except ScaleConfigError as e:
        raise ConfigError(
            file, f"scale.{e.key}" if e.key else "scale", e.problem
        ) from None
    if config.uses_ray and not ray_installed():
        raise ConfigError(file, "scale.backend", f'"ray" {RAY_EXTRA_HINT}')
    if not config.uses_ray and config.actors != 1:
        raise ConfigError(
            file, "scale.actors", f'{config.actors} actors need backend = "ray"'
        )
    return config
