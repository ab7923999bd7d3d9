"""Threads whose failure, at any moment of their life, reaches whoever runs them.

A thread that dies quietly is the worst failure a long run can have: the run
looks alive (status says ACTIVE, pause requests wait for a thread that is gone)
while nothing happens. Every thread this project starts therefore runs its
whole body, first line included, under :func:`report_failures`, which hands
any exception to a :data:`FailureHandler` (usually
:meth:`engine.System.report_failure`: an event, an entry in the status, and an
orderly stop with a final save).
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from typing_extensions import override

FailureHandler = Callable[[str, BaseException, str], None]
"""Called with ``(thread name, exception, formatted traceback)``."""


def report(on_failure: FailureHandler, thread: str, exc: BaseException) -> None:
    """Hand ``exc`` to ``on_failure``; if even that fails, print both to stderr.

    A failure must never be lost, so a handler that raises is the one case where
    the traceback goes straight to the terminal.
    """
    text = "".join(traceback.format_exception(exc))
    try:
        on_failure(thread, exc, text)
    except BaseException as handler_error:
        sys.stderr.write(
            f"{thread} thread failed and reporting it failed too:\n{text}"
            + "".join(traceback.format_exception(handler_error))
        )


@contextmanager
def report_failures(on_failure: FailureHandler, thread: str) -> Iterator[None]:
    """Report any exception raised inside to ``on_failure`` (and swallow it)."""
    try:
        yield
    except BaseException as e:
        report(on_failure, thread, e)


class SupervisedThread(threading.Thread):
    """A daemon thread whose body runs entirely under :func:`report_failures`.

    Args:
        name: The thread's name (also the name failures are reported under).
        body: What the thread does.
        on_failure: Where an exception escaping ``body`` goes.
    """

    def __init__(
        self, name: str, body: Callable[[], None], on_failure: FailureHandler
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._body = body
        self._on_failure = on_failure

    @override
    def run(self) -> None:
        """Run the body; report what escapes it."""
        with report_failures(self._on_failure, self.name):
            self._body()
