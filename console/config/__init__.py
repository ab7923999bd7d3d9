"""Run configuration: a TOML file checked in full, then built into a :class:`engine.System`.

A config names every component by import path (``target = "package.module:Name"``)
with its constructor arguments as the other keys of the same table. Any table
(or inline table) that has a ``target`` key is built recursively, so a network
can be an argument of a model. Everything is checked before anything runs:
unknown keys, wrong types, import paths, argument names, and the names that
trainers and agents use for buffers and models. Each problem is reported as one
line ``FILE: key.path: problem`` (:class:`ConfigError`).

Checking a config imports the modules it names, so their import-time code runs
(that is how import paths work); ``pamiq-console validate`` does the same.

Relative paths (``system.runs_dir``, ``system.run_dir``, ``system.states_dir``,
``--states-dir``, ``--load``) are relative to the current working directory, like
any path that a component opens; run the sample configs from the repository root.

The modules: :mod:`.errors` (the one-line error), :mod:`.system_table` (the
``[system]`` schema and the run's settings), :mod:`.scale_table` and
:mod:`.dashboard_table` (``[scale]``, ``[dashboard]``), :mod:`.imports` (import paths),
:mod:`.value_types` (values against annotations), :mod:`.components` (one table
into its object), :mod:`.builder` (a run's components, cross-references, wiring
into a system), :mod:`.actor_factory` (a Ray actor's parts, from the same tables).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .builder import (
    TRAINING_CONFIG_KWARG,
    TRAINING_CONFIG_TARGET,
    BuiltRun,
    build,
    training_configuration,
)
from .components import INTERACTION_KEYS, ComponentBuilder
from .errors import ConfigError
from .imports import import_target, importable_from
from .system_table import (
    SECTIONS,
    RunSettings,
    SystemTable,
    apply_overrides,
    resolve_settings,
)

__all__ = [
    "INTERACTION_KEYS",
    "SECTIONS",
    "TRAINING_CONFIG_KWARG",
    "TRAINING_CONFIG_TARGET",
    "BuiltRun",
    "ComponentBuilder",
    "ConfigError",
    "RunSettings",
    "SystemTable",
    "apply_overrides",
    "build",
    "import_target",
    "load",
    "load_toml",
    "resolve_settings",
    "training_configuration",
]


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file.

    Raises:
        ConfigError: If it is missing, unreadable or not valid TOML.
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as e:
        raise ConfigError(path, "", f"cannot read the file ({e.strerror})") from None
    try:
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(path, "", f"not UTF-8 text ({e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, "", f"invalid TOML: {e}") from None


def load(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    start_from: str | None = None,
) -> BuiltRun:
    """Read, check and build a run configuration.

    Args:
        path: The TOML file.
        overrides: ``[system]`` keys set from the command line.
        cwd: Directory that relative paths are resolved against (default: cwd).
        start_from: A state to load before starting: a path, a name in the
            states directory, or ``latest`` (the newest that verifies).

    Raises:
        ConfigError: One line naming the file, key path and problem.
    """
    raw = load_toml(path)
    if overrides:
        apply_overrides(raw, overrides)
    settings = resolve_settings(raw, path, cwd, start_from)
    with importable_from(Path.cwd() if cwd is None else cwd):
        return build(raw, settings)
