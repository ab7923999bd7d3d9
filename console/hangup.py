"""A terminal that hung up (closed window, dropped SSH, killed tmux).

The run is stopped in order (final save) on SIGHUP; but a Textual app whose
terminal is gone can block for ever writing to it. Once whatever must finish
has finished (the final save, the program's exit), the process exits itself.

What the console prints to a hung-up terminal fails (EIO); nobody is left to
read it, so it is dropped (:func:`say`) rather than ending an orderly stop as a
failure.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TextIO

from engine.runtime.signals import stop_on_signals

GRACE = 0.5
"""Seconds the dashboard gets to close by itself once the work is done.

It closes by itself only if it was already closing (q pressed just before the
hang-up): a dashboard left open shows that the run ended until q, which nobody
can press on a dead terminal, so it is not waited for longer."""


_GONE = (errno.EIO, errno.EPIPE)
"""What a write fails with once its terminal hung up (or its reader went away)."""


def say(text: str, out: TextIO) -> None:
    """Print ``text`` as a line to ``out`` and flush it; once ``out``'s terminal
    has hung up, drop it, and everything written to ``out`` later.

    Raises:
        OSError: If the write failed for another reason.
    """
    try:
        print(text, file=out, flush=True)
    except OSError as e:
        if e.errno not in _GONE:
            raise
        _discard(out)


def _discard(out: TextIO) -> None:
    """Point ``out``'s file descriptor at /dev/null: what it still buffers, and
    whatever the process writes to it later (its exit's flush too), goes nowhere."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # not a file (io.UnsupportedOperation is both)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@contextlib.contextmanager
def exit_after_hangup(
    stop: Callable[[str], None], finished: Callable[[], int]
) -> Iterator[None]:
    """While inside, SIGHUP calls ``stop(reason)``, and the process exits with
    ``finished()``'s code once it returns, unless it has left this block by then.

    Args:
        stop: Asks the run to stop; returns at once.
        finished: Blocks until nothing more must be written (the run stopped,
            the program exited); returns the exit code.
    """
    hung_up = threading.Event()
    left = threading.Event()

    def watch() -> None:
        hung_up.wait()
        code = finished()
        if not left.wait(GRACE):
            os._exit(code)  # the terminal is gone: nothing left to show or save

    def on_hangup(reason: str) -> None:
        hung_up.set()
        stop(reason)

    threading.Thread(target=watch, name="hangup-watch", daemon=True).start()
    with stop_on_signals(on_hangup, (signal.SIGHUP,)):
        try:
            yield
        finally:
            left.set()
