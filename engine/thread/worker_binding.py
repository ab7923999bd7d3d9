"""Which worker the current thread is, so that pause points and sleeps can find it.

Kept free of other engine imports so that the clock and the controller can both use it.
"""

from __future__ import annotations

import threading
from typing import Protocol


class WorkerHandle(Protocol):
    """What a worker thread offers to code running on it."""

    def pause_point(self) -> None:
        """Block while the system is paused; raise ``ShutdownRequested`` when stopping."""
        ...

    def wait_interruptibly(self, seconds: float) -> bool:
        """Wait up to ``seconds``; return True early when a pause or stop is requested."""
        ...

    def wait_for(self, event: threading.Event, timeout: float | None = None) -> bool:
        """Wait for ``event``; return True early when a pause or stop is requested."""
        ...


_local = threading.local()


def current_worker() -> WorkerHandle | None:
    """Return the worker handle bound to the calling thread, if any."""
    return getattr(_local, "worker", None)


def bind_worker(handle: WorkerHandle | None) -> None:
    """Bind (or with None, unbind) a worker handle to the calling thread."""
    _local.worker = handle
