"""What the commands share: output, errors with their exit codes, options."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from .exit_codes import ExitCode

if TYPE_CHECKING:
    # Imported where used: checking a config imports pydantic and the engine's
    # builders, which most commands (status, pause...) never need.
    from ..config import BuiltRun, RunSettings

ConfigArg = Annotated[
    Path,
    typer.Argument(
        help="The run's TOML config file.", show_default=False, metavar="CONFIG"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the raw JSON result.")]


PIPED_WIDTH = 200
"""Columns of results when piped or redirected and ``$COLUMNS`` is unset: wide
enough that no path or name in a table is cut short for the scripts that read it."""


def out() -> Console:
    """A console for results: the terminal's width, or piped, ``$COLUMNS`` (else
    :data:`PIPED_WIDTH`) columns."""
    width = None
    if not sys.stdout.isatty():
        try:
            width = max(40, int(os.environ.get("COLUMNS", "")))
        except ValueError:
            width = PIPED_WIDTH
    return Console(highlight=False, soft_wrap=True, width=width)


def fail(message: str, code: int) -> typer.Exit:
    """Print ``message`` as one line on stderr; the exit to raise.

    Args:
        message: The line.
        code: An :class:`ExitCode`, or a program's own exit status passed on.
    """
    print(message, file=sys.stderr)
    return typer.Exit(int(code))


def usage_error(command: str, message: str) -> typer.Exit:
    """A bad value found after parsing, said as Click says its own usage errors."""
    where = f"pamiq-console {command}"
    return fail(f"{where}: {message} (see {where} --help)", ExitCode.USAGE)


def load_config(
    path: Path, overrides: dict[str, Any] | None = None, start_from: str | None = None
) -> BuiltRun:
    """Read, check and build a config, or exit with its one-line error."""
    from .. import config as config_mod

    try:
        return config_mod.load(path, overrides, start_from=start_from)
    except config_mod.ConfigError as e:
        raise fail(str(e), ExitCode.USAGE) from None


def config_settings(path: Path) -> RunSettings:
    """A config's run settings (directories, name) without building it."""
    from .. import config as config_mod

    try:
        return config_mod.resolve_settings(config_mod.load_toml(path), path)
    except config_mod.ConfigError as e:
        raise fail(str(e), ExitCode.USAGE) from None


def print_json(value: Any) -> None:
    """Print a result as JSON."""
    print(json.dumps(value, indent=1, default=str))
