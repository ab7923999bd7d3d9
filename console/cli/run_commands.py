"""``run`` and ``validate``: start a run from a config, or only check the config."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from engine.services.run_dir import RunDirError
from engine.state.catalogue import NoUsableStateError
from engine.state.persistence import StateError

from .apps import app
from .common import ConfigArg, fail, load_config
from .exit_codes import ExitCode


@contextlib.contextmanager
def starting(config: Path, stream: TextIO | None = None) -> Iterator[None]:
    """Say on a terminal that the run is starting while its components are built.

    Importing and building a config's components (torch, a dataset) can take
    seconds in which the terminal would otherwise stay blank. The line is
    erased once they are built, so an error is still the only line left.
    """
    out = sys.stderr if stream is None else stream
    shown = out.isatty()
    if shown:
        out.write(f"pamiq-console: starting {config} (importing its components)...")
        out.flush()
    try:
        yield
    finally:
        if shown:
            out.write("\r\033[K")
            out.flush()


def _within(state: Path, problem: str) -> str:
    """``problem`` with the files of ``state`` named relative to it (its line names it)."""
    return problem.replace(f"{state}{os.sep}", "")


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a config completely (imports, arguments, types, names) without running it."""
    built = load_config(config)
    for warning in built.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    s = built.settings
    counts = {
        "models": len(built.system.models),
        "buffers": len(built.system.data_users),
        "trainers": len(built.system.trainers),
    }
    parts = ", ".join(f"{n} {k}" for k, n in counts.items())
    print(
        f"{config}: ok (run '{s.name}': {parts}; run dir {s.run_dir}, states {s.states_dir})"
    )


ProgramArgs = Annotated[
    list[str] | None,
    typer.Argument(
        help="Arguments for PROGRAM.py, after --.",
        show_default=False,
        metavar="[-- ARGS...]",
    ),
]
CONFIG_ONLY = (
    "--resume",
    "--load",
    "--name",
    "--max-uptime",
    "--time-scale",
    "--states-dir",
)


def _run_program(program: Path, args: list[str], headless: bool) -> int:
    from ..program_process import ProgramNeverLaunchedError
    from ..program_run import run_program

    if not program.is_file():
        raise fail(f"{program}: no such program", ExitCode.USAGE)
    try:
        return run_program(program, args, headless)
    except ProgramNeverLaunchedError as e:
        raise fail(str(e), e.code or ExitCode.FAILED) from None
    except OSError as e:
        raise fail(
            f"cannot start {program}: {e.strerror or e}", ExitCode.FAILED
        ) from None


def _in_background(target: Path, args: list[str], options: list[str] | None) -> int:
    """``run --detach``: a program (``options`` None) or a headless run of a
    config in the background."""
    from ..program_process import ProgramNeverLaunchedError, ProgramRun
    from ..program_run import start_in_background

    if not target.is_file():
        what = "program" if options is None else "config file"
        raise fail(f"{target}: no such {what}", ExitCode.USAGE)
    if options is None:
        started = ProgramRun(target, args)
    else:
        command = [sys.executable, "-m", "console.cli", "run", str(target.absolute())]
        started = ProgramRun(
            target,
            [],
            command=[*command, "--headless", *options],
            log_name="console.log",
        )
    try:
        return start_in_background(started)
    except ProgramNeverLaunchedError as e:
        # A config's background run says what was wrong in its own last line.
        last = started.tail(1) if options is not None else []
        raise fail(last[0] if last else str(e), e.code or ExitCode.FAILED) from None
    except OSError as e:
        raise fail(
            f"cannot start {target}: {e.strerror or e}", ExitCode.FAILED
        ) from None


@app.command()
def run(
    config: Annotated[
        Path,
        typer.Argument(
            help="The run's TOML config file, or a Python program that calls launch().",
            show_default=False,
            metavar="CONFIG|PROGRAM.py",
        ),
    ],
    program_args: ProgramArgs = None,
    headless: Annotated[
        bool, typer.Option(help="No dashboard; log events to stderr.")
    ] = False,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach",
            help="Run headless in the background, outliving this terminal; return "
            "once the run is live (pamiq-console attach opens the dashboard).",
        ),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Load the newest saved state that verifies first; start fresh "
            "if there is none.",
        ),
    ] = False,
    load: Annotated[
        str | None,
        typer.Option(
            "--load",
            metavar="STATE",
            help="Load this state first: a path, a name in the states dir, or 'latest' "
            "(the newest that verifies; fails if there is none).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="Run under this name instead of the config's (its run dir is "
            "runs_dir/NAME unless the config sets run_dir).",
        ),
    ] = None,
    max_uptime: Annotated[
        float | None, typer.Option(help="Stop after this many engine seconds.")
    ] = None,
    time_scale: Annotated[
        float | None, typer.Option(help="Engine seconds per real second.")
    ] = None,
    states_dir: Annotated[
        Path | None, typer.Option(help="Where states are saved.")
    ] = None,
) -> None:
    """Start a run: the dashboard with the engine in this process (or --headless);
    for PROGRAM.py, the program as a child process and the dashboard on its run."""
    if config.suffix == ".py":
        given = [
            flag
            for flag, value in zip(
                CONFIG_ONLY,
                (resume, load, name, max_uptime, time_scale, states_dir),
                strict=True,
            )
            if value not in (None, False)
        ]
        if given:
            raise fail(
                f"{given[0]}: applies to a config; {config} sets it in its LaunchConfig",
                ExitCode.USAGE,
            )
        if detach:
            raise typer.Exit(_in_background(config, program_args or [], None))
        raise typer.Exit(_run_program(config, program_args or [], headless))
    if program_args:
        raise fail(
            f"arguments after the config ({' '.join(program_args)}) are for a "
            "PROGRAM.py, not a config",
            ExitCode.USAGE,
        )
    if resume and load is not None:
        raise fail("give --resume or --load STATE, not both", ExitCode.USAGE)
    # Flags are checked here so that an error names the flag, not the config file.
    for flag, value in (("--max-uptime", max_uptime), ("--time-scale", time_scale)):
        if value is not None and not 0 < value < math.inf:
            raise fail(
                f"{flag}: must be a finite number > 0, got {value}", ExitCode.USAGE
            )
    if detach:
        options = {
            "--resume": resume or None,
            "--load": load,
            "--name": name,
            "--max-uptime": max_uptime,
            "--time-scale": time_scale,
            "--states-dir": None if states_dir is None else states_dir.absolute(),
        }
        passed = [
            token
            for flag, value in options.items()
            if value is not None
            for token in ([flag] if value is True else [flag, str(value)])
        ]
        raise typer.Exit(_in_background(config, [], passed))
    overrides: dict[str, Any] = {
        "name": name,
        "max_uptime": max_uptime,
        "time_scale": time_scale,
        "states_dir": None if states_dir is None else str(states_dir),
        "resume": True if resume else None,
    }
    from .. import config as config_mod  # here: no other command needs the builders

    try:
        with starting(config):
            built = config_mod.load(config, overrides, start_from=load)
    except config_mod.ConfigError as e:
        if name is not None and e.key == "system.name":
            raise fail(f"--name: {e.problem}", ExitCode.USAGE) from None
        raise fail(str(e), ExitCode.USAGE) from None
    for warning in built.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    from ..runner import ActorsStartError, RunStartError

    try:
        if headless:
            from ..runner import run_headless

            code = run_headless(built)
        else:
            from ..dashboard_run import run_dashboard

            code = run_dashboard(built)
    except NoUsableStateError as e:
        # --resume or --load latest tried every state: one line for each.
        for path, problem in e.skipped:
            print(f"skipping {path.name}: {_within(path, problem)}", file=sys.stderr)
        raise fail(f"cannot start: {e.summary}", ExitCode.FAILED) from None
    except StateError as e:
        # Only the state to start from can fail to load at start.
        where = "--load" if load is not None else "cannot start"
        raise fail(f"{where}: {e}", ExitCode.USAGE) from None
    except RunDirError as e:
        raise fail(f"cannot start: {e}", ExitCode.USAGE) from None
    except (ActorsStartError, RunStartError) as e:
        raise fail(f"cannot start: {e}", ExitCode.FAILED) from None
    except OSError as e:  # after the start: the run was stopped in order
        raise fail(f"error after the run started: {e}", ExitCode.FAILED) from None
    raise typer.Exit(code)
