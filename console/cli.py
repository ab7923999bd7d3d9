"""The ``pamiq-console`` command line (Typer). Commands stay thin; the work lives elsewhere."""

from __future__ import annotations

import json
import math
import os
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from engine.state.catalogue import list_states, remove_state, states_beyond
from engine.state.manifest import CHECKSUM, read_manifest, verify_state
from engine.state.persistence import StateError
from engine.state.states_dir import StatesLock

from . import config as config_mod
from .control_client import (
    DEFAULT_RUNS_ROOT,
    ControlClient,
    ControlError,
    NoRunError,
    find_live_run,
)
from .operations import state_summary
from .render import (
    format_time,
    human_duration,
    human_size,
    states_table,
    status_renderable,
)
from .rundir import RunDirError, find_runs, read_run_info
from .state_choice import is_latest

app = typer.Typer(
    name="pamiq-console",
    help="Run, watch and control continual-learning systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
states_app = typer.Typer(
    help="Inspect and prune saved states (offline).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(states_app, name="states")


def _version(show: bool) -> None:
    if show:
        print(f"pamiq-console {version('pamiq-console')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Run, watch and control continual-learning systems."""


EXIT_CONFIG = 2
EXIT_NO_RUN = 1

StateArg = Annotated[
    str, typer.Argument(help="State name (in the states dir) or path.", metavar="STATE")
]
ConfigArg = Annotated[
    Path,
    typer.Argument(
        help="The run's TOML config file.", show_default=False, metavar="CONFIG"
    ),
]
RunOpt = Annotated[
    Path | None,
    typer.Option(
        "--run", help="Run directory (default: the newest live run under ./runs)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the raw JSON result.")]


def _out() -> Console:
    # Piped output is read by scripts and people alike: never cut names short.
    width = None if sys.stdout.isatty() else 200
    return Console(highlight=False, soft_wrap=True, width=width)


def _fail(message: str, code: int) -> typer.Exit:
    print(message, file=sys.stderr)
    return typer.Exit(code)


def _load_config(
    path: Path, overrides: dict[str, Any] | None = None, start_from: str | None = None
) -> config_mod.BuiltRun:
    try:
        return config_mod.load(path, overrides, start_from=start_from)
    except config_mod.ConfigError as e:
        raise _fail(str(e), EXIT_CONFIG) from None


# -- run and validate -------------------------------------------------------------


@app.command()
def validate(config: ConfigArg) -> None:
    """Check a config completely (imports, arguments, types, names) without running it."""
    built = _load_config(config)
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


@app.command()
def run(
    config: ConfigArg,
    headless: Annotated[
        bool, typer.Option(help="No dashboard; log events to stderr.")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Load the newest saved state first.")
    ] = False,
    load: Annotated[
        str | None,
        typer.Option(
            "--load",
            metavar="STATE",
            help="Load this state first: a path, a name in the states dir, or 'latest' "
            "(the newest that verifies).",
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
    """Start a run: the dashboard with the engine in this process (or --headless)."""
    if resume and load is not None:
        raise _fail("give --resume or --load STATE, not both", EXIT_CONFIG)
    # Flags are checked here so that an error names the flag, not the config file.
    for flag, value in (("--max-uptime", max_uptime), ("--time-scale", time_scale)):
        if value is not None and not 0 < value < math.inf:
            raise _fail(
                f"{flag}: must be a finite number > 0, got {value}", EXIT_CONFIG
            )
    overrides: dict[str, Any] = {
        "max_uptime": max_uptime,
        "time_scale": time_scale,
        "states_dir": None if states_dir is None else str(states_dir),
        "resume": True if resume else None,
    }
    built = _load_config(config, overrides, start_from=load)
    try:
        if headless:
            from .runner import run_headless

            code = run_headless(built)
        else:
            from .app import run_dashboard

            code = run_dashboard(built)
    except StateError as e:
        # Only the state to start from can fail to load at start.
        where = "--load" if load is not None else "cannot start"
        raise _fail(f"{where}: {e}", EXIT_CONFIG) from None
    except RunDirError as e:
        raise _fail(f"cannot start: {e}", EXIT_CONFIG) from None
    except OSError as e:
        raise _fail(f"cannot start: {e}", EXIT_NO_RUN) from None
    raise typer.Exit(code)


# -- talking to a live run ----------------------------------------------------------


def _request(run_dir: Path | None, op: str, **args: Any) -> Any:
    try:
        info = find_live_run(run_dir, DEFAULT_RUNS_ROOT)
        return ControlClient(info.socket).request(op, **args)
    except NoRunError as e:
        raise _fail(str(e), EXIT_NO_RUN) from None
    except ControlError as e:
        raise _fail(f"{op} failed: {e}", EXIT_NO_RUN) from None


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=1, default=str))


@app.command()
def status(run_dir: RunOpt = None, as_json: JsonOpt = False) -> None:
    """Show a live run's status."""
    result = _request(run_dir, "status")
    if as_json:
        _print_json(result)
    else:
        _out().print(status_renderable(result))


@app.command()
def pause(run_dir: RunOpt = None, as_json: JsonOpt = False) -> None:
    """Pause a live run (returns once every thread has paused)."""
    result = _request(run_dir, "pause")
    _print_json(result) if as_json else print(f"paused (state: {result['state']})")


@app.command()
def resume(run_dir: RunOpt = None, as_json: JsonOpt = False) -> None:
    """Resume a paused run."""
    result = _request(run_dir, "resume")
    _print_json(result) if as_json else print(f"resumed (state: {result['state']})")


@app.command()
def save(run_dir: RunOpt = None, as_json: JsonOpt = False) -> None:
    """Save a live run's state now."""
    result = _request(run_dir, "save")
    if as_json:
        _print_json(result)
        return
    print(f"saved {result['path']}")
    for path in result.get("removed", ()):
        print(f"removed {path} (keep_last)")


@app.command("load")
def load_cmd(
    state: Annotated[
        str,
        typer.Argument(
            help="State name or path in the run's states dir, or 'latest'.",
            metavar="STATE",
        ),
    ],
    run_dir: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a saved state into a live run (verified first; refused states change nothing)."""
    local = Path(state)
    if not is_latest(state) and local.exists():
        state = str(local.absolute())
    result = _request(run_dir, "load", state=state)
    _print_json(result) if as_json else print(f"loaded {result['path']}")


@app.command()
def shutdown(run_dir: RunOpt = None, as_json: JsonOpt = False) -> None:
    """Stop a live run in order (it saves a final state)."""
    result = _request(run_dir, "shutdown")
    _print_json(result) if as_json else print(f"stopping (state: {result['state']})")


@app.command()
def events(
    run_dir: RunOpt = None,
    limit: Annotated[int, typer.Option(help="How many recent events.", min=0)] = 20,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            help="Only events of this kind (repeatable): state, saved, loaded, "
            "removed, sync, training, trainability, metric, error, log.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a live run's most recent events."""
    args: dict[str, Any] = {"limit": limit}
    if kind:
        args["kinds"] = kind
    result = _request(run_dir, "events", **args)
    if as_json:
        _print_json(result)
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


# -- offline state tools ------------------------------------------------------------

StatesDirOpt = Annotated[
    Path | None, typer.Option("--states-dir", help="A states directory.")
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Use this config's states directory.")
]


def _states_dir(
    states_dir: Path | None, run_dir: Path | None, config: Path | None
) -> Path:
    given = [x for x in (states_dir, run_dir, config) if x is not None]
    if len(given) > 1:
        raise _fail("give only one of --states-dir, --run and --config", EXIT_CONFIG)
    if states_dir is not None:
        return states_dir
    if run_dir is not None:
        info = read_run_info(run_dir)
        if info is not None and info.states_dir is not None:
            return info.states_dir
        return run_dir / "states"
    if config is not None:
        try:
            raw = config_mod.load_toml(config)
            return config_mod.resolve_settings(raw, config).states_dir
        except config_mod.ConfigError as e:
            raise _fail(str(e), EXIT_CONFIG) from None
    runs = find_runs(DEFAULT_RUNS_ROOT)
    if runs and runs[0].states_dir is not None:
        return runs[0].states_dir
    raise _fail(
        "no states directory: give --states-dir DIR, --run DIR or --config FILE",
        EXIT_CONFIG,
    )


def _state_path(state: str, states_dir: Path) -> Path:
    local = Path(state)
    if local.is_dir() or local.is_absolute():
        return local
    return states_dir / state


@states_app.command("list")
def states_list(
    states_dir: StatesDirOpt = None,
    run_dir: RunOpt = None,
    config: ConfigOpt = None,
    verify: Annotated[
        bool, typer.Option(help="Check every file's checksum too.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List saved states, oldest first."""
    directory = _states_dir(states_dir, run_dir, config)
    infos = list_states(directory)
    summaries = [state_summary(i.path, i.manifest, i.problem, i.seq) for i in infos]
    verified: dict[str, str] | None = None
    if verify:
        verified = {}
        for info in infos:
            if info.problem:
                continue
            try:
                verify_state(info.path)
                verified[info.name] = ""
            except StateError as e:
                # The row names the state: name its files relative to it.
                verified[info.name] = str(e).replace(f"{info.path}{os.sep}", "")
    if as_json:
        for s in summaries:
            if verified is not None and s["name"] in verified:
                s["verified"] = not verified[s["name"]]
        _print_json(summaries)
        return
    if not summaries:
        print(f"no states in {directory}")
        return
    out = _out()
    out.print(f"[bold]{directory}[/]: {len(summaries)} state(s)")
    out.print(states_table(summaries, verified))
    if verified is not None and any(verified.values()):
        raise typer.Exit(EXIT_NO_RUN)


def _resolve_state(
    state: str, states_dir: Path | None, run_dir: Path | None, config: Path | None
) -> Path:
    """A state given as a directory path, or by name inside the selected states dir.

    A name that is not there but is in another run's states dir is refused with
    a hint naming that run (the default is the newest run, which may be another).
    """
    if Path(state).is_dir():
        return _state_path(state, Path("."))
    directory = _states_dir(states_dir, run_dir, config)
    path = _state_path(state, directory)
    if not path.exists() and not Path(state).is_absolute():
        elsewhere = [
            run.run_dir
            for run in find_runs(DEFAULT_RUNS_ROOT)
            if run.states_dir is not None and (run.states_dir / state).is_dir()
        ]
        if elsewhere:
            raise _fail(
                f"{state}: not in {directory}; it is a state of {elsewhere[0]} "
                f"(use --run {elsewhere[0]})",
                EXIT_CONFIG,
            )
    return path


@states_app.command("show")
def states_show(
    state: StateArg,
    states_dir: StatesDirOpt = None,
    run_dir: RunOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a state's manifest: times, counters, components and files."""
    path = _resolve_state(state, states_dir, run_dir, config)
    try:
        manifest = read_manifest(path)
    except StateError as e:
        raise _fail(str(e), EXIT_NO_RUN) from None
    if as_json:
        _print_json(manifest)
        return
    summary = state_summary(path, manifest)
    out = _out()
    table = Table(show_header=False, box=None)
    table.add_row("state", str(path))
    table.add_row("name", str(manifest.get("name", "-")))
    table.add_row("created", str(manifest.get("created", "-")))
    table.add_row("uptime", human_duration(manifest.get("uptime")))
    table.add_row("steps", f"{manifest.get('steps', '-')}")
    table.add_row("size", human_size(summary["size"]))
    table.add_row("components", ", ".join(manifest.get("components", [])))
    out.print(table)
    files = Table("file", "size", "checksum")
    for rel, meta in sorted(manifest.get("files", {}).items()):
        digest = meta.get(CHECKSUM, meta.get("sha256", ""))
        files.add_row(rel, human_size(meta.get("size", 0)), str(digest)[:16])
    out.print(files)


@states_app.command("verify")
def states_verify(
    state: StateArg,
    states_dir: StatesDirOpt = None,
    run_dir: RunOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Check every file of a state against its manifest (exit 1 if it fails)."""
    path = _resolve_state(state, states_dir, run_dir, config)
    try:
        manifest = verify_state(path)
    except StateError as e:
        raise _fail(f"✗ {e}", EXIT_NO_RUN) from None
    print(f"✓ {path}: {len(manifest['files'])} file(s) verified")


@states_app.command("prune")
def states_prune(
    keep: Annotated[
        int,
        typer.Option(
            "--keep",
            min=0,
            help="How many of the directory's newest own states to keep.",
        ),
    ],
    states_dir: StatesDirOpt = None,
    run_dir: RunOpt = None,
    config: ConfigOpt = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be deleted.")
    ] = False,
) -> None:
    """Delete all but the newest N of the directory's own states (asks first unless --yes).

    Foreign states (copied in, or saved before states were numbered) are
    never deleted: nothing says where they belong among the others.
    """
    directory = _states_dir(states_dir, run_dir, config)
    lock = StatesLock(directory)
    if directory.is_dir():
        try:
            # A live run prunes its own states; two pruners must not race.
            lock.acquire("it prunes its states itself (keep_last); stop it first")
        except StateError as e:
            raise _fail(str(e), EXIT_NO_RUN) from None
    try:
        _prune(directory, keep, yes, dry_run)
    finally:
        lock.release()


def _prune(directory: Path, keep: int, yes: bool, dry_run: bool) -> None:
    doomed = states_beyond(directory, keep)
    foreign = [i.name for i in list_states(directory) if not i.own and not i.problem]
    asking = not (dry_run or yes)
    for path in doomed:
        print(f"{'would remove' if dry_run or asking else 'remove'} {path}")
    if foreign:
        print(
            f"keeping {len(foreign)} foreign state(s) (not written by runs in this "
            f"directory; delete by hand if unwanted): {', '.join(foreign)}"
        )
    if dry_run or not doomed:
        print(f"{len(doomed)} state(s) to remove in {directory}")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise _fail("refusing to delete states without --yes", EXIT_CONFIG)
        typer.confirm(f"Delete {len(doomed)} state(s)?", abort=True)
    for path in doomed:
        remove_state(path)
    left = len([i for i in list_states(directory) if not i.problem])
    print(f"{len(doomed)} state(s) removed, {left} kept in {directory}")


def main() -> None:
    """Entry point of the ``pamiq-console`` script.

    Usage errors (unknown command or option, bad or missing value) are printed
    as one plain line, like every other error of the tool.
    """
    try:
        code = app(prog_name="pamiq-console", standalone_mode=False)
    except typer.Abort:
        print("pamiq-console: aborted", file=sys.stderr)
        sys.exit(1)
    except Exception as e:
        # Click's usage errors, found by what they offer: typer keeps click private.
        message = getattr(e, "format_message", None)
        exit_code = getattr(e, "exit_code", None)
        if message is None or not isinstance(exit_code, int):
            raise
        if type(e).__name__ == "NoArgsIsHelpError":
            print(message())  # the help text, as asked for by giving no arguments
            sys.exit(0)
        ctx = getattr(e, "ctx", None)
        where = ctx.command_path if ctx is not None else "pamiq-console"
        print(f"{where}: {message()} (see {where} --help)", file=sys.stderr)
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
