"""Figures 11's, 17's and 18's finished runs, kept on disk so that a long run can be split and resumed.

One learning run takes 1-20 minutes, and each figure makes ten or more. Every
finished run is written to ``benchmarks/results/learning-runs/`` (figure 17's
to its ``cartpole_ppo/``, 18's to ``pendulum_sac/``) with what it measured:
for ours, the sample config's values and the committed contents of every file
of this repository the run loaded (the workload lists them: a change to a
module the run never imported, such as the Ray backend or the dashboard, does
not make it stale, and a change to any it did does); for SB3, its program's
text and pinned version. ``python -m
benchmarks --reuse-runs`` then takes a kept run whose key matches instead of
running it again, and the table says which runs were taken and from when.
A run of changed code or settings never matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from . import procs

SAMPLE = procs.REPO_ROOT / "sample_configs" / "cartpole_dqn.toml"


def _git(*args: str, repo: Path = procs.REPO_ROOT) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def ours_key(
    loaded_files: Any, repo: Path = procs.REPO_ROOT, sample: Path = SAMPLE
) -> str | None:
    """What one of our runs depended on: the sample's values and the files it loaded.

    ``loaded_files`` are the repository-relative paths the workload reports
    (see ``workloads/cartpole.py``); ``sample`` is the run's sample config
    (its values are part of the key). None when it cannot be told: no list, no
    git, or one of the files is not committed as it is on disk.
    """
    if not isinstance(loaded_files, list) or not loaded_files:
        return None
    files = sorted(str(f) for f in loaded_files)
    if _git("status", "--porcelain", "--", *files, repo=repo) != "":
        return None  # uncommitted (or no git: _git gave None)
    listing = _git("ls-tree", "HEAD", "--", *files, repo=repo)
    if listing is None:
        return None
    blobs = dict(line.split("\t", 1)[::-1] for line in listing.splitlines())
    if set(blobs) != set(files):
        return None  # a file the run loaded is not in the commit
    config = repo / sample.relative_to(procs.REPO_ROOT)
    values = json.dumps(tomllib.loads(config.read_text()), sort_keys=True)
    return _digest([*(f"{f} {blobs[f]}" for f in files), values])


def sb3_key(program: str = procs.SB3_DQN) -> str:
    """What SB3's runs depend on: its program (in ``benchmarks/sb3/``), the run
    loop the programs share and the pinned version."""
    text = (procs.SB3_DIR / program).read_text()
    shared = (procs.SB3_DIR / "budgeted_learn.py").read_text()
    return _digest([procs.SB3_REQUIREMENT, text, shared])


class Keeper:
    """Saves and finds the runs of one learning figure's setting (budget, extension).

    Args:
        directory: Where the runs are kept (None: nowhere).
        budget: The figure's budget (s), part of each file's name.
        extend_to: How long a run that did not reach the target goes on (s).
        sample: Our side's sample config.
        sb3_program: SB3's side, a program in ``benchmarks/sb3/``.
    """

    def __init__(
        self,
        directory: Path | None,
        budget: float,
        extend_to: float,
        sample: Path = SAMPLE,
        sb3_program: str = procs.SB3_DQN,
    ) -> None:
        self.directory = directory
        self.budget = budget
        self.extend_to = extend_to
        self.sample = sample
        self._sb3_key = sb3_key(sb3_program)

    def _key(self, side: str, data: dict[str, Any]) -> str | None:
        if side == "ours":
            return ours_key(data.get("loaded_files"), sample=self.sample)
        return self._sb3_key

    def _path(self, side: str, seed: int, condition: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / (
            f"{side}{condition and '-' + condition}-seed{seed}-"
            f"{self.budget:g}s-{self.extend_to:g}s.json"
        )

    def save(
        self, side: str, seed: int, data: dict[str, Any], condition: str = ""
    ) -> None:
        """Keep a finished run (nowhere when there is no directory or no key).

        ``condition`` tells apart runs of one side and seed that differ in
        arguments the key does not hold (figure 17's actors, say).
        """
        path, key = self._path(side, seed, condition), self._key(side, data)
        if path is None or key is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "key": key,
            "side": side,
            "seed": seed,
            "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": _git("rev-parse", "HEAD") or "",
            "data": data,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)

    def load(self, side: str, seed: int, condition: str = "") -> dict[str, Any] | None:
        """The kept record of this run if its key matches (None: run it)."""
        path = self._path(side, seed, condition)
        if path is None or not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("data"), dict):
            return None
        key = self._key(side, record["data"])
        if key is None or record.get("key") != key:
            return None
        return record

    def take(
        self, side: str, seed: int, condition: str = ""
    ) -> tuple[dict[str, Any], str] | None:
        """A matching kept run's data and where it came from (``finished, commit``)."""
        record = self.load(side, seed, condition)
        if record is None:
            return None
        return record["data"], f"{record['finished']}, {record['commit'][:12]}"
