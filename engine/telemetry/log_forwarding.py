"""Engine notices in Python's ``logging``, for programs that use the engine as a library.

A program that calls :func:`engine.launch` and never subscribes to events must
still hear of a failed periodic save, a refused load or a thread that died:
the system forwards :class:`~engine.telemetry.events.LogMessage` and
:class:`~engine.telemetry.events.ErrorOccurred` to the ``engine`` logger by default. The
console shows events itself and switches this off (:meth:`engine.System.detach_logging`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .events import Alert, ErrorOccurred, Event, EventBus, LogMessage

LOGGER_NAME = "engine"

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def forward_to_logging(
    events: EventBus, logger: logging.Logger | None = None
) -> Callable[[], None]:
    """Log every notice, alert and error published on ``events``; return a remover.

    Args:
        events: The bus to listen to.
        logger: Where to log (default: the ``engine`` logger).
    """
    target = logger if logger is not None else logging.getLogger(LOGGER_NAME)

    def forward(event: Event) -> None:
        if isinstance(event, LogMessage):
            target.log(_LEVELS.get(event.level, logging.INFO), event.message)
        elif isinstance(event, ErrorOccurred):
            detail = f"\n{event.traceback.rstrip()}" if event.traceback else ""
            target.error("%s%s", event.message, detail)
        elif isinstance(event, Alert):
            if event.cleared:
                target.info("cleared: %s", event.message)
            else:
                done = "" if event.action == "none" else f" [{event.action}]"
                target.warning("%s%s", event.message, done)

    return events.add_callback(forward)
