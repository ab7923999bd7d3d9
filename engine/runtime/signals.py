"""Signals that stop a run in order (final save) instead of killing it.

A closed terminal (SIGHUP: an SSH connection that drops, a tmux session
killed), a service manager or ``kill`` (SIGTERM) must not lose what the run
learnt since its last save.

Python runs a signal handler on the main thread between two of its bytecodes,
possibly inside a ``with lock:`` of the very code the stop needs (the event
bus's subscription that the headless loop waits on, a lock a dashboard holds):
a stop made there could wait for ever on the thread it interrupted. So the
handler only hands the signal to a thread of its own, which asks for the stop.

A SIGHUP that the process was started ignoring (``nohup``, or any parent that
set it to SIG_IGN) stays ignored: whoever started the run asked for it to
outlive its terminal.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

ORDERLY_STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""What the console stops in order on."""
UNLESS_HANDLED = (signal.SIGTERM, signal.SIGHUP)
"""What ``launch()`` stops in order on where the program has no handler of its own
(SIGINT stays Python's KeyboardInterrupt, which ``launch()`` also stops in order on)."""
_DELIVERY_GRACE = 1.0
"""Seconds leaving the block waits for a stop already asked for to be delivered."""


@contextlib.contextmanager
def stop_on_signals(
    shutdown: Callable[[str], None],
    signals: tuple[signal.Signals, ...] = ORDERLY_STOP,
    only_unhandled: bool = False,
) -> Iterator[None]:
    """While inside, ``signals`` call ``shutdown(reason)`` instead of killing the process.

    ``shutdown`` is called on a thread of this block's own, never from inside
    the handler (see the module's docstring). Does nothing off the main thread
    (Python runs handlers only there).

    Args:
        shutdown: Asks the run to stop; must return at once.
        signals: The signals to take.
        only_unhandled: Leave alone a signal the program already handles (or
            ignores): only those with the default action are taken.
            An ignored SIGHUP is left alone either way (see the module's docstring).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    # SimpleQueue.put is reentrant: safe wherever the handler interrupts.
    received: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def handler(signum: int, _frame: Any) -> None:
        received.put(f"{signal.Signals(signum).name} received")

    def deliver() -> None:
        while (reason := received.get()) is not None:
            shutdown(reason)

    stopper = threading.Thread(target=deliver, name="signal-stop", daemon=True)
    stopper.start()
    previous = {}
    for sig in signals:
        current = signal.getsignal(sig)
        if sig == signal.SIGHUP and current is signal.SIG_IGN:
            continue  # nohup: the run is to survive its terminal
        if only_unhandled and current is not signal.SIG_DFL:
            continue
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        received.put(None)  # after the signals already taken
        stopper.join(timeout=_DELIVERY_GRACE)
