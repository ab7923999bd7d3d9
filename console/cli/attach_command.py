"""``attach``: the dashboard of a live run in another process, over its control socket."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..remote_run import AttachError, RemoteRun, check_socket_path
from .apps import app
from .common import fail
from .control_commands import LiveConfigOpt, LiveRunOpt, live_run
from .exit_codes import ExitCode


def detached_line(name: str, state: str, pid: int, socket: Path) -> str:
    """What ``attach`` says when it detaches: the run goes on, in the state it is in."""
    goes_on = "it keeps running" if state == "active" else f"it stays {state}"
    return f"detached from run {name}; {goes_on} (pid {pid}, socket {socket})"


@app.command()
def attach(
    run: LiveRunOpt = None,
    config: LiveConfigOpt = None,
    socket: Annotated[
        Path | None,
        typer.Option(
            "--socket",
            metavar="PATH",
            help="The run's control socket (e.g. one forwarded with ssh -L).",
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option("--read-only", help="Look only: offer no operations."),
    ] = False,
) -> None:
    """Open the dashboard on a live run (q detaches; the run keeps running)."""
    from ..app import ConsoleApp

    path = socket if socket is not None else live_run(run, config).socket
    try:
        check_socket_path(path)
        remote = RemoteRun(path, read_only=read_only)
    except AttachError as e:
        raise fail(f"attach: {e}", ExitCode.FAILED) from None
    app_ = ConsoleApp(remote, attached=True, read_only=read_only)
    app_.run()
    if app_.detached:
        state = app_.status.state if app_.status is not None else "active"
        print(detached_line(remote.name, state, remote.pid, path), file=sys.stderr)
    elif app_.ended is not None:
        print(f"run {remote.name} ended: {app_.ended}", file=sys.stderr)
