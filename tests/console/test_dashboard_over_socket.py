"""The dashboard needs nothing of a run but :class:`console.operations.RunControl`.

Here it is pointed at a run through its control socket (what ``attach`` will
do): the panels show the run, and its keys pause, save and resume it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console.app import ConsoleApp
from console.control_client import ControlClient
from console.operations import OperationError
from engine.telemetry.events import Event
from engine.telemetry.status import SystemStatus
from tests.console.helpers import sync, wait_for


class _NoEvents:
    dropped = 0

    def drain(self) -> list[Event]:
        return []

    def close(self) -> None:
        return None


class SocketRun:
    """RunControl over a run's control socket (the shape attach will take)."""

    def __init__(self, socket: Path) -> None:
        self.client = ControlClient(socket)
        self._info = self.client.request("status")["run"]

    @property
    def name(self) -> str:
        return str(self._info["name"])

    @property
    def states_dir(self) -> Path:
        return Path(self._info["states_dir"])

    def _op(self, op: str, **args: Any) -> Any:
        from console.control_client import ControlError

        try:
            return self.client.request(op, **args)
        except ControlError as e:
            raise OperationError(op, str(e)) from None

    def status(self) -> SystemStatus:
        return SystemStatus.from_dict(self._op("status"))

    def pause(self, timeout: object = None) -> dict[str, Any]:
        return self._op("pause")

    def resume(self) -> dict[str, Any]:
        return self._op("resume")

    def save(self) -> dict[str, Any]:
        return self._op("save")

    def load(self, state: object) -> dict[str, Any]:
        return self._op("load", state=state)

    def states(self) -> list[dict[str, Any]]:
        return self._op("states")

    def shutdown(self, reason: str) -> dict[str, Any]:
        return self._op("shutdown")

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return True

    def subscribe(self, maxsize: int) -> _NoEvents:
        return _NoEvents()


@sync
async def test_the_dashboard_drives_a_run_over_its_socket(live_run: Any) -> None:
    system = live_run.system
    remote = SocketRun(live_run.run_dir.socket_path)
    app = ConsoleApp(remote, exit_when_stopped=False)
    assert app.system is None  # nothing but the socket
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(
            pilot,
            lambda: app.status is not None and "values" in app.status.trainers,
            what="a status over the socket",
        )
        await pilot.press("p")
        await wait_for(pilot, lambda: system.state.value == "paused", what="pause")
        await wait_for(pilot, lambda: app.busy == "", what="pause finished")
        await pilot.press("s")
        await wait_for(pilot, lambda: system.status().last_save is not None)
        await wait_for(pilot, lambda: app.busy == "", what="save finished")
        await pilot.press("p")
        await wait_for(pilot, lambda: system.state.value == "active", what="resume")
