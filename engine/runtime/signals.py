"""Signals that stop a run in order (final save) instead of killing it.

A closed terminal (SIGHUP: an SSH connection that drops, a tmux session
killed), a service manager or ``kill`` (SIGTERM) must not lose what the run
learnt since its last save.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

ORDERLY_STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""What the console stops in order on."""
UNLESS_HANDLED = (signal.SIGTERM, signal.SIGHUP)
"""What ``launch()`` stops in order on where the program has no handler of its own
(SIGINT stays Python's KeyboardInterrupt, which ``launch()`` also stops in order on)."""


@contextlib.contextmanager
def stop_on_signals(
    shutdown: Callable[[str], None],
    signals: tuple[signal.Signals, ...] = ORDERLY_STOP,
    only_unhandled: bool = False,
) -> Iterator[None]:
    """While inside, ``signals`` call ``shutdown(reason)`` instead of killing the process.

    Does nothing off the main thread (Python runs handlers only there).

    Args:
        shutdown: Asks the run to stop; must return at once.
        signals: The signals to take.
        only_unhandled: Leave alone a signal the program already handles (or
            ignores): only those with the default action are taken.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        shutdown(f"{signal.Signals(signum).name} received")

    previous = {}
    for sig in signals:
        if only_unhandled and signal.getsignal(sig) is not signal.SIG_DFL:
            continue
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
