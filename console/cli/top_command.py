"""``pamiq-console top``: every live run of this user's in one live table.

``enter`` attaches to the selected run; detaching (``q``) comes back to the table.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..remote_run import AttachError, RemoteRun
from ..top import RunsWatch
from .apps import app
from .attach_command import detached_line


@app.command()
def top(
    interval: Annotated[
        float,
        typer.Option(
            "--interval", min=0.2, metavar="SECONDS", help="Seconds between refreshes."
        ),
    ] = 1.0,
) -> None:
    """Watch every live run of this user's on this machine (enter attaches, p pauses, s saves)."""
    from ..app import ConsoleApp
    from ..top_app import TopApp

    watch = RunsWatch()
    last: str | None = None
    try:
        while True:
            row = TopApp(watch, interval, select=last).run()
            if row is None:
                return
            last = row.key
            try:
                remote = RemoteRun(row.socket)
            except AttachError as e:
                print(f"attach: {e}", file=sys.stderr)
                continue
            attached = ConsoleApp(remote, attached=True)
            attached.run()
            if attached.ended is not None:
                print(f"run {remote.name} ended: {attached.ended}", file=sys.stderr)
            elif attached.detached:
                state = (
                    attached.status.state if attached.status is not None else "active"
                )
                print(
                    detached_line(remote.name, state, remote.pid, row.socket),
                    file=sys.stderr,
                )
    finally:
        watch.close()
