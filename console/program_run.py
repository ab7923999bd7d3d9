"""``pamiq-console run PROGRAM.py``: a user's program, headless or under the dashboard.

The program runs as a child process (:class:`~console.program_process.ProgramRun`):
headless, its output is copied to the terminal; otherwise the dashboard opens on
its run once its ``launch()`` has started it. ``run --detach`` starts it (or a
headless console run of a config) in the background instead.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from pathlib import Path
from typing import TextIO

from engine.runtime.signals import stop_on_signals
from engine.services.registry import RegisteredRun

from .program_process import OutputFollower, ProgramRun


def _stops_on_signals(program: ProgramRun) -> contextlib.AbstractContextManager[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP stop the program's run in order."""

    def stop(_reason: str) -> None:
        # Off the signal handler: the request may take a moment.
        threading.Thread(target=program.request_stop, daemon=True).start()

    return stop_on_signals(stop)


def _echo(follower: OutputFollower, out: TextIO) -> None:
    for line in follower.read_lines():
        print(line, file=out, flush=True)


def run_program(
    program: Path,
    args: list[str],
    headless: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``python PROGRAM ARGS`` and show the run its ``launch()`` starts.

    Headless, the program's output is copied to ``out`` and the run's
    controls are the CLI's. Otherwise the dashboard opens on the run once it
    has started (until then the output is copied to ``out``). Ctrl-C, SIGTERM
    and SIGHUP stop the run in order; ``q`` in the dashboard may detach instead.

    Returns:
        The program's exit code (0 after a detach).

    Raises:
        ProgramNeverLaunchedError: If the program exited before it called ``launch()``.
        OSError: If it could not be started.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    started = ProgramRun(program, args, stdin=None if headless else subprocess.DEVNULL)
    started.start()
    follower = OutputFollower(started)
    with _stops_on_signals(started):
        print(
            f"pamiq-console: started {program} (pid {started.pid}); waiting for "
            "its launch()...",
            file=err,
            flush=True,
        )

        def echo_while_waiting() -> bool:
            _echo(follower, out)
            return False

        run = started.wait_for_run(cancelled=echo_while_waiting)
        if run is None:  # stopped as asked before its run was seen
            _echo(follower, out)
            code = started.wait()
            assert code is not None
            return code
        print(
            f"pamiq-console: run {run.name} (pid {run.pid}): run dir {run.run_dir}, "
            f"output {started.log_path}",
            file=err,
            flush=True,
        )
        if headless:
            while started.wait(timeout=0.2) is None:
                _echo(follower, out)
            _echo(follower, out)
        else:
            _echo(follower, out)
            code = _dashboard(started, run, err)
            if code is not None:
                return code
        code = started.wait()
    assert code is not None
    print(f"pamiq-console: {program} exited with code {code}", file=err, flush=True)
    return code


def _dashboard(started: ProgramRun, run: RegisteredRun, err: TextIO) -> int | None:
    """The dashboard on the program's run; 0 after a detach, else None (wait for it)."""
    from .app import ConsoleApp
    from .hangup import exit_after_hangup
    from .remote_run import AttachError, RemoteRun

    try:
        remote = RemoteRun(run.socket)
    except AttachError as e:
        print(f"pamiq-console: cannot show the run: {e}", file=err, flush=True)
        return None

    def stop(_reason: str) -> None:
        threading.Thread(target=started.request_stop, daemon=True).start()

    def exited() -> int:
        code = started.wait()
        return 1 if code is None else code

    app = ConsoleApp(remote, program=started)
    with exit_after_hangup(stop, exited):
        app.run()
    if app.detached:
        state = app.status.state if app.status is not None else "active"
        # A paused run stays paused: say so, not only that the program runs on.
        stays = "" if state == "active" else f", its run stays {state}"
        print(
            f"pamiq-console: detached; {started.program} runs on{stays} (pid "
            f"{started.pid}, run {run.name}, output {started.log_path}): "
            f"pamiq-console attach --run {run.run_dir}",
            file=err,
            flush=True,
        )
        return 0
    if started.exit_code() is None:
        print(
            f"pamiq-console: waiting for {started.program} to exit...",
            file=err,
            flush=True,
        )
    return None


def start_in_background(started: ProgramRun, err: TextIO | None = None) -> int:
    """Start ``started`` (a program, or a headless console run of a config) in a
    session of its own and return once its run is live, saying how to reach it.

    The run outlives this command and the terminal: its output goes to its run
    directory, and ``pamiq-console attach`` opens the dashboard on it.

    Returns:
        0 once the run is live.

    Raises:
        ProgramNeverLaunchedError: If it exited before its run started.
        OSError: If it could not be started.
    """
    err = sys.stderr if err is None else err
    started.start()
    run = started.wait_for_run()
    assert run is not None
    print(
        f"run {run.name} is running in the background (pid {started.pid}); "
        f"output: {started.log_path}\n"
        f"  pamiq-console attach --run {run.run_dir}    # the dashboard; q detaches\n"
        f"  pamiq-console shutdown --run {run.run_dir}  # stop it (final save)",
        file=err,
        flush=True,
    )
    return 0
