"""The dashboard of a TOML run in this process (``pamiq-console run CONFIG``)."""

from __future__ import annotations

import sys

from engine.services.operations import local_run

from .app import ConsoleApp
from .config import BuiltRun
from .hangup import exit_after_hangup, say
from .poller import DEFAULT_POLL_HZ, POLLER_QUEUE
from .runner import Run, stop_on_signals


def run_dashboard(built: BuiltRun, poll_hz: float = DEFAULT_POLL_HZ) -> int:
    """Run the engine with the dashboard in this process until the run stops.

    The dashboard sees the run as a :func:`~engine.services.operations.local_run`
    and reports its poller's failure to the system, like any of the run's threads.

    Returns:
        The exit code: 0 after a clean stop, 1 if a thread failed.
    """
    system = built.system
    run = Run(built)
    # Taken before the start, so the event log shows what the start loaded.
    subscription = system.events.subscribe(maxsize=POLLER_QUEUE)

    def stopped() -> int:
        system.wait()
        return run.exit_code

    # The signals are taken before the start: the run is live (its socket
    # bound) before the start returns, and a hang-up then must not kill it.
    with stop_on_signals(system), exit_after_hangup(system.shutdown, stopped):
        try:
            run.start()
        except BaseException:
            subscription.close()
            raise
        try:
            app = ConsoleApp(
                local_run(system),
                on_failure=system.report_failure,
                poll_hz=poll_hz,
                subscription=subscription,
            )
            app.run()
        finally:
            subscription.close()
            run.stop_and_wait("console exiting")
    say(run.describe(), sys.stderr)
    run.report_failures(sys.stderr)
    if system.status().last_save:
        say(f"last state: {system.status().last_save}", sys.stderr)
    return run.exit_code
