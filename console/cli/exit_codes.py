"""What ``pamiq-console``'s exit status means (README.md and docs/console.md list them)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit status of every command.

    Attributes:
        OK: It did what was asked (a run that stopped cleanly).
        FAILED: It tried and it could not be done: no live run is listening,
            the run refused the operation, a state fails verification, a prune
            was refused while a run holds the states directory, a run stopped
            because a thread failed.
        USAGE: Nothing was tried: the command line or the config is wrong
            (an unknown option or value, a config error, a choice that must be
            made, such as which of several live runs, or ``--yes`` to delete
            without a terminal).
    """

    OK = 0
    FAILED = 1
    USAGE = 2
