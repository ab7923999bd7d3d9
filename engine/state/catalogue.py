"""The states of a states directory: listed, ordered, found, pruned.

"Newest" is the order :mod:`engine.state.states_dir` defines (foreign states
by recorded time, then the directory's own by sequence number), so that a
wall clock stepped back or a state copied in from elsewhere never reorders a
run's own states, and ``latest`` means the last state in that order that
verifies.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .manifest import read_manifest, verify_state
from .persistence import StateError
from .states_dir import read_identity, state_dirs, writer_seq

LATEST = "latest"
"""Where a state is asked for, the newest state that verifies (``saved_state_path``)."""

LATEST_NAMES = frozenset({LATEST, "newest"})
"""What an operator may type for :data:`LATEST` (``load latest``, ``--load newest``)."""


@dataclass(frozen=True)
class StateInfo:
    """What the manifest says about one state directory.

    Attributes:
        path: The state directory.
        manifest: The parsed manifest (empty when it could not be read).
        problem: Why it is not a usable state ("" when the manifest reads fine).
        seq: Its sequence number among the states its directory's runs wrote,
            or None for a foreign state (see :mod:`engine.state.states_dir`).
    """

    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    problem: str = ""
    seq: int | None = None

    @property
    def own(self) -> bool:
        """Whether a run in its states directory wrote it there (under this name)."""
        return self.seq is not None

    @property
    def name(self) -> str:
        """Directory name."""
        return self.path.name

    @property
    def created(self) -> float:
        """Creation time (seconds since the epoch), or the directory's mtime."""
        created = self.manifest.get("created_unix")
        return float(created) if created is not None else self.path.stat().st_mtime


def list_states(states_dir: Path) -> list[StateInfo]:
    """Every ``*.state`` directory in ``states_dir``, oldest first (unverified).

    The order is the one :mod:`engine.state.states_dir` defines: foreign states by
    their recorded creation time, then the directory's own states by sequence
    number, so the last one is what ``latest`` means.
    """
    states_dir = Path(states_dir)
    if not states_dir.is_dir():
        return []
    identity = read_identity(states_dir)
    infos = []
    for path in state_dirs(states_dir):
        try:
            manifest = read_manifest(path)
        except StateError as e:
            infos.append(StateInfo(path, {}, str(e)))
            continue
        infos.append(
            StateInfo(path, manifest, seq=writer_seq(manifest, identity, path.name))
        )
    foreign = sorted((i for i in infos if not i.own), key=_created_order)
    own = sorted((i for i in infos if i.own), key=lambda i: (i.seq, i.name))
    return foreign + own


def _created_order(info: StateInfo) -> tuple[float, str]:
    try:
        return info.created, info.name
    except OSError:  # deleted while being listed
        return 0.0, info.name


def newest_verified_state(
    states_dir: Path,
    components: Iterable[str] = (),
    on_skip: Callable[[Path, str], None] | None = None,
) -> Path | None:
    """The newest state in ``states_dir`` that verifies; None if there are no states.

    Args:
        states_dir: Where to look.
        components: Components a state must hold (see :func:`verify_state`).
        on_skip: Called with each newer state that fails, and why.

    Raises:
        StateError: If states exist but none verifies (falling back to nothing
            would silently throw a run's history away).
    """
    problems: list[str] = []
    for info in reversed(list_states(states_dir)):
        try:
            if info.problem:
                raise StateError(info.problem)
            verify_state(info.path, components)
        except StateError as e:
            if on_skip is not None:
                on_skip(info.path, str(e))
            problems.append(str(e))
            continue
        return info.path
    if problems:
        raise StateError(
            f"none of the {len(problems)} state(s) in {states_dir} verifies "
            f"(newest: {problems[0]})"
        )
    return None


def remove_state(path: Path) -> None:
    """Delete a state so that it never looks whole while half-deleted."""
    doomed = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    path.rename(doomed)
    shutil.rmtree(doomed)


def states_beyond(
    states_dir: Path, keep: int, unusable: Collection[Path] = ()
) -> list[Path]:
    """The directory's own states older than its newest ``keep`` (what a prune deletes).

    Foreign states (copied in, or written before states were numbered) are
    neither counted nor returned: nothing can say where they belong in the
    order, so only a person deletes them.

    Args:
        states_dir: Where the states are.
        keep: How many of the newest to keep.
        unusable: States known not to verify: neither counted nor deleted, so
            they never push a good state out (and stay for inspection).
    """
    if keep < 0:
        raise ValueError(f"keep must be >= 0, got {keep}")
    skip = {Path(p).resolve() for p in tuple(unusable)}  # may grow meanwhile
    own = [
        i.path
        for i in list_states(states_dir)
        if i.own and i.path.resolve() not in skip
    ]
    return own[: max(0, len(own) - keep)]


def prune_states(
    states_dir: Path, keep: int, unusable: Collection[Path] = ()
) -> list[Path]:
    """Delete all but the newest ``keep`` own states; return what was deleted."""
    doomed = states_beyond(states_dir, keep, unusable)
    for path in doomed:
        remove_state(path)
    return doomed
