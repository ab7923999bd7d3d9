"""Which run a command means: ``--run NAME|DIR``, ``--config FILE`` or the only live one.

A run is named by its directory or by its name: a live run of this user's on
this machine with that name (the registry of live runs,
:mod:`engine.services.registry`, lists every run however it was started,
from any directory), or a directory under the runs root (``./runs`` unless
a config names another ``runs_dir``). Without either, the commands that talk
to a live run take the one live run, and refuse, listing them, when there are
several: acting on the newest of several silently is how the wrong run gets
paused.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.services.registry import RegisteredRun, live_runs
from engine.services.run_dir import RunInfo, find_runs, read_run_info

DEFAULT_RUNS_ROOT = Path("runs")
HOW_TO_CHOOSE = "name one with --run NAME|DIR or --config FILE"


class RunChoiceError(Exception):
    """No run, or no single run, is meant (one-line message)."""


class NoRunError(RunChoiceError):
    """No live run is listening where we looked."""


class AmbiguousRunError(RunChoiceError):
    """Several runs are live and none was named."""


def _looks_like_a_name(run: str) -> bool:
    return os.sep not in run and run not in (".", "..")


def find_run(run: str | Path, runs_root: Path = DEFAULT_RUNS_ROOT) -> RunInfo | None:
    """The run ``run`` names, live or not (None if nothing has a ``run.json`` there).

    ``run`` is a run directory, or a run's name: a directory under
    ``runs_root``, or a run there whose ``run.json`` records that name.
    """
    info = read_run_info(Path(run))
    if info is not None:
        return info
    text = str(run)
    if not _looks_like_a_name(text):
        return None
    live = [i for i in all_live_runs(runs_root) if i.name == text]
    if live:
        return live[-1]
    info = read_run_info(runs_root / text)
    if info is not None:
        return info
    named = [i for i in find_runs(runs_root) if i.name == text]
    return named[0] if named else None


def _listing(infos: list[RunInfo]) -> str:
    return ", ".join(f"{i.name} ({i.run_dir})" for i in infos)


def _from_registry(entry: RegisteredRun) -> RunInfo:
    """The run an entry of the registry points to, as its ``run.json`` says."""
    info = read_run_info(entry.run_dir)
    if info is not None and info.pid == entry.pid:
        return info
    return RunInfo(entry.run_dir, dict(entry.data))


def all_live_runs(runs_root: Path = DEFAULT_RUNS_ROOT) -> list[RunInfo]:
    """Every live run of this user's on this machine (the registry), and any
    live run under ``runs_root`` that is not listed there, oldest first."""
    found: dict[Path, RunInfo] = {}
    for entry in live_runs():
        info = _from_registry(entry)
        if info.live:
            found[info.run_dir.absolute()] = info
    for info in reversed(find_runs(runs_root)):
        if info.live:
            found.setdefault(info.run_dir.absolute(), info)
    return sorted(found.values(), key=lambda i: float(i.data.get("started", 0)))


def find_live_run(
    run: str | Path | None = None, runs_root: Path = DEFAULT_RUNS_ROOT
) -> RunInfo:
    """The live run to talk to: the one ``run`` names, else the only live one.

    Raises:
        NoRunError: If it is not running, or nothing is.
        AmbiguousRunError: If none is named and several are live.
    """
    root = runs_root.absolute()
    live = all_live_runs(runs_root)
    if run is not None:
        if _looks_like_a_name(str(run)):
            named = [i for i in live if i.name == str(run)]
            if len(named) > 1:
                raise AmbiguousRunError(
                    f"{len(named)} live runs are named {run}: {_listing(named)}; "
                    "name one by its directory (--run DIR)"
                )
        info = find_run(run, runs_root)
        if info is None:
            where = f"{run} has no run.json"
            if _looks_like_a_name(str(run)):
                where = (
                    f"no live run named {run} on this machine, and none in "
                    f"{Path(run)} or under {root}"
                )
            others = f"; live runs: {_listing(live)}" if live else ""
            raise NoRunError(f"no run is listening: {where}{others}")
        if not info.live:
            how = (
                f": {info.unclean_end().replace('the previous run', 'it')}"
                if info.ended_without_stopping
                else ""
            )
            raise NoRunError(
                f"no run is listening in {info.run_dir} (run {info.name} is not "
                f"running{how})"
            )
        return info
    if not live:
        raise NoRunError(
            "no run is listening: none of this user's runs is live on this "
            f"machine, nor under {root}: start one with 'pamiq-console run "
            f"CONFIG|PROGRAM.py', or {HOW_TO_CHOOSE}"
        )
    if len(live) > 1:
        raise AmbiguousRunError(
            f"{len(live)} runs are live: {_listing(live)}; {HOW_TO_CHOOSE} "
            "('pamiq-console ps' lists them)"
        )
    return live[0]
