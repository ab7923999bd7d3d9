"""Commands that talk to a live run over its control socket.

``pause``, ``resume``, ``save`` and ``shutdown`` are one body; ``load`` adds a
state; ``status`` and ``events`` read. Each finds its run the same way
(:mod:`console.run_choice`) and names it in its reply.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.services.operations import describe
from engine.services.run_dir import RunInfo
from engine.services.state_choice import is_latest
from engine.telemetry.events import EVENT_KINDS

from ..control_client import ControlClient, ControlError
from ..render import format_time, status_renderable
from ..run_choice import (
    DEFAULT_RUNS_ROOT,
    AmbiguousRunError,
    NoRunError,
)
from ..run_choice import find_live_run as _find_live_run
from .apps import app
from .common import JsonOpt, config_settings, fail, out, print_json, usage_error
from .exit_codes import ExitCode

LiveRunOpt = Annotated[
    str | None,
    typer.Option(
        "--run",
        metavar="NAME|DIR",
        help="The run: its name (under ./runs) or its directory (default: the "
        "only live run under ./runs).",
    ),
]
LiveConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="The run this config starts (its run dir), or with --run NAME, "
        "look under the config's runs_dir.",
    ),
]


def live_run(run: str | None, config: Path | None) -> RunInfo:
    """The live run a command means, or exit saying how to choose one."""
    runs_root = DEFAULT_RUNS_ROOT
    if config is not None:
        settings = config_settings(config)
        runs_root = settings.runs_dir or settings.run_dir.parent
        if run is None:
            run = str(settings.run_dir)
    try:
        return _find_live_run(run, runs_root)
    except AmbiguousRunError as e:
        raise fail(str(e), ExitCode.USAGE) from None
    except NoRunError as e:
        raise fail(str(e), ExitCode.FAILED) from None


_LOOKS = {"status", "events", "states", "ping"}
"""Requests that change nothing: giving up on one leaves nothing pending."""


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def request(info: RunInfo, op: str, **args: Any) -> Any:
    """Send one request to the run; its result, or exit with the error.

    A run that has not answered after a few seconds is said to on stderr
    (stopped with SIGSTOP or ctrl+z, or busy); ctrl-c gives up waiting.
    """
    try:
        return ControlClient(info.socket, on_slow=_say, pid=info.pid).request(
            op, **args
        )
    except KeyboardInterrupt:
        sent = "" if op in _LOOKS else f"; the run may still {op} when it answers"
        raise fail(
            f"{op}: gave up waiting for the run (pid {info.pid}) to answer{sent}",
            ExitCode.FAILED,
        ) from None
    except NoRunError as e:
        raise fail(str(e), ExitCode.FAILED) from None
    except ControlError as e:
        raise fail(f"{op} failed: {e}", ExitCode.FAILED) from None


def _reply(op: str, info: RunInfo, result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    for line in describe(op, result, info.name):
        print(line)


def _control_command(op: str, summary: str) -> Callable[..., None]:
    """One live-run command: find the run, send ``op``, print its reply."""

    def command(
        run: LiveRunOpt = None, config: LiveConfigOpt = None, as_json: JsonOpt = False
    ) -> None:
        info = live_run(run, config)
        _reply(op, info, request(info, op), as_json)

    command.__doc__ = summary
    command.__name__ = op
    return command


@app.command()
def status(
    run: LiveRunOpt = None, config: LiveConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Show a live run's status."""
    result = request(live_run(run, config), "status")
    if as_json:
        print_json(result)
    else:
        console = out()
        console.print(status_renderable(result, width=console.width))


for _op, _summary in (
    ("pause", "Pause a live run (returns once every thread has paused)."),
    ("resume", "Resume a paused run."),
    ("save", "Save a live run's state now."),
):
    app.command(_op)(_control_command(_op, _summary))


@app.command("load")
def load_cmd(
    state: Annotated[
        str,
        typer.Argument(
            help="State name or path in the run's states dir, or 'latest'.",
            metavar="STATE",
        ),
    ],
    run: LiveRunOpt = None,
    config: LiveConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a saved state into a live run (verified first; refused states change nothing)."""
    local = Path(state)
    if not is_latest(state) and local.exists():
        state = str(local.absolute())
    info = live_run(run, config)
    _reply("load", info, request(info, "load", state=state), as_json)


app.command("shutdown")(
    _control_command("shutdown", "Stop a live run in order (it saves a final state).")
)


@app.command()
def events(
    run: LiveRunOpt = None,
    config: LiveConfigOpt = None,
    limit: Annotated[int, typer.Option(help="How many recent events.", min=0)] = 20,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            help="Only events of this kind (repeatable): state, saved, loaded, "
            "removed, sync, training, trainability, metric, setting, error, log,"
            " alert.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a live run's most recent events."""
    unknown = sorted(set(kind or ()) - EVENT_KINDS)
    if unknown:
        raise usage_error(
            "events",
            f"Invalid value for '--kind': {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(sorted(EVENT_KINDS))})",
        )
    args: dict[str, Any] = {"limit": limit}
    if kind:
        args["kinds"] = kind
    result = request(live_run(run, config), "events", **args)
    if as_json:
        print_json(result)
        return
    for event in result:
        rest = {
            k: v
            for k, v in event.items()
            if k not in ("kind", "wall_time", "traceback")
        }
        fields = " ".join(f"{k}={_short(v)}" for k, v in rest.items())
        print(f"{format_time(event['wall_time'])} {event['kind']:<12} {fields}")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
