"""Import the component a config names by its path (``package.module:Name``)."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ConfigError, describe

# The example algorithms left the trainers package (one file each under
# algorithms/); a config written before names the old module.
_MOVED_MODULES = {
    f"trainers.{name}": f"algorithms.{name}"
    for name in ("bandit", "dqn", "reinforce", "sensor_autoencoder")
}


def import_target(file: Path, key: str, target: Any) -> Any:
    """Import ``package.module:Name`` (or ``package.module.Name``).

    Raises:
        ConfigError: If it is not a string or cannot be imported.
    """
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(
            file,
            key,
            f"expected an import path 'package.module:Name', got {describe(target)}",
        )
    if ":" in target:
        module_name, _, attr_path = target.partition(":")
    else:
        module_name, _, attr_path = target.rpartition(".")
    if not module_name or not attr_path:
        raise ConfigError(
            file, key, f"'{target}' is not an import path like 'package.module:Name'"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = e.name or module_name
        moved = _MOVED_MODULES.get(module_name)
        if moved is not None:
            raise ConfigError(
                file,
                key,
                f"cannot import '{target}': '{module_name}' moved to '{moved}' "
                f"(write '{moved}:{attr_path}')",
            ) from None
        raise ConfigError(
            file, key, f"cannot import '{target}': no module named '{missing}'"
        ) from None
    except Exception as e:
        raise ConfigError(
            file,
            key,
            f"cannot import '{target}': importing '{module_name}' raised "
            f"{type(e).__name__}: {e}",
        ) from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                file,
                key,
                f"cannot import '{target}': '{module_name}' has no '{attr_path}'",
            ) from None
    if not callable(obj):
        raise ConfigError(file, key, f"'{target}' is not a class or function")
    return obj


@contextlib.contextmanager
def importable_from(directory: Path) -> Iterator[None]:
    """Let a config's import paths name modules in ``directory`` while it is built."""
    entry = str(directory)
    added = entry not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)
