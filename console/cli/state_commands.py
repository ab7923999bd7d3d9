"""``states list | show | verify | prune``: saved states, read offline (no run needed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from engine.services import state_choice
from engine.services.operations import state_summary
from engine.services.run_dir import RunInfo, find_runs, read_run_info
from engine.state.catalogue import list_states, remove_state, states_beyond
from engine.state.manifest import CHECKSUM, manifest_notes, read_manifest
from engine.state.persistence import StateError
from engine.state.requirements import run_parts, verify_for_run
from engine.state.states_dir import StatesLock

from ..render import human_duration, human_size, states_table
from ..run_choice import DEFAULT_RUNS_ROOT, find_run
from .apps import states_app
from .common import JsonOpt, config_settings, fail, out, print_json
from .exit_codes import ExitCode

StateArg = Annotated[
    str,
    typer.Argument(
        help="State name (in the states dir), path, or 'latest' (the newest that "
        "verifies).",
        metavar="STATE",
    ),
]
StatesDirOpt = Annotated[
    Path | None, typer.Option("--states-dir", help="A states directory.")
]
RunOpt = Annotated[
    str | None,
    typer.Option(
        "--run",
        metavar="NAME|DIR",
        help="Use this run's states directory: its name (under ./runs) or its "
        "directory (default: the run under ./runs started last, live or not).",
    ),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Use this config's states directory.")
]


def _states_dir(states_dir: Path | None, run: str | None, config: Path | None) -> Path:
    given = [x for x in (states_dir, run, config) if x is not None]
    if len(given) > 1:
        raise fail("give only one of --states-dir, --run and --config", ExitCode.USAGE)
    if states_dir is not None:
        return states_dir
    if run is not None:
        info = find_run(run, DEFAULT_RUNS_ROOT)
        if info is not None:
            return info.states_dir or info.run_dir / "states"
        if Path(run).is_dir():
            return Path(run) / "states"
        raise fail(
            f"--run {run}: no such run (no run.json in {run} or under "
            f"{DEFAULT_RUNS_ROOT.absolute()})",
            ExitCode.USAGE,
        )
    if config is not None:
        return config_settings(config).states_dir
    # A start that was refused (exit code 2: nothing ran) is nobody's default.
    runs = [r for r in find_runs(DEFAULT_RUNS_ROOT) if r.data.get("exit_code") != 2]
    if runs and runs[0].states_dir is not None:
        return runs[0].states_dir
    raise fail(
        "no states directory: give --states-dir DIR, --run NAME|DIR or --config FILE",
        ExitCode.USAGE,
    )


def _run_writing(
    directory: Path, run: str | None, *, holding: bool = False
) -> RunInfo | None:
    """The run whose states directory is ``directory``: the one ``--run`` names,
    (with ``holding``) the run directory that holds it, or a run under ./runs,
    newest first; None if no run records it."""
    candidates = list(find_runs(DEFAULT_RUNS_ROOT))
    # A run's states are usually in its run directory: <run_dir>/states.
    if holding and (beside := read_run_info(directory.absolute().parent)) is not None:
        candidates.insert(0, beside)
    if run is not None and (named := find_run(run, DEFAULT_RUNS_ROOT)) is not None:
        candidates.insert(0, named)
    for info in candidates:
        if info.states_dir is not None and info.states_dir.absolute() == (
            directory.absolute()
        ):
            return info
    return None


def _say_if_its_run_died(directory: Path, run: str | None) -> None:
    """A note on stderr when the run that writes ``directory`` ended without stopping."""
    info = _run_writing(directory, run)
    if info is not None and info.ended_without_stopping:
        line = info.unclean_end().replace("the previous run", f"run {info.name}")
        print(f"note: {line}", file=sys.stderr)


def _run_config(directory: Path, run: str | None, config: Path | None) -> Path | None:
    """The TOML config of the run that writes ``directory``: ``--config``, else the
    one recorded by that run (see :func:`_run_writing`); None if no config is known."""
    if config is not None:
        return config
    info = _run_writing(directory, run, holding=True)
    recorded = None if info is None else info.data.get("config")
    if isinstance(recorded, str) and recorded.endswith(".toml"):
        path = Path(recorded)
        return path if path.is_file() else None
    return None


def _requirements(
    directory: Path, run: str | None, config: Path | None
) -> tuple[list[str], Path | None]:
    """The parts a state must hold to load into the run's config, and that config.

    A config given with ``--config`` must be readable; one found in a run's
    ``run.json`` that no longer is only goes unused (said on stderr).
    """
    path = _run_config(directory, run, config)
    if path is None:
        return [], None
    from .. import config as config_mod  # only here: it imports the builders

    try:
        raw = config_mod.load_toml(path)
    except config_mod.ConfigError as e:
        if config is not None:
            raise fail(str(e), ExitCode.USAGE) from None
        print(f"note: parts not checked against the run's config: {e}", file=sys.stderr)
        return [], None

    def names(section: str) -> list[str]:
        table = raw.get(section)
        return list(table) if isinstance(table, dict) else []

    return run_parts(names("models"), names("buffers"), names("trainers")), path


def _state_directory(
    state: str, states_dir: Path | None, run: str | None, config: Path | None
) -> Path:
    """The states directory a state given by path, name or ``latest`` is in."""
    if Path(state).is_dir():
        return Path(state).absolute().parent
    return _states_dir(states_dir, run, config)


@states_app.command("list")
def states_list(
    states_dir: StatesDirOpt = None,
    run: RunOpt = None,
    config: ConfigOpt = None,
    verify: Annotated[
        bool, typer.Option(help="Check every file's checksum too.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List saved states, oldest first (the order 'latest' uses)."""
    directory = _states_dir(states_dir, run, config)
    _say_if_its_run_died(directory, run)
    infos = list_states(directory)
    summaries = [state_summary(i.path, i.manifest, i.problem, i.seq) for i in infos]
    verified: dict[str, str] | None = None
    if verify:
        parts, _ = _requirements(directory, run, config)
        verified = {}
        for info in infos:
            if info.problem:
                continue
            try:
                verify_for_run(info.path, parts)
                verified[info.name] = ""
            except StateError as e:
                # The row names the state: name its files relative to it.
                verified[info.name] = str(e).replace(f"{info.path}{os.sep}", "")
    if as_json:
        for s in summaries:
            if verified is not None and s["name"] in verified:
                s["verified"] = not verified[s["name"]]
        print_json(summaries)
        return
    if not summaries:
        print(f"no states in {directory}")
        return
    console = out()
    console.print(f"[bold]{directory}[/]: {len(summaries)} state(s)")
    console.print(states_table(summaries, verified))
    if verified is not None and any(verified.values()):
        raise typer.Exit(ExitCode.FAILED)


def _resolve_state(
    state: str,
    states_dir: Path | None,
    run: str | None,
    config: Path | None,
    parts: list[str] | None = None,
) -> Path:
    """A state given as a directory path, by name in the selected states dir, or ``latest``.

    A name that is not there but is in another run's states dir is refused with
    a hint naming that run (the default is the newest run, which may be another).
    ``latest`` is the newest state that verifies and holds ``parts``.
    """
    if Path(state).is_dir():
        return Path(state)
    directory = _states_dir(states_dir, run, config)

    def skipped(path: Path, problem: str) -> None:
        print(f"skipping {path.name}: {problem}", file=sys.stderr)

    try:
        path = state_choice.offline(state, directory, skipped, parts or ())
    except state_choice.StateChoiceError as e:
        raise fail(str(e), ExitCode.FAILED) from None
    if not path.exists() and not Path(state).is_absolute():
        elsewhere = [
            info.run_dir
            for info in find_runs(DEFAULT_RUNS_ROOT)
            if info.states_dir is not None and (info.states_dir / state).is_dir()
        ]
        if elsewhere:
            raise fail(
                f"{state}: not in {directory}; it is a state of {elsewhere[0]} "
                f"(use --run {elsewhere[0]})",
                ExitCode.USAGE,
            )
    return path


@states_app.command("show")
def states_show(
    state: StateArg,
    states_dir: StatesDirOpt = None,
    run: RunOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a state's manifest: times, counters, components and files."""
    path = _resolve_state(state, states_dir, run, config)
    try:
        manifest = read_manifest(path)
    except StateError as e:
        raise fail(str(e), ExitCode.FAILED) from None
    if as_json:
        print_json(manifest)
        return
    summary = state_summary(path, manifest)
    console = out()
    table = Table(show_header=False, box=None)
    table.add_row("state", str(path))
    table.add_row("name", str(manifest.get("name", "-")))
    table.add_row("created", str(manifest.get("created", "-")))
    table.add_row("uptime", human_duration(manifest.get("uptime")))
    table.add_row("steps", f"{manifest.get('steps', '-')}")
    table.add_row("size", human_size(summary["size"]))
    table.add_row("components", ", ".join(manifest.get("components", [])))
    console.print(table)
    files = Table("file", "size", "checksum")
    for rel, meta in sorted(manifest.get("files", {}).items()):
        digest = meta.get(CHECKSUM, meta.get("sha256", ""))
        files.add_row(rel, human_size(meta.get("size", 0)), str(digest)[:16])
    console.print(files)


@states_app.command("verify")
def states_verify(
    state: StateArg,
    states_dir: StatesDirOpt = None,
    run: RunOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Check a state as a resume would: every file against its manifest, the
    manifest's own checksum and values, and that it holds every component (and,
    with the run's config, every part) a load needs (exit 1 if it fails)."""
    parts, run_config = _requirements(
        _state_directory(state, states_dir, run, config), run, config
    )
    path = _resolve_state(state, states_dir, run, config, parts)
    try:
        manifest = verify_for_run(path, parts)
    except StateError as e:
        raise fail(f"✗ {e}", ExitCode.FAILED) from None
    for note in manifest_notes(path, manifest):
        print(f"note: {note}", file=sys.stderr)
    against = "" if run_config is None else f", holds every part {run_config} loads"
    print(f"✓ {path}: {len(manifest['files'])} file(s) verified{against}")


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
    run: RunOpt = None,
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
    directory = _states_dir(states_dir, run, config)
    lock = StatesLock(directory)
    if directory.is_dir():
        try:
            # A live run prunes its own states; two pruners must not race.
            lock.acquire("it prunes its states itself (keep_last); stop it first")
        except StateError as e:
            raise fail(str(e), ExitCode.FAILED) from None
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
            raise fail(
                "refusing to delete states without --yes (no terminal to ask on)",
                ExitCode.USAGE,
            )
        typer.confirm(f"Delete {len(doomed)} state(s)?", abort=True)
    for path in doomed:
        remove_state(path)
    left = len([i for i in list_states(directory) if not i.problem])
    print(f"{len(doomed)} state(s) removed, {left} kept in {directory}")
