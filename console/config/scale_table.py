"""The ``[scale]`` table: which backend acts (schema: :class:`engine.scale.ScaleConfig`).

The console runs the embedded ``threads`` backend. A ``"ray"`` backend is
checked like every other value and then refused with one line, because the
console does not build actors yet: Ray runs are made from Python with
:func:`engine.scale.build_system` (docs/scale.md). Refusing is better than
running a config on one thread that asked for many actors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.scale.config import ScaleConfig, ScaleConfigError

from .errors import ConfigError


def check_scale_table(file: Path, raw: Mapping[str, Any]) -> ScaleConfig:
    """The config's ``[scale]`` settings (the defaults when it has none).

    Raises:
        ConfigError: For a bad value, ``actors > 1``, or ``backend = "ray"``.
    """
    table = raw.get("scale")
    try:
        config = ScaleConfig.from_value(table)
    except ScaleConfigError as e:
        raise ConfigError(
            file, f"scale.{e.key}" if e.key else "scale", e.problem
        ) from None
    if config.uses_ray:
        raise ConfigError(
            file,
            "scale.backend",
            '"ray" is not run by the console yet: build the run from Python with '
            'engine.scale.build_system (docs/scale.md), or use "threads"',
        )
    if config.actors != 1:
        raise ConfigError(
            file, "scale.actors", f'{config.actors} actors need backend = "ray"'
        )
    return config
