"""The ``pamiq-console`` command line (Typer), one module per command group.

* :mod:`.run_commands`: ``run`` and ``validate``;
* :mod:`.control_commands`: ``status``, ``pause``, ``resume``, ``save``,
  ``load``, ``shutdown`` and ``events``, which talk to a live run;
* :mod:`.settings_commands`: ``settings`` and ``set``, a live run's tunable settings;
* :mod:`.ps_command`: ``ps``, every live run of this user's on this machine;
* :mod:`.top_command`: ``top``, the same runs in one live table to act on;
* :mod:`.attach_command`: ``attach``, the dashboard of a live run elsewhere;
* :mod:`.state_commands`: ``states list | show | verify | prune`` (offline).

Commands stay thin: the work lives in :mod:`engine.services.operations`,
:mod:`console.render`, :mod:`console.run_choice` and :mod:`engine.services.state_choice`.
Exit codes: :class:`.exit_codes.ExitCode`.
"""

from __future__ import annotations

import sys

import typer

from .apps import app, states_app
from .exit_codes import ExitCode

# isort: off
# Imported for their commands, in the order --help lists them.
from . import (
    run_commands,
    control_commands,
    settings_commands,
    ps_command,
    top_command,
    attach_command,
    state_commands,
)

# isort: on

__all__ = [
    "ExitCode",
    "app",
    "attach_command",
    "control_commands",
    "main",
    "ps_command",
    "run_commands",
    "settings_commands",
    "state_commands",
    "states_app",
    "top_command",
]


def main() -> None:
    """Entry point of the ``pamiq-console`` script.

    Usage errors (unknown command or option, bad or missing value) are printed
    as one plain line, like every other error of the tool.
    """
    try:
        code = app(prog_name="pamiq-console", standalone_mode=False)
    except typer.Abort:
        print("pamiq-console: aborted", file=sys.stderr)
        sys.exit(ExitCode.FAILED)
    except Exception as e:
        # Click's usage errors, found by what they offer: typer keeps click private.
        message = getattr(e, "format_message", None)
        exit_code = getattr(e, "exit_code", None)
        if message is None or not isinstance(exit_code, int):
            raise
        if type(e).__name__ == "NoArgsIsHelpError":
            print(message())  # the help text, as asked for by giving no arguments
            sys.exit(0)
        ctx = getattr(e, "ctx", None)
        where = ctx.command_path if ctx is not None else "pamiq-console"
        print(f"{where}: {message()} (see {where} --help)", file=sys.stderr)
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)
