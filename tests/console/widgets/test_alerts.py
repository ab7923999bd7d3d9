"""A guard's alert shows in a bar at the top of the dashboard, in the event log,
in ``status`` and in ``top``, and goes when it clears."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from console.app import ConsoleApp
from console.render import status_renderable
from console.widgets.alerts import AlertBar
from console.widgets.event_log import EventLogPanel
from engine.services.operations import local_run
from tests.console.helpers import sync, wait_for
from tests.console.test_app import text_of
from tests.engine.runtime.test_guards import NeverTrainable, StallingAgent, make


def _plain(renderable: object) -> str:
    console = Console(width=160, record=True)
    console.print(renderable)
    return console.export_text()


@sync
async def test_a_stalled_agent_s_alert_is_a_bar_at_the_top_until_it_steps_again(
    tmp_path: Path,
) -> None:
    agent = StallingAgent()
    system = make(
        tmp_path, NeverTrainable(), agent, guards={"agent_stall_seconds": 0.6}
    )
    system.start()
    try:
        app = ConsoleApp(local_run(system))
        async with app.run_test(size=(120, 40)) as pilot:
            bar = app.query_one(AlertBar)
            await wait_for(pilot, lambda: app.status is not None, what="a status")
            assert not bar.display
            agent.stall.set()
            await wait_for(pilot, lambda: bool(bar.display), 20, "the alert bar")
            assert "the agent has not stepped for" in text_of(bar)
            await wait_for(
                pilot,
                lambda: "has not stepped" in text_of(app.query_one(EventLogPanel)),
                what="the alert in the event log",
            )
            assert app.status is not None
            assert "alert: the agent has not stepped" in _plain(
                status_renderable(app.status)
            )
            agent.release.set()
            await wait_for(pilot, lambda: not bar.display, 20, "the bar to go")
            await wait_for(
                pilot,
                lambda: (
                    "cleared: the agent steps again"
                    in text_of(app.query_one(EventLogPanel))
                ),
                what="the clearing in the event log",
            )
    finally:
        agent.release.set()
        system.shutdown("test over")
        assert system.wait(timeout=30)
