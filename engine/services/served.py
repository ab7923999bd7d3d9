"""What the run's services use of the system they serve.

:meth:`engine.System.start` opens its services with itself, so the services
stand below the system in the engine's layers and know it only as this
description: its events, settings and state store, its launch settings, and
the operations an operator asks for. :class:`engine.System` is the one system
there is; a test may serve a stand-in that has these members.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from ..launch_config import LaunchConfig
from ..runtime.control import SystemState
from ..runtime.settings import Settings
from ..state.store import StateStore
from ..telemetry.events import EventBus
from ..telemetry.status import SystemStatus
from .curves import CurveBook


class CurveKeeper(Protocol):
    """A system's services, as far as the others use them: the curves they keep."""

    curves: CurveBook


class ServedSystem(Protocol):
    """A running system, as its services see it (see :class:`engine.System`).

    Attributes:
        config: Its launch settings (where the run directory is, what to serve).
        events: Its event bus.
        settings: Its settings by name.
        store: Where its states are written.
    """

    config: LaunchConfig
    events: EventBus
    settings: Settings
    store: StateStore

    @property
    def name(self) -> str:
        """The run's name (set by then: a program's run without one takes a default)."""
        ...

    @property
    def services(self) -> CurveKeeper | None:
        """Its services (None for a system started without them)."""
        ...

    @property
    def state(self) -> SystemState:
        """Where the control state machine is."""
        ...

    def status(self) -> SystemStatus:
        """A snapshot of the whole run."""
        ...

    def report_failure(self, thread: str, exc: BaseException, tb: str = "") -> None:
        """Record that ``thread`` failed with ``exc``, and stop the run in order."""
        ...

    def rename(self, name: str) -> None:
        """Give the run another name before it starts."""
        ...

    def pause(self, timeout: float | None = None) -> None:
        """Pause every thread at its next pause point."""
        ...

    def resume(self) -> None:
        """Resume a paused system."""
        ...

    def shutdown(self, reason: str = "requested") -> None:
        """Stop the system in order (the final save follows, as configured)."""
        ...

    def save_state(self) -> Path:
        """Save a state now; return its directory."""
        ...

    def save_state_report(self) -> tuple[Path, list[Path]]:
        """Save a state now; return its directory and the states retention deleted."""
        ...

    def load_state(self, path: str | Path) -> None:
        """Load the state at ``path`` into the running system."""
        ...

    def newest_verified_state(self) -> Path | None:
        """The newest state of this run that verifies, or None."""
        ...

    def set_setting(self, name: str, value: object) -> dict[str, Any]:
        """Queue a change of the setting ``name``; say what it becomes."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the system has stopped; False if ``timeout`` ran out first."""
        ...
